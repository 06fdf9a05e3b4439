"""The data inspector's decoding and encoding: the bytes at the cursor as numbers, characters,
times and GUIDs, and a typed value back to the bytes that represent it (for editing).

Everything goes through ``struct``/``uuid``/``datetime``, so the tests can compare with them.
Text shown for a value can be typed back unchanged: decode and encode are inverses.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mmhex.core.errors import MmhexError

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MAX_FIELD_SIZE = 16  # read this many bytes at the cursor to fill every field


class InspectorError(MmhexError, ValueError):
    """A typed value cannot be stored in the field; ``str`` says why in one sentence."""


class Unreadable(ValueError):
    """The bytes at the cursor do not hold a value of this kind; ``str`` says why, briefly."""


@dataclass(frozen=True)
class Field:
    """One row of the inspector: how to show ``size`` bytes and how to write a typed value."""

    key: str
    label: str
    size: int  # bytes needed (UTF-8/UTF-16 characters may use fewer)
    decode: Callable[[bytes, bool], str]  # (bytes ≥ min_size, little_endian) -> text; Unreadable
    encode: Callable[[str, bool], bytes]  # (text, little_endian) -> bytes; InspectorError
    endian_sensitive: bool = True
    min_size: int = 0  # fewer bytes may do (a UTF-8 character); 0 means ``size``

    @property
    def needs(self) -> int:
        return self.min_size or self.size


# ===================================================================== integers
def _int_field(bits: int, signed: bool) -> Field:
    size = bits // 8
    code = {1: "b", 2: "h", 4: "i", 8: "q"}[size]
    code = code if signed else code.upper()
    name = f"{'int' if signed else 'uint'}{bits}"
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def decode(data: bytes, little: bool) -> str:
        return str(struct.unpack(("<" if little else ">") + code, data[:size])[0])

    def encode(text: str, little: bool) -> bytes:
        value = parse_integer(text)
        if not low <= value <= high:
            raise InspectorError(f"{name} holds {low:,} to {high:,}; {value:,} does not fit.")
        return struct.pack(("<" if little else ">") + code, value)

    return Field(name, name.capitalize().replace("Uint", "UInt"), size, decode, encode, size > 1)


def parse_integer(text: str) -> int:
    """Decimal, 0x hex, 0o octal or 0b binary, with an optional sign and _ separators."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    try:
        return int(cleaned, 0)
    except ValueError:
        pass
    try:
        return int(cleaned, 10)  # "007": base 0 refuses leading zeros
    except ValueError:
        raise InspectorError(f"{text.strip()!r} is not a whole number.") from None


# ===================================================================== floats
def _float_field(bits: int) -> Field:
    size = bits // 8
    code = {2: "e", 4: "f", 8: "d"}[size]
    name = f"float{bits}"

    def decode(data: bytes, little: bool) -> str:
        value = struct.unpack(("<" if little else ">") + code, data[:size])[0]
        return _shortest(value, code)

    def encode(text: str, little: bool) -> bytes:
        try:
            value = float(text.strip().replace("_", ""))
        except ValueError:
            raise InspectorError(f"{text.strip()!r} is not a number.") from None
        try:
            return struct.pack(("<" if little else ">") + code, value)
        except (OverflowError, struct.error):
            raise InspectorError(f"{text.strip()} is too large for a {name}.") from None

    return Field(name, name.capitalize(), size, decode, encode)


def _shortest(value: float, code: str) -> str:
    """The shortest decimal text that reads back to the same float16/32/64 bits."""
    if math.isnan(value) or math.isinf(value) or code == "d":
        return repr(value)
    packed = struct.pack("<" + code, value)
    for digits in range(1, 18):
        text = f"{value:.{digits}g}"
        try:
            if struct.pack("<" + code, float(text)) == packed:
                return _plain(text, value)
        except OverflowError:
            continue  # rounded up past the largest float16/32 ("7e+04" for 65504)
    return repr(value)


def _plain(text: str, value: float) -> str:
    """'1e+02' → '100.0' for moderate exponents, like Python's own repr does."""
    if "e" in text and 1e-4 <= abs(value) < 1e16:
        text = repr(float(text))
    elif "e" not in text and "." not in text and "n" not in text:
        text += ".0"
    return text


# ===================================================================== bits
def _binary_decode(data: bytes, little: bool) -> str:
    return f"{data[0]:08b}"


def _binary_encode(text: str, little: bool) -> bytes:
    cleaned = text.strip().replace(" ", "").replace("_", "").removeprefix("0b")
    if not cleaned or len(cleaned) > 8 or set(cleaned) - {"0", "1"}:
        raise InspectorError("Type up to 8 binary digits (0 and 1) for one byte.")
    return bytes([int(cleaned, 2)])


def _octal_decode(data: bytes, little: bool) -> str:
    return f"{data[0]:03o}"


def _octal_encode(text: str, little: bool) -> bytes:
    cleaned = text.strip().removeprefix("0o")
    if not re.fullmatch(r"[0-7]{1,3}", cleaned) or int(cleaned, 8) > 0o377:
        raise InspectorError("Type an octal byte value from 0 to 377.")
    return bytes([int(cleaned, 8)])


# ===================================================================== characters
_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


def _char_text(code_point: int) -> str:
    """A character as typed back: itself if printable, else an escape (\\n, \\x7f, \\u200b)."""
    if code_point in _ESCAPES:
        return _ESCAPES[code_point]
    char = chr(code_point)
    if code_point == 0x5C:
        return "\\\\"
    if char.isprintable():
        return char
    if code_point < 0x100:
        return f"\\x{code_point:02x}"
    return f"\\u{code_point:04x}" if code_point < 0x10000 else f"\\U{code_point:08x}"


def parse_char(text: str) -> int:
    """One character, or an escape: \\n \\t \\0 \\\\ \\xHH \\uHHHH \\UHHHHHHHH U+HHHH."""
    if len(text) == 1:
        return ord(text)
    reverse = {v: k for k, v in _ESCAPES.items()} | {"\\\\": 0x5C}
    if text in reverse:
        return reverse[text]
    match = re.fullmatch(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})", text)
    match = match or re.fullmatch(r"[Uu]\+([0-9a-fA-F]{1,6})", text)
    if match:
        value = int(next(g for g in match.groups() if g), 16)
        if value <= 0x10FFFF:
            return value
    raise InspectorError("Type one character, or an escape such as \\n, \\x41 or U+00E9.")


def _ascii_decode(data: bytes, little: bool) -> str:
    return _char_text(data[0]) if data[0] < 0x80 else f"\\x{data[0]:02x}"


def _ascii_encode(text: str, little: bool) -> bytes:
    code = parse_char(text)
    if code > 0xFF:
        raise InspectorError("An ASCII/Latin-1 character is one byte (up to \\xff).")
    return bytes([code])


def _utf8_decode(data: bytes, little: bool) -> str:
    lead = data[0]
    length = 1 if lead < 0x80 else 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else 4
    if lead >> 3 == 0x1F or 0x80 <= lead < 0xC0:
        raise Unreadable("not the start of a UTF-8 character")
    try:
        char = data[:length].decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("not a valid UTF-8 character") from None
    return f"{_char_text(ord(char))}  U+{ord(char):04X}"


def _utf8_encode(text: str, little: bool) -> bytes:
    code = parse_char(text.split("  U+")[0] if "  U+" in text else text)
    try:
        return chr(code).encode("utf-8")
    except UnicodeEncodeError:
        raise InspectorError("A lone surrogate cannot be written in UTF-8.") from None


def _utf16_decode(data: bytes, little: bool) -> str:
    codec = "utf-16-le" if little else "utf-16-be"
    unit = int.from_bytes(data[:2], "little" if little else "big")
    length = 4 if 0xD800 <= unit < 0xDC00 else 2
    try:
        char = data[:length].decode(codec)
    except UnicodeDecodeError:
        raise Unreadable("a lone surrogate, not a character") from None
    return f"{_char_text(ord(char))}  U+{ord(char):04X}"


def _utf16_encode(text: str, little: bool) -> bytes:
    code = parse_char(text.split("  U+")[0] if "  U+" in text else text)
    try:
        return chr(code).encode("utf-16-le" if little else "utf-16-be")
    except UnicodeEncodeError:
        raise InspectorError("A lone surrogate cannot be written in UTF-16.") from None


# ===================================================================== times
def _unix_field(bits: int) -> Field:
    size = bits // 8
    code = "i" if size == 4 else "q"
    name = f"unix{bits}"

    def decode(data: bytes, little: bool) -> str:
        seconds = struct.unpack(("<" if little else ">") + code, data[:size])[0]
        try:
            return format_utc(EPOCH + dt.timedelta(seconds=seconds))
        except (OverflowError, ValueError):
            raise Unreadable("beyond the years 1 to 9999") from None

    def encode(text: str, little: bool) -> bytes:
        when = parse_datetime(text)
        seconds = int((when - EPOCH).total_seconds()) if isinstance(when, dt.datetime) else when
        limit = 1 << (bits - 1)
        if not -limit <= seconds < limit:
            raise InspectorError(f"That time does not fit in {bits}-bit Unix time.")
        return struct.pack(("<" if little else ">") + code, seconds)

    return Field(name, f"Unix time {bits}", size, decode, encode)


def format_utc(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def parse_datetime(text: str) -> dt.datetime | int:
    """``YYYY-MM-DD[ HH:MM[:SS]]`` (UTC, an optional trailing 'UTC'/'Z'), or whole seconds."""
    cleaned = text.strip().removesuffix("UTC").removesuffix("Z").strip()
    if re.fullmatch(r"[-+]?\d+", cleaned):
        return int(cleaned)
    try:
        when = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise InspectorError(
            f"{text.strip()!r} is not a date and time; type it as 2024-05-31 13:45:00."
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _dos_decode(data: bytes, little: bool) -> str:
    value = int.from_bytes(data[:4], "little" if little else "big")
    date, time = value >> 16, value & 0xFFFF
    try:
        when = dt.datetime(
            1980 + (date >> 9),
            (date >> 5) & 0xF,
            date & 0x1F,
            time >> 11,
            (time >> 5) & 0x3F,
            (time & 0x1F) * 2,
        )
    except ValueError:  # a month 0, a day 31 in April, an hour 25 ...
        raise Unreadable("not a valid DOS date and time") from None
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _dos_encode(text: str, little: bool) -> bytes:
    when = parse_datetime(text)
    if not isinstance(when, dt.datetime) or not 1980 <= when.year <= 2107:
        raise InspectorError("A DOS date and time lies between 1980-01-01 and 2107-12-31.")
    if when.second % 2:
        raise InspectorError("DOS time counts seconds in steps of 2; type an even second.")
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    return ((date << 16) | time).to_bytes(4, "little" if little else "big")


# ===================================================================== GUID
def _guid_decode(data: bytes, little: bool) -> str:
    """Little endian is Microsoft's mixed-endian GUID layout; big endian is RFC 4122 order."""
    value = uuid.UUID(bytes_le=data[:16]) if little else uuid.UUID(bytes=data[:16])
    return "{" + str(value).upper() + "}"


def _guid_encode(text: str, little: bool) -> bytes:
    try:
        value = uuid.UUID(text.strip())
    except ValueError:
        raise InspectorError(
            "Type a GUID as {00112233-4455-6677-8899-AABBCCDDEEFF} (braces optional)."
        ) from None
    return value.bytes_le if little else value.bytes


FIELDS: tuple[Field, ...] = (
    *(_int_field(bits, signed) for bits in (8, 16, 32, 64) for signed in (True, False)),
    _float_field(16),
    _float_field(32),
    _float_field(64),
    Field("binary", "Binary (8 bit)", 1, _binary_decode, _binary_encode, False),
    Field("octal", "Octal (8 bit)", 1, _octal_decode, _octal_encode, False),
    Field("ascii", "ASCII character", 1, _ascii_decode, _ascii_encode, False),
    Field("utf8", "UTF-8 character", 4, _utf8_decode, _utf8_encode, False, min_size=1),
    Field("utf16", "UTF-16 character", 4, _utf16_decode, _utf16_encode, min_size=2),
    _unix_field(32),
    _unix_field(64),
    Field("dos", "DOS date/time", 4, _dos_decode, _dos_encode),
    Field("guid", "GUID", 16, _guid_decode, _guid_encode),
)
FIELDS_BY_KEY = {field.key: field for field in FIELDS}


@dataclass(frozen=True)
class Reading:
    """One inspector row: the text to show, or why there is none."""

    field: Field
    text: str | None
    problem: str | None = None  # "needs 8 bytes", "invalid UTF-8", ...


def inspect(data: bytes, little_endian: bool = True) -> list[Reading]:
    """Every field decoded from ``data`` (the bytes at the cursor, up to MAX_FIELD_SIZE)."""
    readings = []
    for field in FIELDS:
        readings.append(_read(field, data, little_endian))
    return readings


def _read(field: Field, data: bytes, little: bool) -> Reading:
    if not data:
        return Reading(field, None, "no byte here")
    if len(data) < field.needs:
        return Reading(field, None, f"needs {field.needs} bytes")
    try:
        return Reading(field, field.decode(data, little))
    except Unreadable as exc:
        return Reading(field, None, str(exc))


def encode_value(key: str, text: str, little_endian: bool = True) -> bytes:
    """The bytes that make field ``key`` read ``text``; InspectorError says why it cannot."""
    if not text.strip() and key not in ("ascii", "utf8", "utf16"):
        raise InspectorError("Type a value first.")
    return FIELDS_BY_KEY[key].encode(text, little_endian)
