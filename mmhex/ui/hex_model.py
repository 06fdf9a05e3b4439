"""HexTableModel: the visible window of rows of a Document as a Qt table model.

Qt item models have 32-bit rows, so the model never exposes the whole file: it serves only the
rows on screen, starting at ``top_row`` (a 64-bit Python int). The window's bytes and its
formatted row strings are cached by (top, rows, bytes per row, document generation), so a
repaint formats nothing and an outside change can never leave stale bytes on screen.
A read that fails (the file was truncated under us) never raises into Qt: the rows show as
unreadable and ``read_failed`` asks the owner to re-check the file.
Which bytes a row holds is the row layout's answer (core/row_layout.py): plain arithmetic for a
file; for a process, its regions each start a row and a gap between them is one separator row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from mmhex.core.display import CLASS_TABLE, CONTEXT, MULTI_BYTE, display_text
from mmhex.core.document import Document
from mmhex.core.errors import SavingInProgressError
from mmhex.core.row_layout import LinearLayout, RowLayout, Segment, SegmentedLayout, rows, span
from mmhex.core.viewport import offset_digits

# bytes -> printable text: ASCII graphic characters as themselves, everything else as '.'.
_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))

ModelIndex = QModelIndex | QPersistentModelIndex
# The document's segments for a segmented layout (a process's readable regions, gaps noted).
SegmentsProvider = Callable[[], Sequence[Segment]]


@dataclass(frozen=True)
class RowText:
    """One row as painted: the strings are ready for a single drawText each."""

    offset: int
    length: int  # bytes in this row (the last row of the file may be short)
    offset_text: str
    hex_text: str
    ascii_text: str
    line_text: (
        str  # hex and text columns in one string (one drawText): hex, padding, 2 spaces, text
    )
    # (byte class, line_text with every byte of another class blanked): one drawText per class
    # present when bytes are coloured by class; empty when they are not.
    class_lines: tuple[tuple[int, str], ...] = ()
    # A separator row (no bytes; ``offset`` is the first byte below it): the text it shows.
    note: str | None = None


def gap_every(group: int, gap8: bool) -> int:
    """Bytes between the extra gaps of the hex column (0: no extra gap)."""
    return 8 if gap8 and group < 8 else 0


def hex_char_at(column: int, group: int, gap8: bool = False) -> int:
    """Character index of byte ``column`` in a row's hex string."""
    every = gap_every(group, gap8)
    return column * 2 + column // group + (column // every if every else 0)


def hex_chars(bytes_per_row: int, group: int, gap8: bool = False) -> int:
    """Width in characters of a full row's hex column."""
    return hex_char_at(bytes_per_row - 1, group, gap8) + 2 if bytes_per_row else 0


def format_hex(data: bytes, group: int, gap8: bool = False) -> str:
    """``data`` as lower-case hex, ``group`` bytes per space-separated group (like ``xxd -g``),
    with one more space every 8 bytes when ``gap8`` (like ``hexdump -C``)."""
    every = gap_every(group, gap8)
    if not every:
        return data.hex(" ", -group)
    return "  ".join(data[i : i + every].hex(" ", -group) for i in range(0, len(data), every))


def class_lines(
    chunk: bytes, line: str, hex_at: list[int], text_at: int
) -> tuple[tuple[int, str], ...]:
    """``line`` split by byte class: one string per class present, other bytes blanked."""
    per_class: dict[int, list[str]] = {}
    for column, kind in enumerate(chunk.translate(CLASS_TABLE)):
        chars = per_class.get(kind)
        if chars is None:
            chars = per_class[kind] = [" "] * len(line)
        at = hex_at[column]
        chars[at : at + 2] = line[at : at + 2]
        chars[text_at + column] = line[text_at + column]
    return tuple((kind, "".join(chars)) for kind, chars in sorted(per_class.items()))


def format_ascii(data: bytes) -> str:
    return data.translate(_PRINTABLE).decode("ascii")


def format_offset(offset: int, digits: int, base: int) -> str:
    return f"{offset:0{digits}x}" if base == 16 else f"{offset:0{digits}d}"


class HexTableModel(QAbstractTableModel):
    """Rows ``top_row .. top_row + visible_rows - 1`` of the document, one column per byte."""

    read_failed = Signal(object)  # the exception a read raised; the owner re-checks the file

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document: Document | None = None
        self._top_row = 0
        self._visible_rows = 0
        self._bytes_per_row = 16
        self._group = 1
        self._offset_base = 16
        self.encoding = "ascii"
        self.gap8 = False
        self.colour_classes = False
        self._bytes_key: tuple[int, ...] | None = None
        self._bytes: bytes = b""
        self._read_error: BaseException | None = None
        self._rows_key: tuple[int, ...] | None = None
        self._rows: list[RowText] = []
        self._segments: SegmentsProvider | None = None
        self._layout_version = 0  # bumped when the segments may have changed
        self._layout_key: tuple[int, ...] | None = None
        self._layout: RowLayout = LinearLayout(0, self._bytes_per_row)
        self._layout_serial = 0  # bumped on every rebuild: part of the bytes' cache key

    # ----------------------------------------------------------------- configuration
    @property
    def document(self) -> Document | None:
        return self._document

    def set_document(self, document: Document | None) -> None:
        self.beginResetModel()
        self._document = document
        self._top_row = 0
        self._segments = None
        self._forget()
        self.endResetModel()

    def set_segments(self, provider: SegmentsProvider | None) -> None:
        """Lay rows out by ``provider()``'s segments (asked again after each ``invalidate``);
        None: the plain arithmetic of a file."""
        self.beginResetModel()
        self._segments = provider
        self._forget()
        self.endResetModel()

    @property
    def top_row(self) -> int:
        return self._top_row

    @property
    def visible_rows(self) -> int:
        return self._visible_rows

    @property
    def bytes_per_row(self) -> int:
        return self._bytes_per_row

    @property
    def group(self) -> int:
        return self._group

    @property
    def offset_base(self) -> int:
        return self._offset_base

    def set_format(self, bytes_per_row: int, group: int, offset_base: int) -> None:
        if (bytes_per_row, group, offset_base) == (
            self._bytes_per_row,
            self._group,
            self._offset_base,
        ):
            return
        self.beginResetModel()
        self._bytes_per_row = bytes_per_row
        self._group = group
        self._offset_base = offset_base
        self._forget()
        self.endResetModel()

    def set_text_format(self, encoding: str, gap8: bool, colour_classes: bool) -> None:
        """Text-column encoding, the gap every 8 bytes and colouring by byte class."""
        if (encoding, gap8, colour_classes) == (self.encoding, self.gap8, self.colour_classes):
            return
        self.beginResetModel()
        self.encoding, self.gap8, self.colour_classes = encoding, gap8, colour_classes
        self._forget()
        self.endResetModel()

    def text_of(self, data: bytes, offset: int = 0) -> str:
        """``data`` (at file ``offset``) as the text column shows it, context read around it."""
        before = after = b""
        if self.encoding in MULTI_BYTE and self._document is not None:
            low = max(0, offset - CONTEXT)
            try:
                before = self._document.read(low, offset - low)
                after = self._document.read(offset + len(data), CONTEXT)
            except (OSError, ValueError):
                before = after = b""
        return display_text(data, self.encoding, offset, before, after)

    def set_window(self, top_row: int, visible_rows: int) -> None:
        """Show rows from ``top_row`` (any non-negative int, even beyond 2**32)."""
        if (top_row, visible_rows) == (self._top_row, self._visible_rows):
            return
        old_count = self.rowCount()
        self._top_row = max(0, top_row)
        self._visible_rows = max(0, visible_rows)
        if self.rowCount() != old_count:
            self.beginResetModel()
            self.endResetModel()
        elif old_count:
            last = self.index(old_count - 1, self.columnCount() - 1)
            self.dataChanged.emit(self.index(0, 0), last)
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, old_count - 1)

    def invalidate(self) -> None:
        """The document changed (its generation already says so); tell attached Qt views."""
        self.beginResetModel()
        self._forget()
        self.endResetModel()

    def _forget(self) -> None:
        self._layout_version += 1
        self._bytes_key = None
        self._rows_key = None
        self._bytes = b""
        self._rows = []
        self._read_error = None

    # ----------------------------------------------------------------- geometry
    @property
    def size(self) -> int:
        return self._document.size if self._document is not None else 0

    @property
    def layout(self) -> RowLayout:
        """Rows <-> offsets now: rebuilt when the size, the width or the segments change."""
        size, per_row = self.size, self._bytes_per_row
        if self._segments is None:
            key: tuple[int, ...] = (size, per_row, -1)
        else:
            key = (size, per_row, self._layout_version)
        if key != self._layout_key:
            self._layout_key = key
            self._layout = self._build_layout(size, per_row)
            self._layout_serial += 1
        return self._layout

    def _build_layout(self, size: int, per_row: int) -> RowLayout:
        if self._segments is not None:
            try:
                layout = SegmentedLayout(self._segments(), per_row)
            except (OSError, ValueError):
                layout = None
            # Segments read before the document changed: plain rows until they are re-read.
            if layout is not None and layout.size == size:
                return layout
        return LinearLayout(size, per_row)

    @property
    def total_rows(self) -> int:
        return self.layout.total_rows

    @property
    def window_start(self) -> int:
        """The first byte shown (separator rows hold none)."""
        return span(self.layout, self._top_row, self.rowCount())[0]

    def offset_at(self, row: int, column: int) -> int | None:
        """The file offset of window cell (row, column); None on a separator or past a row."""
        shown = self.layout.row(self._top_row + row)
        return shown.offset + column if column < shown.length else None

    # ----------------------------------------------------------------- bytes
    def _key(self) -> tuple[int, ...]:
        document = self._document
        generation = document.generation if document is not None else -1
        size = document.size if document is not None else 0
        self.layout  # noqa: B018 (rebuilt first when stale, so the serial below is current)
        shown, serial = self.rowCount(), self._layout_serial
        return (self._top_row, shown, self._bytes_per_row, generation, size, serial)

    @property
    def read_error(self) -> BaseException | None:
        """The error of the last read of this window (None when its bytes are real)."""
        self.window_bytes()
        return self._read_error

    def window_bytes(self) -> bytes:
        """The bytes of the visible rows (b"" when the read failed), cached by generation."""
        key = self._key()
        if key == self._bytes_key:
            return self._bytes
        self._bytes_key = key
        self._bytes = b""
        told = isinstance(self._read_error, SavingInProgressError)
        self._read_error = None
        document = self._document
        if document is None or not key[1]:
            return self._bytes
        start, end = span(self.layout, self._top_row, key[1])
        try:
            self._bytes = document.read(start, end - start)
        except SavingInProgressError as exc:
            # Rows not read before an in-place save began: blank until it ends (the rows
            # read before stay cached: they are the document's bytes). Not cached, so the
            # first paint after the save reads them; said once.
            self._bytes_key = None
            if not told:
                self.read_failed.emit(exc)
            self._read_error = exc
        except (OSError, ValueError) as exc:
            # Never raise into a paint: remember the failure for this generation only, so the
            # re-check the owner runs (which bumps the generation) leads to a fresh read.
            self._read_error = exc
            self.read_failed.emit(exc)
        return self._bytes

    def row_texts(self) -> list[RowText]:
        """The visible rows, formatted once per window and generation."""
        data = self.window_bytes()
        text_key = (self._group, self._offset_base, self.encoding, self.gap8, self.colour_classes)
        key = (*self._bytes_key, *text_key) if self._bytes_key else None
        if key == self._rows_key:
            return self._rows
        per_row = self._bytes_per_row
        group, gap8 = self._group, self.gap8
        digits = offset_digits(self.size, self._offset_base)
        texts: list[RowText] = []
        shown = rows(self.layout, self._top_row, self.rowCount())
        start = shown[0].offset if shown else 0
        hex_width = hex_chars(per_row, group, gap8)
        hex_at = [hex_char_at(column, group, gap8) for column in range(per_row)]
        text = self.text_of(data, start) if data else ""
        for row in shown:
            offset = row.offset
            if row.note is not None:
                texts.append(RowText(offset, 0, "", "", "", "", note=row.note))
                continue
            at = offset - start
            chunk = data[at : at + row.length]
            hex_text = format_hex(chunk, group, gap8)
            ascii_text = text[at : at + len(chunk)]
            line = f"{hex_text:<{hex_width}}  {ascii_text}"
            texts.append(
                RowText(
                    offset=offset,
                    length=len(chunk),
                    offset_text=format_offset(offset, digits, self._offset_base),
                    hex_text=hex_text,
                    ascii_text=ascii_text,
                    line_text=line,
                    class_lines=(
                        class_lines(chunk, line, hex_at, hex_width + 2)
                        if self.colour_classes
                        else ()
                    ),
                )
            )
        self._rows_key = key
        self._rows = texts
        return texts

    # ----------------------------------------------------------------- Qt model API
    def rowCount(self, parent: ModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        remaining = self.total_rows - self._top_row
        return max(0, min(self._visible_rows, remaining))

    def columnCount(self, parent: ModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return self._bytes_per_row

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        offset = self.offset_at(index.row(), index.column())
        data = self.window_bytes()
        if offset is None or not data:
            return None
        position = offset - self.window_start
        if not 0 <= position < len(data):
            return None
        value = data[position]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{value:02x}"
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"offset {offset:#x} ({offset:,}): {value:#04x} = {value}"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return f"{section:02x}"
        row = self.layout.row(self._top_row + section)
        if row.note is not None:
            return row.note
        offset = row.offset
        return format_offset(offset, offset_digits(self.size, self._offset_base), self._offset_base)
