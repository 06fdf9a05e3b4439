"""How bytes look in the grid's text column (one character per byte) and which class each is.

Text: single-byte encodings map each byte through Python's codec; UTF-8 shows a character on
its first byte and blanks on the bytes that continue it; UTF-16 shows a character on the first
byte of its (2- or 4-byte) unit, units aligned on even file offsets. Anything that would not
occupy exactly one cell of a monospace grid (controls, unassigned, combining, wide East Asian)
shows as '.', so columns always line up. Classes colour the bytes as hexyl and Okteta do.
Never imports Qt.
"""

from __future__ import annotations

import codecs
import enum
import unicodedata
from functools import cache

NOT_SHOWN = "."
CONTINUES = " "  # a byte inside a character that an earlier byte shows

# key -> menu label, in menu order; keys are Python codec names.
ENCODINGS: dict[str, str] = {
    "ascii": "&ASCII",
    "latin-1": "&Latin-1 (ISO 8859-1)",
    "cp1252": "&Windows-1252",
    "utf-8": "UTF-&8",
    "utf-16-le": "UTF-16 &LE",
    "utf-16-be": "UTF-16 &BE",
    "cp037": "&EBCDIC (cp037)",
    "cp437": "&DOS (cp437)",
}
MULTI_BYTE = ("utf-8", "utf-16-le", "utf-16-be")
CONTEXT = 3  # bytes before and after a range that decoding it may need (UTF-8, UTF-16 pairs)


class ByteClass(enum.IntEnum):
    ZERO = 0
    PRINTABLE = 1  # ASCII graphic characters 0x21-0x7E
    WHITESPACE = 2  # tab, line feed, vertical tab, form feed, carriage return, space
    CONTROL = 3  # the other ASCII controls and DEL
    FF = 4
    HIGH = 5  # 0x80-0xFE


def byte_class(value: int) -> ByteClass:
    if value == 0:
        return ByteClass.ZERO
    if value == 0xFF:
        return ByteClass.FF
    if value >= 0x80:
        return ByteClass.HIGH
    if value in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20):
        return ByteClass.WHITESPACE
    if 0x21 <= value <= 0x7E:
        return ByteClass.PRINTABLE
    return ByteClass.CONTROL


# bytes.translate table: each byte becomes its class number.
CLASS_TABLE = bytes(byte_class(value) for value in range(256))


def one_cell(char: str) -> bool:
    """True when ``char`` draws as one visible cell in a monospace grid."""
    if len(char) != 1 or not char.isprintable() or (char.isspace() and char != " "):
        return False
    if unicodedata.combining(char) or unicodedata.east_asian_width(char) in ("W", "F"):
        return False
    return unicodedata.category(char) not in ("Cf", "Co", "Cn", "Zl", "Zp")


@cache
def single_byte_table(encoding: str) -> str:
    """The 256 characters a single-byte encoding shows (index = byte value)."""
    chars = []
    for value in range(256):
        try:
            char = bytes([value]).decode(encoding)
        except UnicodeDecodeError:
            char = NOT_SHOWN
        chars.append(char if (char != " " and one_cell(char)) or char == " " else NOT_SHOWN)
    return "".join(chars)


def display_text(data: bytes, encoding: str, offset: int = 0, before: bytes = b"",
                 after: bytes = b"") -> str:  # fmt: skip
    """One character per byte of ``data`` (which starts at file ``offset``).

    ``before`` / ``after`` are up to CONTEXT bytes around it, so a character that starts before
    the range (or ends after it) is recognised.
    """
    if encoding == "utf-8":
        return _utf8_text(data, before, after)
    if encoding in ("utf-16-le", "utf-16-be"):
        return _utf16_text(data, encoding, offset, before, after)
    codecs.lookup(encoding)  # an unknown name raises LookupError here, not a wrong table
    table = single_byte_table(encoding)
    return "".join([table[value] for value in data])


def _utf8_length(lead: int) -> int:
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0  # a continuation byte or never valid


def _decoded(sequence: bytes, encoding: str) -> str | None:
    try:
        char = sequence.decode(encoding)
    except UnicodeDecodeError:
        return None
    return char if len(char) == 1 else None


def _utf8_text(data: bytes, before: bytes, after: bytes) -> str:
    whole = before + data + after
    base = len(before)
    out = [NOT_SHOWN] * len(data)
    # A character begun in ``before`` covers the first bytes of data.
    position = 0
    for back in range(1, len(before) + 1):
        length = _utf8_length(whole[base - back])
        if length > back and _decoded(whole[base - back : base - back + length], "utf-8"):
            for covered in range(0, min(length - back, len(data))):
                out[covered] = CONTINUES
            position = length - back
            break
    while position < len(data):
        at = base + position
        length = _utf8_length(whole[at])
        char = _decoded(whole[at : at + length], "utf-8") if length else None
        if char is None:
            position += 1
            continue
        out[position] = char if one_cell(char) else NOT_SHOWN
        for covered in range(position + 1, min(position + length, len(data))):
            out[covered] = CONTINUES
        position += length
    return "".join(out)


def _utf16_text(data: bytes, encoding: str, offset: int, before: bytes, after: bytes) -> str:
    whole = before + data + after
    base = len(before)
    little = encoding == "utf-16-le"
    out = [NOT_SHOWN] * len(data)
    # Units start on even file offsets: step back to the unit holding the first byte, and one
    # more unit when that is the low half of a surrogate pair.
    position = -(offset % 2)
    unit_at = base + position
    low_half = unit_at >= 2 and 0xDC00 <= _unit(whole, unit_at, little) <= 0xDFFF
    if low_half and 0xD800 <= _unit(whole, unit_at - 2, little) <= 0xDBFF:
        position -= 2
    while position < len(data):
        at = base + position
        if at < 0 or at + 2 > len(whole):
            position += 2
            continue
        unit = _unit(whole, at, little)
        length = 4 if 0xD800 <= unit <= 0xDBFF else 2
        char = _decoded(whole[at : at + length], encoding)
        if char is None:
            length = 2
        for covered in range(max(position, 0), min(position + length, len(data))):
            out[covered] = CONTINUES
        if position >= 0:
            out[position] = NOT_SHOWN if char is None or not one_cell(char) else char
        position += length
    return "".join(out)


def _unit(whole: bytes, at: int, little: bool) -> int:
    return int.from_bytes(whole[at : at + 2], "little" if little else "big")
