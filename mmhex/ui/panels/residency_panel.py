"""Residency panel: which pages of the open file are in memory, live, and Touch/Evict/Lock on them.

The panel only draws ``ResidencySnapshot`` objects measured by ``mmhex.core.residency`` on the
worker's threads, a few times a second and only while it is visible; it never blocks scrolling.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.document import Document
from mmhex.core.process import Region
from mmhex.core.process_document import ProcessDocument
from mmhex.core.process_residency import PageCounts as ProcessPageCounts
from mmhex.core.process_residency import ProcessBuckets, ProcessResidency, ProcessSnapshot
from mmhex.core.progress import Progress
from mmhex.core.residency import (
    METHOD_CACHESTAT,
    PAGE_SIZE,
    ActionResult,
    BucketLayout,
    Buckets,
    DocumentResidency,
    PageCounts,
    ResidencySnapshot,
    human_bytes,
)
from mmhex.ui.actions import ActionSpec
from mmhex.ui.panels.residency_image import argb_per_state, cell_argb, grid_image
from mmhex.ui.panels.residency_worker import ResidencyWorker
from mmhex.ui.settings import open_settings
from mmhex.ui.touch_confirm import confirm_touch

# Fixed colours: they carry meaning (and the tests read them back from pixels).
NOT_RESIDENT = QColor("#dfe4ea")
RESIDENT = QColor("#1f6fd1")
DIRTY = QColor("#f08c00")
WRITEBACK = QColor("#ae3ec9")
PRIVATE = QColor("#2f9e44")
SWAPPED = QColor("#8f5b2e")
UNKNOWN = QColor("#a7a7a7")
RECENTLY_EVICTED = QColor("#e03131")
VIEW_FRAME = QColor("#111111")

INTERVALS_MS = (250, 500, 1000, 2000, 5000)
DEFAULT_INTERVAL_MS = 500
# While a save writes the file (and until its dirty pages are seen at zero, at most
# DRAIN_LIMIT_S after it ended) the panel refreshes this often: msync drains within seconds.
SAVE_INTERVAL_MS = 200
DRAIN_LIMIT_S = 30.0
MAX_PAGES_PER_CELL = 1 << 20
SCOPES = ("Whole file", "Selection", "Map range")
SCOPE_TIP = "What Touch, Evict, Lock and Unlock act on"
ERROR_STYLE = "QLabel { color: #c92a2a; }"
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum size"
HOVER_HINT = "Point at a cell for its byte range and counts; click it to go there."
PROCESS_ACTIONS_TIP = (
    "Touch, Evict and Lock act on a file's page cache; a process's pages belong to it "
    "(they are only shown here)."
)

AnyBuckets = Buckets | ProcessBuckets
AnySnapshot = ResidencySnapshot | ProcessSnapshot
AnyTracker = DocumentResidency | ProcessResidency


def mix(low: QColor, high: QColor, amount: float) -> QColor:
    amount = min(max(amount, 0.0), 1.0)
    return QColor(
        round(low.red() + (high.red() - low.red()) * amount),
        round(low.green() + (high.green() - low.green()) * amount),
        round(low.blue() + (high.blue() - low.blue()) * amount),
    )


def cell_color(counts: PageCounts, private: int = 0, touched: int = 0) -> QColor:
    """A cell's colour: shade of blue by the resident fraction; private copies, then dirty, then
    writeback pages override it; grey when the kernel will not say (blue again for pages this
    process holds).

    Writeback and dirty win over private copies: during a save the edited pages are both (the
    private copy stays until the save ends), and the save's progress is what must show.
    """
    pages = max(1, counts.pages)
    if counts.writeback:
        return mix(NOT_RESIDENT, WRITEBACK, 0.45 + 0.55 * counts.writeback / pages)
    if counts.dirty:
        return mix(NOT_RESIDENT, DIRTY, 0.45 + 0.55 * counts.dirty / pages)
    if private:
        return mix(NOT_RESIDENT, PRIVATE, 0.45 + 0.55 * private / pages)
    if counts.resident is None:
        if touched:
            return mix(UNKNOWN, RESIDENT, 0.45 + 0.55 * touched / pages)
        return UNKNOWN
    if counts.resident:
        return mix(NOT_RESIDENT, RESIDENT, 0.3 + 0.7 * counts.resident / pages)
    return NOT_RESIDENT


def _cell_rgb(counts: PageCounts, private: int, touched: int) -> int:
    return cell_color(counts, private, touched).rgb()


def process_cell_color(counts: ProcessPageCounts, unknown: int = 0) -> QColor:
    """A process cell's colour, by what most of its pages are: swapped (brown), present and
    file-backed (blue, as a file's cached page), present and anonymous (green, as a private
    copy); darker with more pages; light when none is in memory, grey when not counted.

    One page per cell shows each page's state exactly (soft-dirty is the grid's lower edge).
    """
    pages = max(1, counts.pages)
    if unknown >= pages:
        return UNKNOWN
    if counts.swapped > counts.present:
        return mix(NOT_RESIDENT, SWAPPED, 0.45 + 0.55 * counts.swapped / pages)
    if counts.present:
        color = RESIDENT if counts.file_backed >= counts.anonymous else PRIVATE
        return mix(NOT_RESIDENT, color, 0.3 + 0.7 * counts.present / pages)
    return NOT_RESIDENT


def _process_rgb(state: tuple[ProcessPageCounts, int]) -> int:
    return process_cell_color(*state).rgb()


def describe_process_counts(counts: ProcessPageCounts, unknown: int = 0) -> str:
    """One cell's or range's page states as a line of text."""
    if unknown >= counts.pages:
        return "not counted (region too large, or gone)"
    if counts.pages == 1:
        if counts.present or counts.swapped:
            where = "present" if counts.present else "swapped"
            kind = "file-backed" if counts.file_backed else "anonymous"
            text = f"{where}, {kind}"
        else:
            text = "not present"
        return text + (", soft-dirty" if counts.soft_dirty else "")
    return with_counts(
        f"{counts.present:,} of {counts.pages:,} pages present",
        ("swapped", counts.swapped),
        ("file-backed", counts.file_backed),
        ("anonymous", counts.anonymous),
        ("soft-dirty", counts.soft_dirty),
        ("not counted", unknown),
    )


def with_counts(text: str, *counts: tuple[str, int | None]) -> str:
    """``text`` followed by ' · name N' for each count that is not zero (or None)."""
    shown = [f"{name} {value:,}" for name, value in counts if value]
    return " · ".join([text, *shown])


def describe_counts(counts: PageCounts, private: int | None, touched: int | None) -> str:
    """The counts of one cell or range as a line of text."""
    if counts.resident is None:
        text = "residency unknown"
        if touched:
            text += f" · {touched:,} mapped by mmhex"
    elif counts.pages == 1:
        text = "resident" if counts.resident else "not resident"
    else:
        percent = 100 * counts.resident / counts.pages if counts.pages else 0.0
        text = f"{counts.resident:,} of {counts.pages:,} pages resident ({percent:.1f} %)"
    return with_counts(
        text,
        ("dirty", counts.dirty),
        ("writeback", counts.writeback),
        ("recently evicted", counts.recently_evicted),
        ("private copies", private),
    )


class PageGrid(QWidget):
    """Cells in rows, one per bucket of a Buckets object; the visible range is framed.

    The cells are drawn from one image computed when the buckets (a new snapshot) or the number
    of columns change; a paint draws that image and the frame. ``set_content`` with the same
    buckets and the same framed cells asks for no paint at all (a scroll within a cell).
    """

    cell_clicked = Signal(object)  # byte offset of the cell's first page
    menu_requested = Signal(object, QPoint)  # byte offset of the cell's first page, global pos
    hovered = Signal(str)  # text for the cell under the mouse ("" when it leaves)
    capacity_changed = Signal(int)

    MARGIN = 2

    def __init__(self, cell: int, rows: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell
        self.pitch = cell + 1
        self.minimum_rows = rows  # rows the size hint asks for; the minimum is one row
        self.buckets: AnyBuckets | None = None
        self.highlight: tuple[int, int] | None = None
        self.setMouseTracking(True)
        # One row at least, never the preferred height: a squeezed dock must not starve others.
        self.setMinimumHeight(self.pitch + 2 * self.MARGIN)
        self.setMinimumWidth(8 * self.pitch + 2 * self.MARGIN)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._capacity = 0
        self._framed: range = range(0)
        self._image: QImage | None = None
        self._image_key: tuple[object, ...] | None = None
        self._pixels: object = None  # owns the image's memory
        self.paints = 0  # paint events so far (tests check that idle refreshes cause none)
        # How a byte range is named in hover text (a process's map names addresses).
        self.range_text: Callable[[int, int], str] = offsets_text

    def sizeHint(self) -> QSize:
        return QSize(40 * self.pitch, self.minimum_rows * self.pitch + 2 * self.MARGIN)

    def columns(self) -> int:
        return max(1, (self.width() - 2 * self.MARGIN) // self.pitch)

    def rows(self) -> int:
        return max(1, (self.height() - 2 * self.MARGIN) // self.pitch)

    def capacity(self) -> int:
        return self.columns() * self.rows()

    def set_content(self, buckets: AnyBuckets | None, highlight: tuple[int, int] | None) -> None:
        framed = _framed_cells(buckets, highlight)
        self.highlight = highlight
        if buckets is self.buckets and framed == self._framed:
            return  # nothing on screen would change
        if buckets is not self.buckets:
            self._image = None
        self.buckets = buckets
        self._framed = framed
        self.update()

    def cell_rect(self, index: int) -> QRect:
        row, column = divmod(index, self.columns())
        return QRect(
            self.MARGIN + column * self.pitch,
            self.MARGIN + row * self.pitch,
            self.cell,
            self.cell,
        )

    def index_at(self, point: QPoint) -> int | None:
        if self.buckets is None:
            return None
        column = (point.x() - self.MARGIN) // self.pitch
        row = (point.y() - self.MARGIN) // self.pitch
        if point.x() < self.MARGIN or point.y() < self.MARGIN or column >= self.columns():
            return None
        index = row * self.columns() + column
        return index if 0 <= index < len(self.buckets) else None

    def hover_text(self, index: int) -> str:
        buckets = self.buckets
        if buckets is None or not 0 <= index < len(buckets):
            return ""
        start, end = buckets.layout.bucket_range(index)
        head = f"{self.range_text(start, end)} ({human_bytes(end - start)})"
        if isinstance(buckets, ProcessBuckets):
            counts = describe_process_counts(buckets.counts(index), buckets.unknown[index])
            return f"{head}: {counts}"
        private = None if buckets.private is None else buckets.private[index]
        touched = None if buckets.touched is None else buckets.touched[index]
        return f"{head}: {describe_counts(buckets.counts(index), private, touched)}"

    def _cells_image(self, buckets: AnyBuckets) -> QImage:
        """The image of the first ``capacity()`` cells, recomputed only when its key changes."""
        columns, shown = self.columns(), min(len(buckets), self.capacity())
        key = (columns, shown)
        if self._image is None or self._image_key != key:
            marks: tuple[int, ...] | None
            if isinstance(buckets, ProcessBuckets):
                states = ((buckets.counts(i), buckets.unknown[i]) for i in range(shown))
                argb = argb_per_state(states, _process_rgb)
                marks = buckets.soft_dirty[:shown]
                stripe = DIRTY.rgb() & 0xFFFFFF
            else:
                argb = cell_argb(buckets, _cell_rgb)[:shown]
                recent = buckets.recently_evicted
                marks = None if recent is None else recent[:shown]
                stripe = RECENTLY_EVICTED.rgb() & 0xFFFFFF
            self._image, self._pixels = grid_image(argb, marks, columns, self.cell, stripe)
            self._image_key = key
        return self._image

    # ------------------------------------------------------------- Qt events
    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        buckets = self.buckets
        if buckets is None or not len(buckets):
            return
        painter = QPainter(self)
        painter.drawImage(self.MARGIN, self.MARGIN, self._cells_image(buckets))
        painter.setPen(VIEW_FRAME)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        framed = range(self._framed.start, min(self._framed.stop, self.capacity()))
        columns = self.columns()
        # One outline per row of framed cells, not one per cell.
        index = framed.start
        while index < framed.stop:
            row_end = min(framed.stop, (index // columns + 1) * columns)
            first, last = self.cell_rect(index), self.cell_rect(row_end - 1)
            painter.drawRect(QRect(first.topLeft(), last.bottomRight()).adjusted(-1, -1, 0, 0))
            index = row_end

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        capacity = self.capacity()
        if capacity != self._capacity:
            self._capacity = capacity
            self.capacity_changed.emit(capacity)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.index_at(event.position().toPoint())
        self.hovered.emit("" if index is None else self.hover_text(index))

    def leaveEvent(self, event: QEvent) -> None:
        self.hovered.emit("")
        super().leaveEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.index_at(event.pos())
        if index is None or self.buckets is None:
            event.ignore()  # the panel's own menu
            return
        self.menu_requested.emit(self.buckets.layout.bucket_range(index)[0], event.globalPos())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.index_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index is not None:
            assert self.buckets is not None
            self.cell_clicked.emit(self.buckets.layout.bucket_range(index)[0])
            return
        super().mousePressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.index_at(event.pos())
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(
                    event.globalPos(), self.hover_text(index), self, self.cell_rect(index)
                )
            return True
        return super().event(event)


class _FillLayout(QVBoxLayout):
    """A column that fills the scroll area's viewport instead of its preferred height.

    With word-wrapped labels a layout reports height-for-width, and QScrollArea then sizes the
    content at its preferred height, taller than the dock: the legend and the buttons scrolled out
    of sight on a 768-pixel screen. Without it the content is the viewport's height (or its
    minimum, scrolling only then) and the per-page map takes what is left.
    """

    def hasHeightForWidth(self) -> bool:
        return False


class LiveLine(QWidget):
    """One line of text that changes on every refresh (faults, timing) without re-laying out.

    A QLabel asks its parent layout to recompute every geometry on each setText; with two such
    lines changing twice a second that was most of the idle panel's cost. This line has a fixed
    height, ignores its text's width (elides it, the whole text in the tooltip) and only repaints.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 2)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setToolTip(text)
            self.update()

    def clear(self) -> None:
        self.setText("")

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().averageCharWidth() * 30, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        metrics = self.fontMetrics()
        shown = metrics.elidedText(self._text, Qt.TextElideMode.ElideRight, self.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignVCenter, shown)


def offsets_text(start: int, end: int) -> str:
    """A file's byte range as the hover line names it."""
    return f"{start:#x}–{end - 1:#x}"


def _framed_cells(buckets: AnyBuckets | None, highlight: tuple[int, int] | None) -> range:
    """The cells of ``buckets`` that hold any byte of ``highlight`` (the bytes on screen)."""
    if buckets is None or highlight is None or not len(buckets):
        return range(0)
    start, end = highlight
    layout = buckets.layout
    if end <= layout.start or start >= layout.end:
        return range(0)
    first = layout.bucket_of(max(start, layout.start))
    last = layout.bucket_of(max(start, min(end, layout.end) - 1))
    return range(first, last + 1)


# (colour, legend text, what it means) for a file's page cache.
FILE_LEGEND = (
    (RESIDENT, "resident", "In the page cache (darker: more of the cell's pages)"),
    (NOT_RESIDENT, "not resident", "Not in memory: reading it costs a trip to the disk"),
    (UNKNOWN, "unknown", "The kernel will not say for this file (neither writable nor owned)"),
    (DIRTY, "dirty", "Written in the page cache, not yet on disk (a save fills and drains them)"),
    (WRITEBACK, "writeback", "Being written to the disk right now"),
    (PRIVATE, "private copy", "An unsaved edit: mmhex's own copy of the page (MAP_PRIVATE)"),
    (
        RECENTLY_EVICTED,
        "recently evicted (lower edge)",
        "Pages the kernel dropped from the cache a short while ago",
    ),
)


# The same for a process's pages (pagemap): blue and green mean what they mean for a file.
PROCESS_LEGEND = (
    (
        RESIDENT,
        "present, file or shared",
        "In RAM, a page of a mapped file's cache, or shared memory (pagemap's file bit)",
    ),
    (PRIVATE, "present, anonymous", "In RAM, the process's own memory (heap, stack, copies)"),
    (SWAPPED, "swapped", "Moved out to swap"),
    (NOT_RESIDENT, "not present", "Never touched, or dropped: the next access faults it in"),
    (UNKNOWN, "not counted", "A region too large to read quickly, or gone since the maps"),
    (DIRTY, "soft-dirty (lower edge)", "Written since the soft-dirty bits were last cleared"),
)


def _legend_item(color: QColor, text: str, parent: QWidget, tip: str = "") -> QLabel:
    label = QLabel(parent)
    label.setText(f'<span style="color:{color.name()}; font-size:large">■</span>&nbsp;{text}')
    label.setToolTip(tip)
    return label


def _legend_grid(
    items: tuple[tuple[QColor, str, str], ...], parent: QWidget, columns: int = 3
) -> QWidget:
    """``columns`` colours to a row; the last item takes the rest of its row (it may be long)."""
    box = QWidget(parent)
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(10)
    grid.setVerticalSpacing(0)
    for index, (color, text, tip) in enumerate(items):
        span = columns - index % columns if index == len(items) - 1 else 1
        row, column = divmod(index, columns)
        grid.addWidget(_legend_item(color, text, box, tip), row, column, 1, span)
    grid.setColumnStretch(columns, 1)
    return box


@dataclass
class TabContext:
    """One tab's residency, kept while another tab is shown so that it comes back at once.

    Issue 12: each tab keeps its "Act on" scope, its zoom, its tracker (with its probe and any
    locked ranges) and its last snapshot; a closed tab's context is dropped.
    """

    document: object
    tracker: AnyTracker
    snapshot: AnySnapshot | None
    scope: str
    pages_per_cell: int
    action_text: str
    action_failed: bool


class ResidencyPanel(QWidget):
    """The dock panel. Wire it with set_document / set_visible_range / set_selection and
    jump_requested (see ``install``)."""

    jump_requested = Signal(object)  # byte offset (64-bit) the user clicked
    open_mapped_requested = Signal(object)  # a process's document offset: open the file there
    interval_changed = Signal(int)  # milliseconds, for the caller to remember
    paused_changed = Signal(bool)
    compact_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, force_mincore: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("ResidencyPanel")
        self.force_mincore = force_mincore
        self.document: Document | ProcessDocument | None = None
        self.tracker: AnyTracker | None = None
        self.snapshot: AnySnapshot | None = None
        self.visible_range = (0, 0)
        self.selection = (0, 0)
        self.pages_per_cell = 1
        self.paused = False
        self._retired: list[AnyTracker] = []
        # Other tabs' contexts by id(document); kept only when the window says when a tab
        # closes (``keep_tab_state``, set by install), or they would outlive their documents.
        self.keep_tab_state = False
        self._contexts: dict[int, TabContext] = {}
        self._closed = False
        self._quiet_until = 0.0  # timer ticks before this are skipped (slow probes)
        self._pending = False  # a refresh was asked for while one was running
        self._watched_window: QWidget | None = None
        self.compact = False
        self.is_process = False  # the shown document is a process (pagemap, no actions)
        self.has_file = False  # the shown document is a file: Touch, Evict, Lock apply
        self.saving = False  # a save of the shown document is writing the file
        self._interval_ms = DEFAULT_INTERVAL_MS  # the user's choice (a save refreshes faster)
        self._drain_until = 0.0  # after a save: follow it closely until then, or until clean
        self._save_ended_at = 0.0

        self.worker = ResidencyWorker(self)
        # A panel deleted without shutdown() (its window closed) must not leave jobs running:
        # destroyed() is emitted before the worker child is deleted.
        worker = self.worker
        self.destroyed.connect(lambda: worker.shutdown())
        self.worker.snapshot_ready.connect(self._on_snapshot)
        self.worker.refresh_failed.connect(self._on_refresh_failed)
        self.worker.action_finished.connect(self._on_action_finished)
        self.worker.action_failed.connect(self._on_action_failed)
        self.worker.action_progress.connect(self._on_action_progress)

        self.timer = QTimer(self)
        self.timer.setInterval(DEFAULT_INTERVAL_MS)
        self.timer.timeout.connect(self._on_tick)

        self._build()
        self._follow_kind(None)
        self._show_idle("No file open.")

    # ------------------------------------------------------------- layout
    def _build(self) -> None:
        """Messages first, maps (the one stretching part), then the controls along the bottom.

        Everything between the maps and the controls keeps its height, and every message sits
        above the controls, so a message appearing shrinks the map instead of moving a button
        under the mouse. The content scrolls when the dock is squeezed below it: the panel never
        holds a minimum size that starves the other docks.
        """
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll)
        content = QWidget(self.scroll)
        self.scroll.setWidget(content)
        layout = _FillLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)

        self.file_label = QLabel(self)
        self.file_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.file_label.font()
        font.setBold(True)
        self.file_label.setFont(font)
        self.totals_label = QLabel(self)
        self.extras_label = QLabel(self)
        self.private_label = QLabel(self)
        self.unknown_label = QLabel(self)
        self.unknown_label.setWordWrap(True)
        self.unknown_label.setStyleSheet(
            "QLabel { background: #fff3bf; color: #5c3c00; border-radius: 3px; padding: 4px; }"
        )
        self.faults_label = LiveLine(self)
        for label in (
            self.file_label,
            self.totals_label,
            self.extras_label,
            self.private_label,
        ):
            label.setWordWrap(True)
        layout.addWidget(self.file_label)
        layout.addWidget(self.totals_label)
        # The lines show_snapshot shows or hides one by one; compact hides them all at once.
        self.info_box = QWidget(self)
        info = QVBoxLayout(self.info_box)
        info.setContentsMargins(0, 0, 0, 0)
        info.setSpacing(4)
        for label in (self.extras_label, self.private_label, self.unknown_label, self.faults_label):
            info.addWidget(label)
        layout.addWidget(self.info_box)

        self.overview_caption = QLabel("Whole file", self)
        layout.addWidget(self.overview_caption)
        self.overview = PageGrid(6, 10, self)
        self.overview.setObjectName("overview")
        # Up to its ten preferred rows, down to one: shrinks before anything else is squeezed.
        self.overview.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        layout.addWidget(self.overview)

        zoom_row = QHBoxLayout()
        self.detail_caption = QLabel(self)
        self.zoom_out_button = QToolButton(self)
        self.zoom_out_button.setText("−")
        self.zoom_out_button.setToolTip("More pages per cell")
        self.zoom_out_button.clicked.connect(
            lambda: self.set_pages_per_cell(self.pages_per_cell * 2)
        )
        self.zoom_in_button = QToolButton(self)
        self.zoom_in_button.setText("+")
        self.zoom_in_button.setToolTip("Fewer pages per cell (down to one 4 KiB page)")
        self.zoom_in_button.clicked.connect(
            lambda: self.set_pages_per_cell(self.pages_per_cell // 2)
        )
        zoom_row.addWidget(self.detail_caption, 1)
        zoom_row.addWidget(self.zoom_out_button)
        zoom_row.addWidget(self.zoom_in_button)
        self.zoom_row = QWidget(self)
        self.zoom_row.setLayout(zoom_row)
        zoom_row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.zoom_row)
        self.detail = PageGrid(9, 8, self)
        self.detail.setObjectName("detail")
        self.detail.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout.addWidget(self.detail, 1)

        self.hover_label = QLabel(self)
        self.hover_label.setWordWrap(True)
        self.hover_label.setMinimumHeight(self.hover_label.fontMetrics().height() * 2)
        self.hover_label.setText(HOVER_HINT)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.hover_label)
        for grid in (self.overview, self.detail):
            grid.range_text = self.range_text
            grid.menu_requested.connect(self._show_grid_menu)
            grid.cell_clicked.connect(self.jump_requested)
            grid.hovered.connect(self._on_hovered)
            grid.capacity_changed.connect(self._on_capacity_changed)

        legend = QGridLayout()
        legend.setContentsMargins(0, 0, 0, 0)
        self.legend = QWidget(self)
        self.legend.setLayout(legend)
        self.file_legend = _legend_grid(FILE_LEGEND, self)
        self.process_legend = _legend_grid(PROCESS_LEGEND, self, columns=2)
        self.process_legend.hide()
        legend.addWidget(self.file_legend, 0, 0)
        legend.addWidget(self.process_legend, 1, 0)
        layout.addWidget(self.legend)

        # The outcome of Touch/Evict/Lock: above the buttons, so its lines never push them.
        self.action_label = QLabel(self)
        self.action_label.setWordWrap(True)
        layout.addWidget(self.action_label)

        self.controls = QWidget(self)
        controls = QVBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(4)
        scope_row = QHBoxLayout()
        scope_row.addWidget(QLabel("Act on", self))
        actions = QHBoxLayout()
        self.scope_box = QComboBox(self)
        self.scope_box.addItems(SCOPES)
        self.scope_box.setToolTip(SCOPE_TIP)
        self.touch_button = QToolButton(self)
        self.touch_button.setText("Touch")
        self.touch_button.setToolTip("Read every page once, so it is in memory")
        self.touch_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        touch_menu = QMenu(self.touch_button)
        touch_menu.addAction(
            "Read ahead in the background (MADV_WILLNEED)", lambda: self.run_action("read ahead")
        )
        self.touch_button.setMenu(touch_menu)
        self.touch_button.clicked.connect(lambda: self.run_action("touch"))
        self.evict_button = QPushButton("Evict", self)
        self.evict_button.setToolTip("Drop clean pages from the page cache (POSIX_FADV_DONTNEED)")
        self.evict_button.clicked.connect(lambda: self.run_action("evict"))
        self.lock_button = QPushButton("Lock", self)
        self.lock_button.setToolTip("Keep pages in memory (mlock) until Unlock")
        self.lock_button.clicked.connect(lambda: self.run_action("lock"))
        self.unlock_button = QPushButton("Unlock", self)
        self.unlock_button.clicked.connect(lambda: self.run_action("unlock"))
        self.unlock_button.setToolTip("Let locked pages go (munlock)")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.worker.cancel_action)
        # Each action's own tooltip, for when a process (which they cannot act on) is gone.
        self._action_tips = {
            button: button.toolTip()
            for button in (
                self.touch_button,
                self.evict_button,
                self.lock_button,
                self.unlock_button,
            )
        }
        # Hidden, it keeps its place: showing it moves no other button.
        policy = self.cancel_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.cancel_button.setSizePolicy(policy)
        self.cancel_button.hide()
        scope_row.addWidget(self.scope_box, 1)
        controls.addLayout(scope_row)
        for button in (
            self.touch_button,
            self.evict_button,
            self.lock_button,
            self.unlock_button,
            self.cancel_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        controls.addLayout(actions)

        refresh = QHBoxLayout()
        refresh.addWidget(QLabel("Refresh every", self))
        self.interval_box = QComboBox(self)
        for msecs in INTERVALS_MS:
            self.interval_box.addItem(f"{msecs / 1000:g} s", msecs)
        self.interval_box.setCurrentIndex(INTERVALS_MS.index(DEFAULT_INTERVAL_MS))
        self.interval_box.currentIndexChanged.connect(
            lambda index: self.set_interval(self.interval_box.itemData(index))
        )
        self.pause_button = QToolButton(self)
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        self.status_label = LiveLine(self)  # one line whatever it says: never lifts the row
        refresh.addWidget(self.interval_box)
        refresh.addWidget(self.pause_button)
        refresh.addWidget(self.status_label, 1)
        controls.addLayout(refresh)
        layout.addWidget(self.controls)
        # Takes the room nothing else wants: in the compact form, the strip and totals stay on top.
        layout.addStretch(0)
        # In the compact form only the whole-file strip and the totals line stay.
        self._full_only = (
            self.file_label,
            self.info_box,
            self.overview_caption,
            self.zoom_row,
            self.detail,
            self.hover_label,
            self.legend,
            self.action_label,
            self.controls,
        )
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.compact_action = QAction("Compact (one strip and the totals)", self)
        self.compact_action.setCheckable(True)
        self.compact_action.toggled.connect(self.set_compact)
        self.addAction(self.compact_action)
        self._update_detail_caption()

    # ------------------------------------------------------------- public API
    def set_document(self, document: Document | ProcessDocument | None) -> None:
        """Follow ``document`` (None: nothing open). Safe while a refresh is running.

        The same document again (the window re-announces it after a reload) measures anew.
        A document shown before (another tab's) comes back with its context: its last snapshot
        is drawn at once, its scope and zoom restored, and a new measurement starts. A process
        shows its pages from pagemap; the actions, which act on a file's cache, are disabled.
        """
        if document is self.document:
            self.refresh_now()
            return
        self._put_away_context()
        self.document = document
        context = self._contexts.pop(id(document), None) if document is not None else None
        if context is not None and context.document is not document:
            self._retired.append(context.tracker)  # an id reused by a new object
            context = None
        self._follow_kind(document)
        if context is None:
            self.tracker = None if document is None else self._tracker_for(document)
            self.snapshot = None
            self.scope_box.setCurrentIndex(0)
            self.pages_per_cell = 1
            self.action_label.clear()
            self.action_label.setStyleSheet("")
        else:
            self.tracker = context.tracker
            self.snapshot = context.snapshot
            self.scope_box.setCurrentText(context.scope)
            self.pages_per_cell = context.pages_per_cell
            self.action_label.setText(context.action_text)
            self.action_label.setStyleSheet(ERROR_STYLE if context.action_failed else "")
        self._update_detail_caption()
        self._close_retired()
        if document is None:
            self._show_idle("No file open.")
            return
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)
        else:
            self._show_idle("Measuring…")
        self.refresh_now(full=True)

    def forget_document(self, document: object) -> None:
        """A tab closed: drop what was kept for it (its tracker is closed once idle)."""
        if document is self.document:
            self.set_document(None)
        context = self._contexts.pop(id(document), None)
        if context is not None:
            self._retired.append(context.tracker)
            self._close_retired()

    def _put_away_context(self) -> None:
        """Keep the shown document's context for when its tab comes back (or retire it)."""
        if self.tracker is None:
            return
        if self.keep_tab_state and self.document is not None:
            self._contexts[id(self.document)] = TabContext(
                self.document,
                self.tracker,
                self.snapshot,
                self.scope_box.currentText(),
                self.pages_per_cell,
                self.action_label.text(),
                self.action_label.styleSheet() == ERROR_STYLE,
            )
        else:
            self._retired.append(self.tracker)
        self.tracker = None

    def _tracker_for(self, document: Document | ProcessDocument) -> AnyTracker:
        if isinstance(document, ProcessDocument):
            return ProcessResidency(document)
        return DocumentResidency(document, force_mincore=self.force_mincore)

    def _follow_kind(self, document: object) -> None:
        """A process's pages, a file's, or nothing: the legend and which actions apply (none
        in an empty window; for a process, none either, and their tooltips say why)."""
        process = isinstance(document, ProcessDocument)
        self.is_process = process
        self.has_file = document is not None and not process
        self.file_legend.setVisible(not process)
        self.process_legend.setVisible(process)
        self.scope_box.setEnabled(self.has_file)
        self.scope_box.setToolTip(PROCESS_ACTIONS_TIP if process else SCOPE_TIP)
        for button, tip in self._action_tips.items():
            button.setEnabled(self.has_file and not self.worker.acting)
            button.setToolTip(PROCESS_ACTIONS_TIP if process else tip)

    def set_visible_range(self, start: int, end: int) -> None:
        """The bytes on screen in the grid; framed in both maps, centre of the per-page map."""
        self.visible_range = self._file_range(int(start), int(end))
        if self.snapshot is not None:
            self._draw_grids(self.snapshot)

    def set_selection(self, start: int, end: int) -> None:
        self.selection = self._file_range(min(start, end), max(start, end))

    def _file_range(self, start: int, end: int) -> tuple[int, int]:
        """Document offsets → the file's: after an insert or delete they differ (issue 11).

        Bytes that were all inserted live in anonymous memory, not in the file's pages: an
        empty range where they would go.
        """
        document = self.document
        if document is None or not getattr(document, "layout_changed", False):
            return start, end
        span = document.file_span(start, end)
        if span is not None:
            return span
        after = document.file_span(start, document.size)
        at = after[0] if after is not None else document.mapped.size
        return at, at

    def set_interval(self, msecs: int) -> None:
        msecs = int(msecs)
        self._interval_ms = msecs
        self._apply_interval()
        index = self.interval_box.findData(msecs)
        if index >= 0 and index != self.interval_box.currentIndex():
            self.interval_box.setCurrentIndex(index)
        self.interval_changed.emit(msecs)
        self._update_timer()

    def set_saving(self, saving: bool) -> None:
        """A save of the shown document started (True) or ended (False).

        Meanwhile the panel refreshes every SAVE_INTERVAL_MS, so the file's dirty and writeback
        pages are seen appearing and falling to zero as msync works; after the save it goes on
        until a refresh measured after the end shows none (at most DRAIN_LIMIT_S), then returns
        to the chosen interval.
        """
        self.saving = bool(saving)
        if self.saving:
            self._drain_until = 0.0
        else:
            self._save_ended_at = time.monotonic()
            self._drain_until = self._save_ended_at + DRAIN_LIMIT_S
        self._apply_interval()
        self._quiet_until = 0.0
        if not self.paused:
            self.refresh_now(full=True)
        self._update_status()

    @property
    def following_save(self) -> bool:
        """True while the fast refresh of a save is on."""
        return self.saving or time.monotonic() < self._drain_until

    def _apply_interval(self) -> None:
        msecs = (
            min(SAVE_INTERVAL_MS, self._interval_ms) if self.following_save else self._interval_ms
        )
        if self.timer.interval() != msecs:
            self.timer.setInterval(msecs)

    def _after_save_snapshot(self, snapshot: AnySnapshot) -> None:
        """End the fast refresh once a snapshot begun after the save shows nothing dirty."""
        if self.saving or not self._drain_until or isinstance(snapshot, ProcessSnapshot):
            return
        began = time.monotonic() - snapshot.seconds
        totals = snapshot.totals
        clean = not totals.dirty and not totals.writeback
        if (clean and began >= self._save_ended_at) or time.monotonic() >= self._drain_until:
            self._drain_until = 0.0
            self._apply_interval()

    def set_paused(self, paused: bool) -> None:
        self.paused = bool(paused)
        if self.pause_button.isChecked() != self.paused:
            self.pause_button.setChecked(self.paused)
        self._update_timer()
        self._update_status()
        self.paused_changed.emit(self.paused)

    def set_pages_per_cell(self, pages: int) -> None:
        self.pages_per_cell = min(max(1, pages), MAX_PAGES_PER_CELL)
        self._update_detail_caption()
        self.refresh_now(full=True)

    def set_compact(self, compact: bool) -> None:
        """One strip of the whole file and one line of totals (True), or everything (False)."""
        compact = bool(compact)
        if self.compact_action.isChecked() != compact:
            self.compact_action.setChecked(compact)  # toggled() calls back here
            return
        if compact == self.compact:
            return
        self.compact = compact
        for widget in self._full_only:
            widget.setVisible(not compact)
        self.overview.setMaximumHeight(
            self.overview.minimumHeight() if compact else QWIDGETSIZE_MAX
        )
        self.totals_label.setWordWrap(not compact)
        self.compact_changed.emit(compact)
        if compact:
            self._shrink_dock()
        self.refresh_now(full=True)

    def _shrink_dock(self) -> None:
        """Give the room the compact form frees to the docks beside it."""
        dock = self.parentWidget()
        main = dock.parentWidget() if dock is not None else None
        if isinstance(dock, QDockWidget) and isinstance(main, QMainWindow):
            content = self.scroll.widget().minimumSizeHint().height()
            title = dock.height() - self.height()
            main.resizeDocks([dock], [content + max(0, title)], Qt.Orientation.Vertical)

    def toggle_compact(self) -> None:
        """View ▸ Panels ▸ Compact Residency Panel."""
        self.set_compact(not self.compact)

    def refresh_now(self, *, full: bool = False) -> None:
        """Measure once more, off the UI thread, unless a refresh is already running.

        ``full`` measures every bucket even when the file's totals did not change (after an
        action). The timer (not this) stops while the panel cannot be seen.
        """
        if self.tracker is None or self._closed:
            return
        request = self.snapshot_request()
        request["full"] = full
        # When one is running, measure again as soon as it ends (the document or view changed).
        self._pending = not self.worker.refresh(self.tracker, request)

    def _on_screen(self) -> bool:
        return self.isVisible() and not self.window().isMinimized()

    def _on_tick(self) -> None:
        # A slow probe (mincore over a huge file) refreshes less often instead of queueing up.
        if time.monotonic() >= self._quiet_until:
            self.refresh_now()

    def snapshot_request(self) -> dict[str, Any]:
        size = (
            self.snapshot.size
            if self.snapshot is not None
            else (self.document.size if self.document is not None else 0)
        )
        return {
            "overview_buckets": max(1, self.overview.capacity()),
            "detail": None if self.compact else self.detail_layout(size),
            "visible": self.visible_range,
        }

    def detail_layout(self, size: int) -> BucketLayout:
        """The per-page map's range: whole rows of cells, the view about a third of the way down."""
        columns, rows = self.detail.columns(), self.detail.rows()
        row_bytes = columns * self.pages_per_cell * PAGE_SIZE
        anchor = self.visible_range[0]
        start = anchor - anchor % row_bytes - (rows // 3) * row_bytes
        last_start = max(0, size - rows * row_bytes)
        last_start += -last_start % row_bytes
        start = max(0, min(start, last_start))
        end = min(size, start + rows * row_bytes)
        return BucketLayout(start, max(start, end), self.pages_per_cell)

    def show_snapshot(self, snapshot: AnySnapshot) -> None:
        """Draw ``snapshot`` (what every refresh ends with; tests call it directly)."""
        self.snapshot = snapshot
        if isinstance(snapshot, ProcessSnapshot):
            self._show_process_snapshot(snapshot)
            return
        self.file_label.setText(os.path.basename(snapshot.path) or snapshot.path)
        totals = snapshot.totals
        if totals.resident is None:
            self.totals_label.setText(
                f"Resident: unknown · {totals.pages:,} pages · {human_bytes(snapshot.size)}"
            )
        else:
            percent = 100 * totals.resident / totals.pages if totals.pages else 0.0
            self.totals_label.setText(
                f"Resident: {totals.resident:,} of {totals.pages:,} pages · "
                f"{human_bytes(totals.resident * PAGE_SIZE)} of {human_bytes(snapshot.size)} · "
                f"{percent:.1f} %"
            )
        if snapshot.method == METHOD_CACHESTAT and totals.dirty is not None:
            self.extras_label.setText(
                f"Dirty {totals.dirty:,} · writeback {totals.writeback:,} · evicted "
                f"{totals.evicted:,} · recently evicted {totals.recently_evicted:,}"
            )
            self.extras_label.show()
        else:
            self.extras_label.setText("Dirty/writeback counts need cachestat (Linux ≥ 6.5).")
            self.extras_label.setVisible(snapshot.known)
        if snapshot.private_pages is not None:
            self.private_label.setText(
                f"Private copies (unsaved edits in memory): {snapshot.private_pages:,} pages"
            )
            self.private_label.show()
        else:
            self.private_label.hide()
        if snapshot.known:
            self.unknown_label.hide()
        else:
            mapped = snapshot.touched_pages
            extra = (
                f" Pages mapped by mmhex itself (known resident): {mapped:,}."
                if mapped is not None
                else ""
            )
            self.unknown_label.setText(f"Residency unknown. {snapshot.unknown_reason}{extra}")
            self.unknown_label.show()
        faults = snapshot.faults
        delta = snapshot.fault_delta
        major_delta = f" (+{delta.major:,})" if delta is not None else ""
        minor_delta = f" (+{delta.minor:,})" if delta is not None else ""
        locked = (
            f" · locked by mmhex {human_bytes(snapshot.locked_bytes)}"
            if snapshot.locked_bytes
            else ""
        )
        self.faults_label.show()
        self.faults_label.setText(
            f"Page faults of mmhex: major {faults.major:,}{major_delta} · minor "
            f"{faults.minor:,}{minor_delta}{locked}"
        )
        self._draw_grids(snapshot)
        self._update_status()

    def _show_process_snapshot(self, snapshot: ProcessSnapshot) -> None:
        """A process's pages: present of the folded address space, and how they live."""
        self.file_label.setText(snapshot.path)
        totals = snapshot.totals
        percent = 100 * totals.present / totals.pages if totals.pages else 0.0
        self.totals_label.setText(
            f"Present: {totals.present:,} of {totals.pages:,} pages · "
            f"{human_bytes(totals.present * PAGE_SIZE)} of {human_bytes(snapshot.size)} · "
            f"{percent:.1f} %"
        )
        self.extras_label.setText(
            f"Swapped {totals.swapped:,} · file-backed {totals.file_backed:,} · anonymous "
            f"{totals.anonymous:,} · soft-dirty {totals.soft_dirty:,}"
        )
        self.extras_label.show()
        self.private_label.hide()
        self.faults_label.hide()
        self.unknown_label.setText(snapshot.note)
        self.unknown_label.setVisible(bool(snapshot.note))
        self._draw_grids(snapshot)
        self._update_status()

    def shutdown(self) -> None:
        """Stop refreshing, cancel a running action, wait for the threads, close probes."""
        self._closed = True
        self.timer.stop()
        self.worker.shutdown()
        if self.tracker is not None:
            self._retired.append(self.tracker)
            self.tracker = None
        self._retired.extend(context.tracker for context in self._contexts.values())
        self._contexts.clear()
        self._close_retired()

    # ------------------------------------------------------------- a cell's menu
    def range_text(self, start: int, end: int) -> str:
        """A map cell's bytes as hover text names them: offsets, or a process's addresses and
        the region (its file, [heap], [anon], ...) the first of them lies in."""
        document = self.document
        if not isinstance(document, ProcessDocument) or not 0 <= start < end <= document.size:
            return offsets_text(start, end)
        first, last = document.address_of(start), document.address_of(end - 1)
        region = self.region_at(start)
        where = "" if region is None else f" {region.kind}"
        if region is not None and last >= region.end:
            where += " and after"
        return f"{first:#x}–{last:#x}{where}"

    def region_at(self, offset: int) -> Region | None:
        """The readable region of the shown process holding document ``offset``."""
        document = self.document
        if not isinstance(document, ProcessDocument) or not 0 <= offset < document.size:
            return None
        space = document.space
        return space.readable[space.region_index(offset)]

    def grid_menu(self, offset: int) -> QMenu:
        """The map's context menu for the cell starting at ``offset``: go there, and for a
        process's file-backed page, open that file at the mapped offset in a new tab."""
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        menu.addAction(f"Go to {self.range_text(offset, offset + 1)}").triggered.connect(
            lambda: self.jump_requested.emit(offset)
        )
        region = self.region_at(offset)
        if region is not None:
            document = self.document
            assert isinstance(document, ProcessDocument)
            if region.file_backed:
                file_offset = region.offset + document.address_of(offset) - region.start
                text = f"Open Mapped File: {os.path.basename(region.path)} at {file_offset:#x}"
                item = menu.addAction(text)
                item.setToolTip(f"{region.path}, in a new tab, where its page cache shows")
                item.triggered.connect(lambda: self.open_mapped_requested.emit(offset))
            else:
                item = menu.addAction("Open Mapped File")
                item.setEnabled(False)
                item.setToolTip(f"No file backs {region.kind}")
        menu.addSeparator()
        menu.addAction(self.compact_action)
        return menu

    def _show_grid_menu(self, offset: int, position: QPoint) -> None:
        menu = self.grid_menu(offset)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(position)  # not exec(): no nested event loop while the maps refresh

    # ------------------------------------------------------------- actions
    def action_range(self) -> tuple[int, int]:
        scope = self.scope_box.currentText()
        size = (
            self.snapshot.size
            if self.snapshot is not None
            else (self.document.size if self.document is not None else 0)
        )
        if scope == "Selection" and self.selection[1] > self.selection[0]:
            return self.selection
        if scope == "Map range":
            layout = self.detail_layout(size)
            return layout.start, layout.end
        return 0, size

    def run_action(self, name: str) -> bool:
        """Start Touch/Read ahead/Evict/Lock/Unlock on the chosen scope, off the UI thread."""
        tracker = self.tracker
        if not isinstance(tracker, DocumentResidency):
            return False  # nothing open, or a process (the buttons say why)
        start, end = self.action_range()
        if self.scope_box.currentText() == "Selection" and self.selection[1] <= self.selection[0]:
            self.action_label.setText("Nothing is selected: acting on the whole file.")
        if name in ("touch", "read ahead") and not confirm_touch(
            self, tracker.document, start, end
        ):
            return False  # a big range: the user said no (mmhex.ui.touch_confirm)

        def action(progress: Progress) -> ActionResult:
            if name == "touch":
                return tracker.touch(start, end, progress=progress)
            if name == "read ahead":
                return tracker.read_ahead(start, end, progress=progress)
            if name == "evict":
                return tracker.evict(start, end)
            if name == "lock":
                return tracker.lock(start, end)
            return tracker.unlock(start, end)

        if not self.worker.act(action, max(1, end - start)):
            return False
        self._set_acting(True, name)
        return True

    def _set_acting(self, acting: bool, name: str = "") -> None:
        for button in self._action_tips:
            button.setEnabled(not acting and self.has_file)
        self.cancel_button.setVisible(acting and name in ("touch", "read ahead"))
        if acting:
            self.action_label.setText(f"{name.capitalize()}…")

    def _on_action_finished(self, result: ActionResult) -> None:
        self._set_acting(False)
        self.action_label.setStyleSheet("")
        self.action_label.setText(result.describe())
        self.refresh_now(full=True)

    def _on_action_failed(self, message: str) -> None:
        self._set_acting(False)
        self.action_label.setStyleSheet(ERROR_STYLE)
        self.action_label.setText(message)
        self.refresh_now(full=True)

    def _on_action_progress(self, done: int, total: int) -> None:
        if self.worker.acting:
            self.action_label.setText(f"Working… {100 * done / max(1, total):.0f} %")

    # ------------------------------------------------------------- internals
    def _draw_grids(self, snapshot: AnySnapshot) -> None:
        visible = self.visible_range if self.visible_range[1] > self.visible_range[0] else None
        self.overview.set_content(snapshot.overview, visible)
        self.detail.set_content(snapshot.detail, visible)
        self._update_detail_caption()

    def _update_detail_caption(self) -> None:
        pages = self.pages_per_cell
        unit = (
            f"1 page ({human_bytes(PAGE_SIZE)})"
            if pages == 1
            else f"{pages:,} pages ({human_bytes(pages * PAGE_SIZE)})"
        )
        self.detail_caption.setText(f"Around the view: {unit} per cell")
        snapshot = self.snapshot
        if snapshot is not None and snapshot.detail is not None and len(snapshot.detail):
            layout = snapshot.detail.layout
            self.detail_caption.setToolTip(f"{layout.start:#x}–{layout.end - 1:#x}")
        whole = "Address space (folded)" if self.is_process else "Whole file"
        if snapshot is not None and len(snapshot.overview):
            cell = snapshot.overview.layout.bucket_pages
            self.overview_caption.setText(
                f"{whole}: {cell:,} page{'s' if cell > 1 else ''} "
                f"({human_bytes(cell * PAGE_SIZE)}) per cell"
            )
        else:
            self.overview_caption.setText(whole)
        self.zoom_in_button.setEnabled(pages > 1)
        self.zoom_out_button.setEnabled(pages < MAX_PAGES_PER_CELL)

    def _on_snapshot(self, tracker: AnyTracker, snapshot: AnySnapshot) -> None:
        self._close_retired()
        self._refresh_if_pending()
        if self._closed:
            return
        if tracker is not self.tracker:
            # Measured for a tab no longer shown: it is that tab's latest state, if still open.
            for context in self._contexts.values():
                if context.tracker is tracker:
                    context.snapshot = snapshot
            return
        if not self.following_save:
            self._quiet_until = time.monotonic() + 3 * snapshot.seconds
        self.show_snapshot(snapshot)
        self._after_save_snapshot(snapshot)

    def _refresh_if_pending(self) -> None:
        if self._pending:
            self._pending = False
            self.refresh_now()

    def _on_refresh_failed(self, tracker: AnyTracker, message: str) -> None:
        self._close_retired()
        self._refresh_if_pending()
        if tracker is self.tracker:
            self.status_label.setText(message)

    def _on_hovered(self, text: str) -> None:
        self.hover_label.setText(text or HOVER_HINT)

    def _on_capacity_changed(self, _capacity: int) -> None:
        if self.isVisible():
            self.refresh_now()

    def _close_retired(self) -> None:
        if self.worker.refreshing or self.worker.acting:
            return
        for tracker in self._retired:
            tracker.close()
        self._retired.clear()

    def _show_idle(self, text: str) -> None:
        self.file_label.setText(text)
        self.totals_label.clear()
        for label in (self.extras_label, self.private_label, self.unknown_label, self.faults_label):
            label.clear()
            label.hide()
        self.overview.set_content(None, None)
        self.detail.set_content(None, None)
        self._update_status()

    def _update_timer(self) -> None:
        if self._on_screen() and not self.paused and not self._closed:
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.timer.stop()

    def _update_status(self) -> None:
        if self.paused:
            self.status_label.setText("Paused")
        elif isinstance(self.snapshot, ProcessSnapshot):
            self.status_label.setText(f"pagemap, {self.snapshot.seconds * 1000:.1f} ms")
        elif self.snapshot is not None:
            method = self.snapshot.method if self.snapshot.known else "unknown"
            text = f"{method}, {self.snapshot.seconds * 1000:.1f} ms"
            if self.following_save:
                text = f"Following the save every {SAVE_INTERVAL_MS} ms · {text}"
            self.status_label.setText(text)
        else:
            self.status_label.clear()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._watch_window()
        self._update_timer()
        self.refresh_now()

    def _watch_window(self) -> None:
        """Follow the top-level window's minimised state (a floating dock is its own window)."""
        top = self.window()
        if top is not self._watched_window:
            if self._watched_window is not None:
                with contextlib.suppress(RuntimeError):
                    self._watched_window.removeEventFilter(self)
            top.installEventFilter(self)
            self._watched_window = top

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._watched_window and event.type() == QEvent.Type.WindowStateChange:
            self._update_timer()
            if self.timer.isActive():
                self.refresh_now()  # restored: show the present state at once
        return False

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._update_timer()


RESIDENCY_ACTIONS = (
    ActionSpec(
        "view.residency_compact",
        "&Compact Residency Panel",
        "residency.toggle_compact",
        "&View/&Panels",
        checkable=True,
        tip="The residency panel as one strip of the whole file and one line of totals",
    ),
)


def open_mapped_file(main_window: QMainWindow, offset: int) -> None:
    """The map's "Open Mapped File": the cursor goes to the cell, then the window's own
    Go ▸ Open Mapped File at Cursor opens the file there (one action, one behaviour)."""
    main_window.view.go_to(offset)
    builder = getattr(main_window, "action_builder", None)
    action = None if builder is None else builder.actions.get("process.open_mapped")
    if action is not None:
        action.trigger()


def install(main_window: QMainWindow) -> ResidencyPanel:
    """Add the panel as a dock (View ▸ Panels ▸ Residency, shown by default) and wire it.

    Written against the main window's extension interface: ``add_dock(widget, title, area,
    visible_by_default)``, the signals ``document_changed(document)`` and
    ``visible_range_changed(start, end)``, and ``view`` with ``selection_changed(start, end)``
    and ``go_to(offset)``; ``install_actions`` where it has an action table (View ▸ Panels ▸
    Compact Residency Panel). The interval, pause and compact states persist in QSettings.
    """
    panel = ResidencyPanel(main_window)
    main_window.add_dock(panel, "Residency", Qt.DockWidgetArea.RightDockWidgetArea, True)
    settings = open_settings()  # MMHEX_SETTINGS (tests) or the user's file
    panel.set_interval(settings.value("residency/interval_ms", DEFAULT_INTERVAL_MS, type=int))
    panel.set_paused(settings.value("residency/paused", False, type=bool))
    panel.interval_changed.connect(lambda msecs: settings.setValue("residency/interval_ms", msecs))
    panel.paused_changed.connect(lambda paused: settings.setValue("residency/paused", paused))
    if hasattr(main_window, "install_actions"):  # the real window's one action table
        main_window.install_actions(RESIDENCY_ACTIONS, residency=panel)
        compact_item = main_window.action_builder.actions["view.residency_compact"]
        panel.compact_changed.connect(compact_item.setChecked)
    panel.compact_changed.connect(lambda on: settings.setValue("residency/compact", on))
    panel.set_compact(settings.value("residency/compact", False, type=bool))
    main_window.document_changed.connect(panel.set_document)
    closed = getattr(main_window, "document_closed", None)
    if closed is not None:  # the window says when a tab closes: keep each tab's context
        panel.keep_tab_state = True
        closed.connect(panel.forget_document)
    panel.open_mapped_requested.connect(lambda offset: open_mapped_file(main_window, offset))
    main_window.visible_range_changed.connect(panel.set_visible_range)
    main_window.view.selection_changed.connect(panel.set_selection)
    panel.jump_requested.connect(main_window.view.go_to)
    targets = getattr(main_window, "action_targets", {})
    saving_changed = getattr(targets.get("editing"), "saving_changed", None)
    if saving_changed is not None:  # the editing feature says when a save writes the file
        saving_changed.connect(panel.set_saving)
    document = getattr(main_window, "document", None)
    if document is not None:
        panel.set_document(document)
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    return panel
