"""HexView: the offset | hex | text grid, painting only the rows on screen.

A QAbstractScrollArea over HexTableModel (QTableView cannot show more than ~107 M rows and
repaints too slowly). The top row, the cursor and the selection are 64-bit Python ints; the
vertical scrollbar is only a proportion of the row space (viewport.RowSpace), while keys, wheel
and go-to move exact rows. Rows map to offsets through the model's row layout (core/row_layout):
for a process, each readable region starts a row and a gap is one separator row holding no byte.
Each row is painted with three drawText calls of strings the model formatted once per window, so
a full repaint costs a few milliseconds whatever the file size.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QKeyCombination, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QApplication, QWidget

from mmhex.core.document import Change, ChangeKind, Document
from mmhex.core.row_layout import RowLayout, move_rows, span
from mmhex.core.viewport import RowSpace, offset_digits
from mmhex.ui.actions import view_key_bindings
from mmhex.ui.coalesce import Coalescer
from mmhex.ui.hex_model import HexTableModel, RowText, SegmentsProvider, hex_char_at, hex_chars
from mmhex.ui.theme import byte_class_colours

Highlight = tuple[int, int, QColor]  # [start, end) and the background colour
Highlighter = Callable[[int, int], Iterable[Highlight]]
KeyHandler = Callable[[QKeyEvent], bool]  # True when it used the key
# Optional hooks for documents whose offsets stand for something else (a process's addresses):
OffsetLabeller = Callable[[int], str]  # a row's first offset -> the text of its offset column
# A document -> its segments' provider (regions that each start a row, gaps as separator rows),
# or None for plain rows; asked whenever a document is shown.
SegmentsHook = Callable[[Document], SegmentsProvider | None]

WHEEL_STEP = 120  # angleDelta units of one notch
ERROR_COLOR = QColor(210, 50, 50)  # readable on light and dark backgrounds
ROW_LEADING = 1  # pixels above and below the glyphs of a row
MAX_FIT_BYTES = 256  # Fit to Width never goes beyond this many bytes per row


class Pane(enum.Enum):
    HEX = "hex"
    TEXT = "text"


@dataclass(frozen=True)
class ViewState:
    """Where a document was left in the grid (one per tab): restored when it is shown again."""

    cursor: int = 0
    anchor: int | None = None
    top_row: int = 0
    pane: Pane = Pane.HEX
    nibble: int = 0


@dataclass(frozen=True)
class Geometry:
    """Column positions in content pixels (before horizontal scrolling), from font metrics."""

    char_width: float
    line_height: int
    ascent: float
    header_height: int
    offset_x: float
    hex_x: float
    text_x: float
    width: float
    bytes_per_row: int
    group: int
    header_hex: str  # column numbers above the hex column, one label per group
    header_text: str  # last hex digit of each column above the text column
    gap8: bool = False  # one more space every 8 bytes

    def hex_char(self, column: int) -> int:
        """Character index of byte ``column`` in a row's hex string."""
        return hex_char_at(column, self.group, self.gap8)

    def hex_column_x(self, column: int) -> float:
        return self.hex_x + self.hex_char(column) * self.char_width

    def text_column_x(self, column: int) -> float:
        return self.text_x + column * self.char_width

    def row_y(self, index: int) -> int:
        """Top of the ``index``-th row on screen."""
        return self.header_height + index * self.line_height

    def hex_column_at(self, x: float) -> int:
        """The byte column under content x in the hex pane (gaps belong to the byte before)."""
        char = math.floor((x - self.hex_x) / self.char_width)
        if char < 0:
            return 0
        if not self.gap8:
            group_chars = 2 * self.group + 1
            column = (char // group_chars) * self.group + min(
                (char % group_chars) // 2, self.group - 1
            )
            return min(column, self.bytes_per_row - 1)
        # The last byte that starts at or before ``char``: gaps belong to the byte before.
        low, high = 0, self.bytes_per_row - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.hex_char(middle) <= char:
                low = middle
            else:
                high = middle - 1
        return low

    def text_column_at(self, x: float) -> int:
        column = math.floor((x - self.text_x) / self.char_width)
        return min(max(column, 0), self.bytes_per_row - 1)


def _header_hex(per_row: int, group: int, gap8: bool) -> str:
    """Column numbers above the hex column, one label at the start of each group."""
    chars = [" "] * hex_chars(per_row, group, gap8)
    for start in range(0, per_row, group):
        at = hex_char_at(start, group, gap8)
        label = f"{start:02x}"[: 2 * min(group, per_row - start) + 1]
        chars[at : at + len(label)] = label
    return "".join(chars).rstrip()


def fit_bytes_per_row(
    available: float, char_width: float, digits: int, group: int, gap8: bool, maximum: int
) -> int:
    """The most bytes per row whose offset, hex and text columns fit ``available`` pixels.

    A multiple of 8 when at least 8 fit (rows then start on round offsets), else of the group
    (or any count below it); never less than 1.
    """

    def width(count: int) -> float:
        # offset column (1 + digits + 2), hex column, 2 spaces, text column, 1 margin
        return (digits + 3 + hex_chars(count, group, gap8) + 2 + count + 1) * char_width

    best = 1
    for count in range(1, maximum + 1):
        if width(count) > available:
            break
        best = count
    for step in (8, group):
        if best >= step:
            return best - best % step
    return best


def fixed_font(point_size: float = 0) -> QFont:
    """The system's fixed-pitch font, optionally at ``point_size``."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    if point_size > 0:
        font.setPointSizeF(point_size)
    return font


class HexView(QAbstractScrollArea):
    """The hex grid: cursor and selection are byte offsets; highlighters colour visible ranges."""

    cursor_moved = Signal(object)  # offset
    selection_changed = Signal(object, object)  # start, end (exclusive; equal when empty)
    top_row_changed = Signal(object)  # first row on screen
    visible_range_changed = Signal(object, object)  # [start, end) byte range on screen
    zoom_requested = Signal(int)  # +1 / -1 from Ctrl+wheel
    width_changed = Signal(int)  # the viewport's new width (Fit to Width follows it)
    context_menu_requested = Signal(object)  # global QPoint where the menu should open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = HexTableModel(self)
        self._document: Document | None = None
        self._cursor = 0
        self._anchor: int | None = None
        self._pane = Pane.HEX
        # Which hex digit of the cursor byte typing changes next (0 = high); drawn when
        # ``nibble_cursor`` is on (edit mode).
        self._nibble = 0
        self.nibble_cursor = False
        # Keys no binding claims (typing, Backspace, Delete) go here: the editing feature.
        self.key_handler: KeyHandler | None = None
        self._highlighters: list[Highlighter] = []
        self.offset_labeller: OffsetLabeller | None = None
        self.segments_hook: SegmentsHook | None = None
        self._offset_header = ""  # the offset column's title while a labeller is set
        self._announced_range: tuple[int, int] | None = None
        self._key_bindings = {
            sequence.toString(): method for sequence, method in view_key_bindings()
        }
        self._wheel_remainder = 0
        self._dragging = False
        self._syncing_slider = False
        self._geometry: Geometry | None = None
        self._laid_out_rows = 1  # page_rows when the layout was last computed
        # Edits that keep the size refresh the model and layout once per event-loop turn.
        self._stale = Coalescer(self._refresh_after_change, self)
        self._refreshed_size = 0
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        # render_rows paints every pixel: spare Qt the background fill before each paint.
        self.viewport().setAutoFillBackground(False)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.verticalScrollBar().valueChanged.connect(self._on_slider_value)
        self.verticalScrollBar().actionTriggered.connect(self._on_slider_action)
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        self.setFont(fixed_font())
        self._relayout()

    # ----------------------------------------------------------------- document
    @property
    def document(self) -> Document | None:
        return self._document

    def set_document(self, document: Document | None) -> None:
        """Show ``document`` (or nothing) from its first byte."""
        if self._document is not None:
            self._document.remove_listener(self._on_document_change)
        self._document = document
        self._stale.cancel()
        self.model.set_document(document)
        if document is not None and self.segments_hook is not None:
            self.model.set_segments(self.segments_hook(document))
        self._refreshed_size = self.size
        self._cursor = 0
        self._anchor = None
        self._nibble = 0
        if document is not None:
            document.add_listener(self._on_document_change)
        self._relayout()
        self.set_top_row(0)
        self.cursor_moved.emit(self._cursor)
        self.selection_changed.emit(*self.selection)

    def save_state(self) -> ViewState:
        return ViewState(self._cursor, self._anchor, self.top_row, self._pane, self._nibble)

    def restore_state(self, state: ViewState) -> None:
        """Put cursor, selection, scroll position and pane back (clamped to the file now)."""
        before = (self._cursor, self.selection)
        last = self.last_offset
        self._cursor = min(state.cursor, last)
        self._anchor = None if state.anchor is None else min(state.anchor, last)
        self._pane = state.pane
        self._nibble = state.nibble
        self.set_top_row(state.top_row)
        self.viewport().update()
        self._emit_if_moved(before)
        # Listeners that compare with the previous document's values must still hear it.
        if (self._cursor, self.selection) == before:
            self.cursor_moved.emit(self._cursor)
            self.selection_changed.emit(*self.selection)

    def _on_document_change(self, change: Change) -> None:
        """Bytes or size changed (an edit, or a re-map after an outside change).

        An edit that keeps the size only needs a repaint and a model reset: that waits for the
        event loop, once per turn however many edits a batch makes (ui/coalesce.py).
        """
        if change.kind is ChangeKind.EDIT and self.size == self._refreshed_size:
            self.viewport().update()
            self._stale.schedule()
            return
        self._refresh_after_change()

    def _refresh_after_change(self) -> None:
        self._stale.cancel()
        self._refreshed_size = self.size
        before = (self._cursor, self.selection)
        self.model.invalidate()
        last = self.last_offset
        self._cursor = min(self._cursor, last)
        if self._anchor is not None:
            self._anchor = min(self._anchor, last)
        self._relayout()
        self.set_top_row(self.top_row)
        self.viewport().update()
        self._emit_if_moved(before)

    @property
    def size(self) -> int:
        return self.model.size

    @property
    def last_offset(self) -> int:
        return max(self.size - 1, 0)

    @property
    def layout(self) -> RowLayout:
        """Rows <-> offsets as shown now (plain arithmetic for a file)."""
        return self.model.layout

    def row_of(self, offset: int) -> int:
        """The row that shows byte ``offset``."""
        return self.model.layout.row_of(offset)

    # ----------------------------------------------------------------- options
    @property
    def bytes_per_row(self) -> int:
        return self.model.bytes_per_row

    def set_format(self, bytes_per_row: int, group: int, offset_base: int) -> None:
        """Change the layout, keeping the cursor on the same screen row."""
        screen_row = self.row_of(self._cursor) - self.top_row
        self.model.set_format(bytes_per_row, group, offset_base)
        self._relayout()
        self.set_top_row(self.row_of(self._cursor) - screen_row)

    def set_text_format(self, encoding: str, gap8: bool, colour_classes: bool) -> None:
        """Text-column encoding, a gap every 8 bytes, colouring by byte class."""
        self.model.set_text_format(encoding, gap8, colour_classes)
        self._relayout()

    def fitting_bytes_per_row(self) -> int:
        """Bytes per row that fill the viewport's width (View ▸ Bytes per row ▸ Fit to Width)."""
        geometry = self.layout_geometry
        digits = offset_digits(self.size, self.model.offset_base)
        return fit_bytes_per_row(
            self.viewport().width(), geometry.char_width, digits, self.model.group,
            self.model.gap8, MAX_FIT_BYTES,
        )  # fmt: skip

    def set_font_size(self, point_size: float) -> None:
        """0 restores the system's fixed-font size."""
        self.setFont(fixed_font(point_size))

    # ----------------------------------------------------------------- geometry
    @property
    def layout_geometry(self) -> Geometry:
        assert self._geometry is not None
        return self._geometry

    @property
    def page_rows(self) -> int:
        """Rows that fit completely in the viewport (at least one)."""
        geometry = self.layout_geometry
        usable = self.viewport().height() - geometry.header_height
        return max(1, usable // geometry.line_height)

    @property
    def top_row(self) -> int:
        return self.model.top_row

    def row_space(self) -> RowSpace:
        return RowSpace(self.model.total_rows, self.page_rows)

    def _relayout(self) -> None:
        """Recompute column positions and scroll ranges (font, format, size or resize)."""
        metrics = QFontMetricsF(self.font())
        # The advance of a long run, as drawText lays out whole rows at once.
        char_width = metrics.horizontalAdvance("0" * 64) / 64
        # A pixel of leading above and below each row: cursor and selection cells then frame
        # their glyphs instead of touching them, and rows read apart at small sizes.
        line_height = math.ceil(metrics.lineSpacing()) + 2 * ROW_LEADING
        per_row = self.model.bytes_per_row
        group = self.model.group
        gap8 = self.model.gap8
        digits = self._offset_digits()
        offset_x = char_width
        hex_x = offset_x + (digits + 2) * char_width
        # The text column starts two characters after the hex column (RowText.line_text).
        text_x = hex_x + (hex_chars(per_row, group, gap8) + 2) * char_width
        self._geometry = Geometry(
            char_width=char_width,
            line_height=line_height,
            ascent=metrics.ascent() + ROW_LEADING,
            header_height=line_height + 4,
            offset_x=offset_x,
            hex_x=hex_x,
            text_x=text_x,
            width=max(
                text_x + (per_row + 1) * char_width,
                offset_x + (self.layout.longest_note + 1) * char_width,
            ),
            bytes_per_row=per_row,
            group=group,
            header_hex=_header_hex(per_row, group, gap8),
            header_text="".join(f"{column & 0xF:x}" for column in range(per_row)),
            gap8=gap8,
        )
        self._laid_out_rows = self.page_rows
        self.model.set_window(self.top_row, self._laid_out_rows + 1)
        self._update_scrollbars()
        self.updateGeometry()
        self.viewport().update()
        self._announce_visible_range()

    def _update_scrollbars(self) -> None:
        space = self.row_space()
        bar = self.verticalScrollBar()
        self._syncing_slider = True
        try:
            bar.setRange(0, space.slider_maximum)
            page = space.visible_rows if space.exact else max(1, space.slider_maximum // 100)
            bar.setPageStep(min(page, max(1, space.slider_maximum)))
            bar.setSingleStep(1)
            bar.setValue(space.slider_for_top(self.top_row))
        finally:
            self._syncing_slider = False
        horizontal = self.horizontalScrollBar()
        geometry = self.layout_geometry
        horizontal.setRange(0, max(0, math.ceil(geometry.width) - self.viewport().width()))
        horizontal.setPageStep(max(1, self.viewport().width()))
        horizontal.setSingleStep(max(1, round(geometry.char_width)))

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        geometry = self.layout_geometry
        width = math.ceil(geometry.width) + self.verticalScrollBar().sizeHint().width()
        hint.setWidth(width + 2 * self.frameWidth())
        hint.setHeight(geometry.header_height + 32 * geometry.line_height)
        return hint

    # ----------------------------------------------------------------- scrolling
    def set_top_row(self, top: int) -> None:
        """Show rows from ``top`` (clamped so the last page is full)."""
        top = self.row_space().clamp_top(top)
        if top != self.model.top_row:
            self.model.set_window(top, self.page_rows + 1)
            self.viewport().update()
            self.top_row_changed.emit(top)
        self._sync_slider()
        self._announce_visible_range()

    def visible_range(self) -> tuple[int, int]:
        """The bytes ``[start, end)`` on screen now (empty when no document)."""
        return span(self.layout, self.top_row, self.page_rows)

    def _announce_visible_range(self) -> None:
        """Emit visible_range_changed once per distinct range (scroll, resize, layout)."""
        visible = self.visible_range()
        if visible != self._announced_range:
            self._announced_range = visible
            self.visible_range_changed.emit(*visible)

    def _sync_slider(self) -> None:
        value = self.row_space().slider_for_top(self.top_row)
        bar = self.verticalScrollBar()
        if bar.value() != value:
            self._syncing_slider = True
            try:
                bar.setValue(value)
            finally:
                self._syncing_slider = False

    def _on_slider_value(self, value: int) -> None:
        if self._syncing_slider:
            return
        space = self.row_space()
        if space.slider_for_top(self.top_row) == value:
            return  # the slider already stands for our exact top row
        self.set_top_row(space.top_for_slider(value))

    def _on_slider_action(self, action: int) -> None:
        """Scrollbar arrows and page clicks move exact rows even when a step is many rows."""
        space = self.row_space()
        actions = QAbstractSlider.SliderAction
        deltas = {
            actions.SliderSingleStepAdd.value: 1,
            actions.SliderSingleStepSub.value: -1,
            actions.SliderPageStepAdd.value: space.visible_rows,
            actions.SliderPageStepSub.value: -space.visible_rows,
        }
        delta = deltas.get(int(action.value if isinstance(action, enum.Enum) else action))
        if delta is None:
            return
        self.set_top_row(self.top_row + delta)
        self.verticalScrollBar().setSliderPosition(space.slider_for_top(self.top_row))

    def scroll_down(self) -> None:
        self.set_top_row(self.top_row + 1)

    def scroll_up(self) -> None:
        self.set_top_row(self.top_row - 1)

    def ensure_visible(self, offset: int) -> None:
        row = self.row_of(offset)
        self.set_top_row(self.row_space().top_to_show(row, self.top_row))

    # ----------------------------------------------------------------- cursor and selection
    @property
    def cursor_offset(self) -> int:
        return self._cursor

    @property
    def selection(self) -> tuple[int, int]:
        """[start, end) of the selection; start == end (== cursor) when nothing is selected."""
        if self._anchor is None:
            return self._cursor, self._cursor
        return min(self._anchor, self._cursor), max(self._anchor, self._cursor) + 1

    @property
    def active_pane(self) -> Pane:
        return self._pane

    def set_active_pane(self, pane: Pane) -> None:
        if pane is not self._pane:
            self._pane = pane
            self._nibble = 0
            self.viewport().update()

    @property
    def cursor_nibble(self) -> int:
        """0 when typing a hex digit changes the cursor byte's high half, 1 for the low half."""
        return self._nibble

    def set_cursor_nibble(self, nibble: int) -> None:
        """Point typing at the high (0) or low (1) digit; any cursor move resets it to 0."""
        if nibble not in (0, 1):
            raise ValueError("a byte has two hex digits: nibble 0 or 1")
        if nibble != self._nibble:
            self._nibble = nibble
            self.viewport().update()

    def pane_characters(self, data: bytes, offset: int = 0) -> str:
        """``data`` (from file ``offset``) as the text pane shows it (what Copy copies there)."""
        return self.model.text_of(data, offset)

    def switch_pane(self) -> None:
        self.set_active_pane(Pane.TEXT if self._pane is Pane.HEX else Pane.HEX)

    def set_cursor(self, offset: int, *, extend: bool = False, visible: bool = True) -> None:
        """Move the cursor to ``offset`` (clamped); ``extend`` grows the selection instead."""
        before = (self._cursor, self.selection)
        offset = min(max(offset, 0), self.last_offset)
        if extend:
            if self._anchor is None:
                self._anchor = self._cursor
        else:
            self._anchor = None
        self._cursor = offset
        self._nibble = 0
        if visible:
            self.ensure_visible(offset)
        self.viewport().update()
        self._emit_if_moved(before)

    def select(self, start: int, end: int) -> None:
        """Select ``[start, end)`` (the cursor goes to its last byte)."""
        before = (self._cursor, self.selection)
        last = self.last_offset
        self._anchor = min(max(start, 0), last)
        self._cursor = min(max(end - 1, self._anchor), last)
        self._nibble = 0
        self.ensure_visible(self._cursor)
        self.viewport().update()
        self._emit_if_moved(before)

    def select_all(self) -> None:
        if self.size:
            self.select(0, self.size)

    def go_to(self, offset: int) -> None:
        """Jump to ``offset``; a far target lands a third of the way down the page."""
        row = self.row_of(min(max(offset, 0), self.last_offset))
        if not self.top_row <= row < self.top_row + self.page_rows:
            self.set_top_row(row - self.page_rows // 3)
        self.set_cursor(offset)

    def _emit_if_moved(self, before: tuple[int, tuple[int, int]]) -> None:
        if self._cursor != before[0]:
            self.cursor_moved.emit(self._cursor)
        if self.selection != before[1]:
            self.selection_changed.emit(*self.selection)

    # Key bindings (named in actions.ACTIONS).
    def move_right(self) -> None:
        self.set_cursor(self._cursor + 1)

    def move_left(self) -> None:
        self.set_cursor(self._cursor - 1)

    def move_down(self) -> None:
        self.set_cursor(self._row_step(+1))

    def move_up(self) -> None:
        self.set_cursor(self._row_step(-1))

    def page_down(self) -> None:
        self._page(+1, extend=False)

    def page_up(self) -> None:
        self._page(-1, extend=False)

    def move_row_start(self) -> None:
        self.set_cursor(self._row_start())

    def move_row_end(self) -> None:
        self.set_cursor(self._row_end())

    def move_to_start(self) -> None:
        self.set_cursor(0)

    def move_to_end(self) -> None:
        self.set_cursor(self.last_offset)

    def select_right(self) -> None:
        self.set_cursor(self._cursor + 1, extend=True)

    def select_left(self) -> None:
        self.set_cursor(self._cursor - 1, extend=True)

    def select_down(self) -> None:
        self.set_cursor(self._row_step(+1), extend=True)

    def select_up(self) -> None:
        self.set_cursor(self._row_step(-1), extend=True)

    def select_page_down(self) -> None:
        self._page(+1, extend=True)

    def select_page_up(self) -> None:
        self._page(-1, extend=True)

    def select_row_start(self) -> None:
        self.set_cursor(self._row_start(), extend=True)

    def select_row_end(self) -> None:
        self.set_cursor(self._row_end(), extend=True)

    def select_to_start(self) -> None:
        self.set_cursor(0, extend=True)

    def select_to_end(self) -> None:
        self.set_cursor(self.last_offset, extend=True)

    def _row_step(self, rows: int) -> int:
        """The cursor moved ``rows`` rows (over a separator, same column, clamped to a short
        row's end), staying put when that leaves the file; the last row's end from above it."""
        layout = self.layout
        row = layout.row_of(self._cursor)
        target = row + rows
        if target < 0 or layout.size == 0:
            return self._cursor
        if target >= layout.total_rows:
            return self.last_offset if row < layout.total_rows - 1 else self._cursor
        return move_rows(layout, self._cursor, rows)

    def _row_start(self) -> int:
        layout = self.layout
        return layout.row(layout.row_of(self._cursor)).offset if self.size else 0

    def _row_end(self) -> int:
        layout = self.layout
        return max(layout.row(layout.row_of(self._cursor)).end - 1, 0) if self.size else 0

    def _page(self, direction: int, *, extend: bool) -> None:
        rows = self.page_rows
        target = move_rows(self.layout, self._cursor, direction * rows)
        self.set_top_row(self.top_row + direction * rows)
        self.set_cursor(target, extend=extend)

    # ----------------------------------------------------------------- highlighters
    def add_highlighter(self, highlighter: Highlighter) -> None:
        """``highlighter(start, end)`` returns (start, end, QColor) ranges to shade on screen."""
        self._highlighters.append(highlighter)
        self.viewport().update()

    def remove_highlighter(self, highlighter: Highlighter) -> None:
        if highlighter in self._highlighters:
            self._highlighters.remove(highlighter)
        self.viewport().update()

    # ----------------------------------------------------------------- offset labels, separators
    def set_offset_labeller(self, labeller: OffsetLabeller | None, header: str = "") -> None:
        """Label rows by ``labeller`` (e.g. virtual addresses) under the title ``header``;
        None restores plain offsets."""
        self.offset_labeller = labeller
        self._offset_header = header if labeller is not None else ""
        self._relayout()

    def set_segments(self, provider: SegmentsProvider | None) -> None:
        """Lay the shown document's rows out by ``provider()``'s segments (see row_layout),
        keeping the cursor on its screen row; None: plain rows."""
        screen_row = self.row_of(self._cursor) - self.top_row
        self.model.set_segments(provider)
        self._relayout()
        self.set_top_row(self.row_of(self._cursor) - screen_row)

    def offset_label(self, row: RowText) -> str:
        """The text of ``row``'s offset column (none on a separator row)."""
        if row.note is not None:
            return ""
        return row.offset_text if self.offset_labeller is None else self.offset_labeller(row.offset)

    def separators_on_screen(self) -> list[tuple[int, str]]:
        """(offset of the first byte below, note) of each separator row drawn now (for tests
        and accessibility)."""
        return [(row.offset, row.note) for row in self.model.row_texts() if row.note is not None]

    def _offset_digits(self) -> int:
        digits = offset_digits(self.size, self.model.offset_base)
        if self.offset_labeller is None or self.size == 0:
            return digits
        return max(len(self.offset_labeller(0)), len(self.offset_labeller(self.last_offset)))

    def _paint_separators(
        self, painter: QPainter, geometry: Geometry, rows: list[RowText], palette: QPalette
    ) -> None:
        """Each separator row: a band across the whole width, its note from the offset column
        on, and a dashed rule after the note (the gap holds no byte, so nothing is covered)."""
        right = max(geometry.width, self.viewport().width() + self.horizontalScrollBar().value())
        for index, row in enumerate(rows):
            if row.note is None:
                continue
            y = geometry.row_y(index)
            painter.fillRect(
                QRectF(0, y, right, geometry.line_height),
                palette.color(QPalette.ColorRole.AlternateBase),
            )
            accent = palette.color(QPalette.ColorRole.Highlight)
            painter.setPen(accent)
            painter.drawText(QPointF(geometry.offset_x, y + geometry.ascent), row.note)
            rule_x = geometry.offset_x + (len(row.note) + 1) * geometry.char_width
            middle = y + geometry.line_height / 2
            if rule_x < right:
                painter.setPen(QPen(accent, 1, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(rule_x, middle), QPointF(right, middle))

    # ----------------------------------------------------------------- hit testing
    def hit(self, position: QPointF) -> tuple[Pane, int] | None:
        """The pane and byte offset under a viewport position (clamped to the file and to the
        row's bytes); None over a separator row or when there is no byte."""
        if self.size == 0:
            return None
        geometry = self.layout_geometry
        x = position.x() + self.horizontalScrollBar().value()
        index = math.floor((position.y() - geometry.header_height) / geometry.line_height)
        layout = self.layout
        row = layout.row(min(max(self.top_row + index, 0), layout.total_rows - 1))
        if row.note is not None:
            return None  # a separator row: the gap holds no byte
        if x < geometry.text_x - geometry.char_width:
            pane, column = Pane.HEX, geometry.hex_column_at(x)
        else:
            pane, column = Pane.TEXT, geometry.text_column_at(x)
        return pane, row.offset + min(column, row.length - 1)

    def byte_rect(self, offset: int, pane: Pane) -> QRectF | None:
        """Where byte ``offset`` is drawn in ``pane`` (viewport coordinates), if on screen."""
        geometry = self.layout_geometry
        if not 0 <= offset < self.size:
            return None
        index = self.row_of(offset) - self.top_row
        if not 0 <= index <= self.page_rows:
            return None
        column = self.layout.column_of(offset)
        scroll = self.horizontalScrollBar().value()
        if pane is Pane.HEX:
            x, width = geometry.hex_column_x(column), 2 * geometry.char_width
        else:
            x, width = geometry.text_column_x(column), geometry.char_width
        return QRectF(x - scroll, geometry.row_y(index), width, geometry.line_height)

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        try:
            self.render_rows(painter)
        finally:
            painter.end()

    def render_rows(self, painter: QPainter) -> None:
        """Paint header, backgrounds and rows; everything drawn goes through ``painter``."""
        geometry = self.layout_geometry
        palette = self.palette()
        painter.fillRect(self.viewport().rect(), palette.color(QPalette.ColorRole.Base))
        painter.setFont(self.font())
        painter.translate(-self.horizontalScrollBar().value(), 0)
        self._paint_header(painter, geometry, palette)
        rows = self.model.row_texts()
        if not rows:
            return
        first, end = rows[0].offset, rows[-1].offset + rows[-1].length
        self._paint_highlights(painter, geometry, rows, first, end)
        self._paint_selection(painter, geometry, rows, palette)
        self._paint_text(painter, geometry, rows, palette)
        self._paint_cursor(painter, geometry, rows, palette)
        self._paint_separators(painter, geometry, rows, palette)

    def _dim_color(self, palette: QPalette) -> QColor:
        return palette.color(QPalette.ColorRole.PlaceholderText)

    def _paint_header(self, painter: QPainter, geometry: Geometry, palette: QPalette) -> None:
        baseline = geometry.ascent + 1
        painter.setPen(self._dim_color(palette))
        base = self._offset_header or ("offset" if self.model.offset_base == 16 else "decimal")
        painter.drawText(QPointF(geometry.offset_x, baseline), base)
        painter.drawText(QPointF(geometry.hex_x, baseline), geometry.header_hex)
        painter.drawText(QPointF(geometry.text_x, baseline), geometry.header_text)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        y = geometry.header_height - 2
        right = max(geometry.width, self.viewport().width() + self.horizontalScrollBar().value())
        painter.drawLine(QPointF(0, y), QPointF(right, y))
        bottom = self.viewport().height()
        for x in (geometry.hex_x - geometry.char_width, geometry.text_x - geometry.char_width):
            painter.drawLine(QPointF(x, 0), QPointF(x, bottom))

    def _range_rects(
        self, geometry: Geometry, rows: list[RowText], start: int, end: int
    ) -> Iterable[tuple[QRectF, QRectF]]:
        """Hex-pane and text-pane rectangles covering bytes [start, end) on screen, per row."""
        char = geometry.char_width
        for index, row in enumerate(rows):
            low = max(start, row.offset)
            high = min(end, row.offset + row.length)
            if low >= high:
                continue
            first, last = low - row.offset, high - 1 - row.offset
            y = geometry.row_y(index)
            hex_left = geometry.hex_column_x(first)
            hex_right = geometry.hex_column_x(last) + 2 * char
            text_left = geometry.text_column_x(first)
            text_right = geometry.text_column_x(last) + char
            yield (
                QRectF(hex_left, y, hex_right - hex_left, geometry.line_height),
                QRectF(text_left, y, text_right - text_left, geometry.line_height),
            )

    def _paint_highlights(
        self, painter: QPainter, geometry: Geometry, rows: list[RowText], first: int, end: int
    ) -> None:
        for highlighter in self._highlighters:
            for start, stop, color in highlighter(first, end):
                for hex_rect, text_rect in self._range_rects(geometry, rows, start, stop):
                    painter.fillRect(hex_rect, color)
                    painter.fillRect(text_rect, color)

    def _paint_selection(
        self, painter: QPainter, geometry: Geometry, rows: list[RowText], palette: QPalette
    ) -> None:
        start, end = self.selection
        if start == end:
            return
        color = QColor(palette.color(QPalette.ColorRole.Highlight))
        color.setAlpha(90)
        for hex_rect, text_rect in self._range_rects(geometry, rows, start, end):
            painter.fillRect(hex_rect, color)
            painter.fillRect(text_rect, color)

    def _paint_text(
        self, painter: QPainter, geometry: Geometry, rows: list[RowText], palette: QPalette
    ) -> None:
        dim = self._dim_color(palette)
        text = palette.color(QPalette.ColorRole.Text)
        offset_x, hex_x = geometry.offset_x, geometry.hex_x
        baseline = geometry.header_height + geometry.ascent
        line = geometry.line_height
        painter.setPen(dim)
        for index, row in enumerate(rows):
            painter.drawText(QPointF(offset_x, baseline + index * line), self.offset_label(row))
        if self.model.colour_classes:
            # One pen per byte class: a few drawText calls per row instead of one per byte.
            colours = byte_class_colours(palette)
            for kind, colour in enumerate(colours):
                painter.setPen(colour)
                for index, row in enumerate(rows):
                    for row_kind, line_text in row.class_lines:
                        if row_kind == kind:
                            painter.drawText(QPointF(hex_x, baseline + index * line), line_text)
        else:
            painter.setPen(text)
            for index, row in enumerate(rows):
                painter.drawText(QPointF(hex_x, baseline + index * line), row.line_text)
        error = self.model.read_error
        if error is not None:
            painter.setPen(ERROR_COLOR)
            painter.drawText(QPointF(hex_x, baseline), "(unreadable: re-checking the file…)")

    def _paint_cursor(
        self, painter: QPainter, geometry: Geometry, rows: list[RowText], palette: QPalette
    ) -> None:
        index = self.row_of(self._cursor) - self.top_row
        if not 0 <= index < len(rows):
            return
        row = rows[index]
        column = self._cursor - row.offset
        if column >= row.length:
            return
        hex_rect, text_rect = next(
            iter(self._range_rects(geometry, rows, self._cursor, self._cursor + 1))
        )
        solid, outlined = (hex_rect, text_rect) if self._pane is Pane.HEX else (text_rect, hex_rect)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if self._pane is Pane.HEX and self.nibble_cursor:
            # Edit mode: the digit that typing changes next is solid, its partner tinted.
            tint = QColor(highlight)
            tint.setAlpha(80)
            painter.fillRect(solid, tint)
            width = geometry.char_width
            solid = QRectF(solid.left() + self._nibble * width, solid.top(), width, solid.height())
        painter.fillRect(solid, highlight)
        painter.setPen(QPen(highlight, 1.5))
        painter.drawRect(outlined.adjusted(0.75, 0.75, -0.75, -0.75))
        if self._pane is Pane.HEX and self.nibble_cursor:
            char = geometry.hex_char(column) + self._nibble
            glyphs = row.hex_text[char]
            x = geometry.hex_column_x(column) + self._nibble * geometry.char_width
        elif self._pane is Pane.HEX:
            char = geometry.hex_char(column)
            glyphs, x = row.hex_text[char : char + 2], geometry.hex_column_x(column)
        else:
            glyphs, x = row.ascii_text[column], geometry.text_column_x(column)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
        painter.drawText(QPointF(x, solid.top() + geometry.ascent), glyphs)

    # ----------------------------------------------------------------- events
    def resizeEvent(self, event: QResizeEvent) -> None:
        cursor_row = self.row_of(self._cursor)
        was_visible = self.top_row <= cursor_row < self.top_row + self._laid_out_rows
        super().resizeEvent(event)
        self._relayout()
        if event.size().width() != event.oldSize().width():
            self.width_changed.emit(self.viewport().width())
        # A shrinking viewport (a message bar appeared) must not hide the cursor.
        if was_visible:
            self.ensure_visible(self._cursor)
        else:
            self.set_top_row(self.top_row)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.PaletteChange):
            self._relayout()

    def focusNextPrevChild(self, next_child: bool) -> bool:
        # Tab switches between the hex and text panes instead of leaving the grid.
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        combination = QKeyCombination(modifiers, Qt.Key(event.key()))
        method = self._key_bindings.get(QKeySequence(combination).toString())
        if method is None:
            if self.key_handler is not None and self.key_handler(event):
                event.accept()
                return
            super().keyPressEvent(event)
            return
        event.accept()
        getattr(self, method)()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if delta:
                self.zoom_requested.emit(1 if delta > 0 else -1)
            event.accept()
            return
        self._wheel_remainder += delta
        notches = int(self._wheel_remainder / WHEEL_STEP)
        if notches:
            self._wheel_remainder -= notches * WHEEL_STEP
            self.set_top_row(self.top_row - notches * QApplication.wheelScrollLines())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        hit = self.hit(event.position())
        if hit is None:
            return
        pane, offset = hit
        self.set_active_pane(pane)
        extend = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.set_cursor(offset, extend=extend)
        self._dragging = True

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Right click (or the Menu key): the window shows the action table's context menu.

        A right click outside the selection moves the cursor there first, as in text editors,
        so the menu acts on the byte under the mouse; inside it keeps the selection.
        """
        position = event.globalPos()
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            hit = self.hit(QPointF(self.viewport().mapFromGlobal(position)))
            start, end = self.selection
            if hit is not None and not start <= hit[1] < end:
                self.set_active_pane(hit[0])
                self.set_cursor(hit[1])
        else:
            rect = self.byte_rect(self._cursor, self._pane)
            if rect is not None:
                position = self.viewport().mapToGlobal(rect.bottomLeft().toPoint())
        event.accept()
        self.context_menu_requested.emit(position)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._dragging:
            return
        position = event.position()
        geometry = self.layout_geometry
        # Dragging past the top or bottom edge scrolls one row per move.
        if position.y() < geometry.header_height:
            self.set_top_row(self.top_row - 1)
        elif position.y() > self.viewport().height():
            self.set_top_row(self.top_row + 1)
        hit = self.hit(position)
        if hit is not None:
            self.set_cursor(hit[1], extend=True)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
        super().mouseReleaseEvent(event)
