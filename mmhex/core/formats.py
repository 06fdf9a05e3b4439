"""Bytes as text: ``xxd`` and ``hexdump -C`` dumps, byte-identical to those tools, and copy-as.

The dump formatter is column-wise: a chunk's hex digits come from one ``bytes.hex`` call and its
printable column from one ``bytes.translate``, and each output column is filled with a single
strided slice assignment into a reused buffer of whole rows. Per-row string formatting measured
70x slower than xxd; this runs at about xxd's speed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator

from mmhex.core.errors import MmhexError

# What both tools print for a byte in the text column: printable ASCII as itself, the rest as '.'.
PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))
ROW = 16  # bytes per row in both formats
CHUNK = 32 * 1024  # bytes formatted per pass (rows × columns stay in the CPU cache)
READ_SIZE = 1024 * 1024


class DumpFormat(enum.Enum):
    XXD = "xxd"
    CANONICAL = "canonical"  # hexdump -C


def offset_digits(offset: int) -> int:
    """Both tools print offsets with ``%08x``: at least 8 digits, more past 4 GiB."""
    return max(8, len(f"{offset:x}"))


class _Layout:
    """Where each character of a full row goes, for one format and one offset width."""

    def __init__(self, fmt: DumpFormat, digits: int) -> None:
        self.digits = digits
        if fmt is DumpFormat.XXD:
            # 00000000: 4865 6c6c 6f2c 2077 6f72 6c64 210a 5468  Hello, world!.Th
            self.hex_at = [digits + 2 + 2 * j + j // 2 for j in range(ROW)]
            self.text_at = digits + 43
            self.length = digits + 60
            row = bytearray(b" " * self.length)
            row[digits] = ord(":")
        else:
            # 00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 54 68  |Hello, world!.Th|
            self.hex_at = [digits + 2 + 3 * j + (j >= 8) for j in range(ROW)]
            self.text_at = digits + 53
            self.length = digits + 71
            row = bytearray(b" " * self.length)
            row[digits + 52] = row[digits + 69] = ord("|")
        row[-1] = ord("\n")
        self.template = bytes(row)


class _ColumnFormatter:
    """Formats whole rows of one chunk at a time into a buffer it reuses."""

    def __init__(self, fmt: DumpFormat, digits: int, chunk: int = CHUNK) -> None:
        self.layout = _Layout(fmt, digits)
        self.max_rows = chunk // ROW
        self.buffer = bytearray(self.layout.template * self.max_rows)
        # What each offset digit column holds now (most stay the same from chunk to chunk).
        self._digit_keys: list[tuple[int, int] | None] = [None] * digits
        self._digit_columns: list[bytes | None] = [None] * digits

    def rows(self, data: bytes, offset: int) -> memoryview:
        """The text of ``len(data) // 16`` full rows (data must be a multiple of 16, ≤ chunk)."""
        layout = self.layout
        count = len(data) // ROW
        size = count * layout.length
        step = layout.length
        out = self.buffer
        text_at = layout.text_at
        for j, at in enumerate(layout.hex_at):
            column = data[j::ROW]  # byte j of every row
            out[at:size:step] = column.translate(_HIGH_DIGIT)
            out[at + 1 : size : step] = column.translate(_LOW_DIGIT)
            out[text_at + j : size : step] = column.translate(PRINTABLE)
        self._write_offsets(offset, count, size)
        return memoryview(out)[:size]

    def _write_offsets(self, offset: int, count: int, size: int) -> None:
        width = self.layout.digits
        step = self.layout.length
        for place in range(width):
            column_at = width - 1 - place
            # Digit `place` of offset + 16*i depends only on offset mod 16**(place+1).
            key = (offset % 16 ** (place + 1), count)
            if self._digit_keys[column_at] == key:
                continue
            self._digit_keys[column_at] = key
            column = _digit_column(offset, count, place)
            if self._digit_columns[column_at] != column:
                self.buffer[column_at:size:step] = column
                self._digit_columns[column_at] = column


_HEX_DIGITS = b"0123456789abcdef"
_HIGH_DIGIT = bytes(_HEX_DIGITS[b >> 4] for b in range(256))
_LOW_DIGIT = bytes(_HEX_DIGITS[b & 15] for b in range(256))


def _digit_column(offset: int, count: int, place: int) -> bytes:
    """Hex digit ``place`` (0 = rightmost) of offset, offset+16, ... (count rows), as runs."""
    shift = 4 * place
    if place == 0:
        return _HEX_DIGITS[offset & 15 : (offset & 15) + 1] * count
    rows_per_value = (1 << shift) // ROW
    value = (offset >> shift) & 15
    first = (((offset >> shift) + 1) << shift) - offset  # bytes until the digit changes
    run = min(count, (first + ROW - 1) // ROW)
    parts = [_HEX_DIGITS[value : value + 1] * run]
    done = run
    while done < count:
        value = (value + 1) & 15
        run = min(count - done, rows_per_value)
        parts.append(_HEX_DIGITS[value : value + 1] * run)
        done += run
    return b"".join(parts)


def format_row(fmt: DumpFormat, data: bytes, offset: int) -> bytes:
    """One row of up to 16 bytes, the slow but simple way (the last, partial row of a dump)."""
    digits = offset_digits(offset)
    pairs = [f"{b:02x}" for b in data] + ["  "] * (ROW - len(data))
    text = data.translate(PRINTABLE).decode("ascii")
    if fmt is DumpFormat.XXD:
        groups = " ".join("".join(pairs[i : i + 2]) for i in range(0, ROW, 2))
        return f"{offset:0{digits}x}: {groups}  {text}\n".encode()
    left, right = " ".join(pairs[:8]), " ".join(pairs[8:])
    return f"{offset:0{digits}x}  {left}  {right}  |{text}|\n".encode()


def iter_dump(
    read: Callable[[int, int], bytes],
    size: int,
    fmt: DumpFormat,
    start: int = 0,
    length: int | None = None,
) -> Iterator[bytes | memoryview]:
    """The text ``xxd -s START -l LENGTH`` or ``hexdump -C -v -s START -n LENGTH`` prints.

    ``read(offset, n)`` returns up to n bytes (``Document.read``); ``size`` is the file size.
    Rows start at ``start`` itself, not at a multiple of 16, as with both tools. Yields pieces of
    output to write in order; a memoryview piece is only valid until the next one is requested.
    """
    end = size if length is None else min(size, start + length)
    if length == 0:
        return
    pos = start
    formatters: dict[int, _ColumnFormatter] = {}
    while pos < end:
        data = read(pos, min(READ_SIZE, end - pos))
        if not data:
            break
        yield from _format_block(data, pos, fmt, formatters)
        pos += len(data)
    if fmt is DumpFormat.CANONICAL:
        # hexdump ends with the offset after the last byte shown; when it showed nothing it
        # names where it stopped (the file size if START was past the end), unless that is 0.
        final = pos if pos > start else min(start, size)
        if final > 0:
            yield f"{final:0{offset_digits(final)}x}\n".encode()


def _format_block(
    data: bytes, offset: int, fmt: DumpFormat, formatters: dict[int, _ColumnFormatter]
) -> Iterator[bytes | memoryview]:
    pos = 0
    full = len(data) - len(data) % ROW
    while pos < full:
        row_offset = offset + pos
        digits = offset_digits(row_offset)
        # Rows keep one offset width per pass: stop where the width grows (at 16**digits).
        width_end = (16**digits - row_offset + ROW - 1) // ROW * ROW
        take = min(CHUNK, full - pos, max(ROW, width_end))
        formatter = formatters.get(digits)
        if formatter is None:
            formatter = formatters[digits] = _ColumnFormatter(fmt, digits, CHUNK)
        yield formatter.rows(data[pos : pos + take], row_offset)
        pos += take
    if pos < len(data):
        yield format_row(fmt, data[pos:], offset + pos)


def dump_text(data: bytes, fmt: DumpFormat = DumpFormat.CANONICAL, offset: int = 0) -> str:
    """A whole dump of ``data`` as if it sat at ``offset`` in a file (for Copy as hexdump)."""

    def read(pos: int, n: int) -> bytes:
        return data[pos - offset : pos - offset + n]

    pieces = iter_dump(read, offset + len(data), fmt, offset, len(data))
    return b"".join(bytes(p) for p in pieces).decode("ascii")


# ===================================================================== copy as / paste
class HexTextError(MmhexError, ValueError):
    """Pasted text is not hex; ``str`` says where."""


def to_hex_text(data: bytes, *, separator: str = " ", upper: bool = True) -> str:
    text = data.hex(separator) if separator and data else data.hex()
    return text.upper() if upper else text


def to_c_array(data: bytes, name: str = "data", per_line: int = 12) -> str:
    """``unsigned char data[N] = { 0x.., ... };`` as C compilers and xxd -i users expect."""
    lines = []
    for i in range(0, len(data), per_line):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i : i + per_line]))
    body = ",\n".join(lines)
    return (
        f"unsigned char {name}[{len(data)}] = {{\n{body}\n}};\n"
        if data
        else (f"unsigned char {name}[0] = {{}};\n")
    )


def to_python_bytes(data: bytes) -> str:
    """A Python bytes literal that evaluates to ``data`` (every byte as \\xHH: unambiguous)."""
    return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'


def to_base64(data: bytes) -> str:
    import base64  # only here: `mmhex dump` imports this module and needs no base64

    return base64.b64encode(data).decode("ascii")


_HEX_PREFIX = re.compile(r"0[xX]|\\[xX]")
_SEPARATORS = re.compile(r"[\s,;:]+")


def parse_hex_text(text: str) -> bytes:
    """Bytes from pasted hex: ``DE AD BE EF``, ``deadbeef``, ``0xde, 0xad``, ``\\xde\\xad``.

    Raises HexTextError naming the first character that is not hex, or an odd digit count.
    """
    cleaned = _SEPARATORS.sub(" ", _HEX_PREFIX.sub(" ", text)).split()
    digits = "".join(cleaned)
    bad = next((c for c in digits if c not in "0123456789abcdefABCDEF"), None)
    if bad is not None:
        raise HexTextError(f"The pasted text is not hex: {bad!r} is not a hex digit.")
    if any(len(token) % 2 for token in cleaned):
        raise HexTextError(
            "The pasted hex has a byte with an odd number of digits; write each byte as two."
        )
    return bytes.fromhex(digits)


def to_rust_array(data: bytes, name: str = "DATA", per_line: int = 12) -> str:
    """``const DATA: [u8; N] = [0x.., ...];`` (a Rust array of unsigned bytes)."""
    return _array_text(f"const {name}: [u8; {len(data)}] = [", "];\n", data, "0x{:02x}", per_line)


def to_java_array(data: bytes, name: str = "data", per_line: int = 8) -> str:
    """``byte[] data = { (byte)0x.., ... };`` — the same text compiles in Java and in C#.

    Java's ``byte`` is signed, so 0x80–0xFF need the cast; C# accepts the cast on any constant.
    """
    return _array_text(f"byte[] {name} = {{", "};\n", data, "(byte)0x{:02x}", per_line)


def _array_text(head: str, tail: str, data: bytes, item: str, per_line: int) -> str:
    if not data:
        return head + tail
    lines = [
        "    " + ", ".join(item.format(b) for b in data[i : i + per_line])
        for i in range(0, len(data), per_line)
    ]
    return head + "\n" + ",\n".join(lines) + "\n" + tail


_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
_ESCAPED = [_ESCAPES.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)]


def to_escaped_string(data: bytes) -> str:
    """A double-quoted string: printable ASCII as itself, \\n \\r \\t \\" \\\\, the rest \\xHH.

    Python, JavaScript and Rust byte strings read it back as the same bytes (``\\xHH`` takes
    exactly two digits there; in C a following hex digit would join the escape).
    """
    return '"' + "".join([_ESCAPED[b] for b in data]) + '"'


# Copy-as menu entries: key -> (menu label, text of the selected bytes starting at ``offset``).
COPY_FORMATS: dict[str, tuple[str, Callable[[bytes, int], str]]] = {
    "hex": ("&Hex (spaced)", lambda data, offset: to_hex_text(data)),
    "hex_plain": ("Hex (&plain)", lambda data, offset: to_hex_text(data, separator="")),
    "c": ("&C array", lambda data, offset: to_c_array(data)),
    "python": ("P&ython bytes", lambda data, offset: to_python_bytes(data)),
    "rust": ("&Rust array", lambda data, offset: to_rust_array(data)),
    "java": ("&Java / C# array", lambda data, offset: to_java_array(data)),
    "base64": ("&Base64", lambda data, offset: to_base64(data)),
    "hexdump": ("hex&dump -C", lambda data, offset: dump_text(data, DumpFormat.CANONICAL, offset)),
    "escaped": ("&Escaped string", lambda data, offset: to_escaped_string(data)),
}
