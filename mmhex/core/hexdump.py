"""``xxd`` and ``hexdump -C`` dumps, byte-identical to those tools, at about xxd's speed.

The formatter is column-wise: a chunk's hex digits come from one ``bytes.hex`` call and its
printable column from one ``bytes.translate``, and each output column is filled with a single
strided slice assignment into a reused buffer of whole rows. Per-row string formatting measured
70x slower than xxd. This module imports nothing (no ``enum``, no ``re``): ``mmhex dump`` must
start within 1.5x ``python -c pass``; ``formats.DumpFormat`` is the enum the window uses, and a
format is given either as that enum or as its value, ``"xxd"`` or ``"canonical"``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # collections.abc imports collections: 1.5 ms of every `mmhex dump`
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mmhex.core.formats import DumpFormat

XXD = "xxd"
CANONICAL = "canonical"  # hexdump -C


def format_name(fmt: DumpFormat | str) -> str:
    """``"xxd"`` or ``"canonical"`` for a DumpFormat or its value."""
    return getattr(fmt, "value", fmt)


# What both tools print for a byte in the text column: printable ASCII as itself, the rest as '.'.
PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))
ROW = 16  # bytes per row in both formats
CHUNK = 32 * 1024  # bytes formatted per pass (rows × columns stay in the CPU cache)
READ_SIZE = 1024 * 1024


def offset_digits(offset: int) -> int:
    """Both tools print offsets with ``%08x``: at least 8 digits, more past 4 GiB."""
    return max(8, len(f"{offset:x}"))


class _Layout:
    """Where each character of a full row goes, for one format and one offset width."""

    def __init__(self, fmt: DumpFormat | str, digits: int) -> None:
        self.digits = digits
        if format_name(fmt) == XXD:
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

    def __init__(self, fmt: DumpFormat | str, digits: int, chunk: int = CHUNK) -> None:
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


def format_row(fmt: DumpFormat | str, data: bytes, offset: int) -> bytes:
    """One row of up to 16 bytes, the slow but simple way (the last, partial row of a dump)."""
    digits = offset_digits(offset)
    pairs = [f"{b:02x}" for b in data] + ["  "] * (ROW - len(data))
    text = data.translate(PRINTABLE).decode("ascii")
    if format_name(fmt) == XXD:
        groups = " ".join("".join(pairs[i : i + 2]) for i in range(0, ROW, 2))
        return f"{offset:0{digits}x}: {groups}  {text}\n".encode()
    left, right = " ".join(pairs[:8]), " ".join(pairs[8:])
    return f"{offset:0{digits}x}  {left}  {right}  |{text}|\n".encode()


def iter_dump(
    read: Callable[[int, int], bytes],
    size: int,
    fmt: DumpFormat | str,
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
    if format_name(fmt) == CANONICAL:
        # hexdump ends with the offset after the last byte shown; when it showed nothing it
        # names where it stopped (the file size if START was past the end), unless that is 0.
        final = pos if pos > start else min(start, size)
        if final > 0:
            yield f"{final:0{offset_digits(final)}x}\n".encode()


def _format_block(
    data: bytes, offset: int, fmt: DumpFormat | str, formatters: dict[int, _ColumnFormatter]
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
