"""The overview bar beside the grid (rehex's visual scrollbar, ImHex's minimap), the entropy plot
and the storage dock (extents, who maps the file). Only draws what ``core.overview``,
``core.entropy``, ``core.extents`` and ``core.mappers`` compute, in the background.

Installed by ``install(window)`` from ui/features.py: the bar is placed to the right of the
widget holding the grid, without the window knowing about it.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QPointF, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmhex.core import entropy, overview
from mmhex.core.extents import extents_of_fd
from mmhex.core.holes import hole_map
from mmhex.core.lazy_module import LazyModule
from mmhex.core.mappers import who_maps
from mmhex.core.overview import Layer, OverviewLayer
from mmhex.core.residency import human_bytes
from mmhex.ui.actions import ActionSpec
from mmhex.ui.search.worker import Job
from mmhex.ui.settings import open_settings

np = LazyModule("numpy")  # ~90 ms: loaded when a layer is first computed, not at start-up

BAR_WIDTH = 18
MENU = "&View/O&verview layer"
RESIDENCY_REFRESH_MS = 2000
PAGES_REFRESH_MS = 250  # dirty pages drain within a save: follow them closely

# Colours: residency uses the residency panel's own (resident blue, not resident pale, unknown
# grey); data/holes use colours no other panel uses (dark slate data, tan unwritten, white holes).
# Plain tuples (numpy broadcasts them), so importing this module does not import numpy.
DATA = (70, 78, 96)
UNWRITTEN = (205, 175, 120)
HOLE = (250, 250, 250)
CLASS_COLOURS = ((0, 0, 0), (55, 120, 230), (60, 170, 80), (210, 50, 50), (255, 255, 255))
CACHED = (0x1F, 0x6F, 0xD1)
NOT_CACHED = (0xDF, 0xE4, 0xEA)
UNKNOWN = (0xA7, 0xA7, 0xA7)
PRIVATE = (0x2F, 0x9E, 0x44)
DIRTY = (0xF0, 0x8C, 0x00)
WRITEBACK = (0xAE, 0x3E, 0xC9)
# Inserted or filled bytes: in memory (the add-buffer), not in the file; a teal no layer uses.
IN_MEMORY = (0x2A, 0xA1, 0x98)
OTHERS = QColor(200, 40, 200)


def _rgb(colour: tuple) -> np.ndarray:
    """A colour constant (or table of them) as float64 numpy, for the vectorised mixing below."""
    return np.asarray(colour, dtype=np.float64)


def entropy_colours(levels: np.ndarray) -> np.ndarray:
    """0 (black) → blue → red → yellow-white at 8 bits/byte, as binvis and ImHex shade it."""
    x = np.clip(levels, 0, 1)
    r = np.clip(3 * x - 0.8, 0, 1)
    g = np.clip(3 * x - 1.8, 0, 1)
    b = np.clip(np.where(x < 0.5, 2.2 * x, 2.2 * (1 - x)), 0, 1)
    return np.stack([r, g, b], axis=1) * 255


def layer_colours(result: OverviewLayer) -> np.ndarray:
    """(n, 3) RGB rows for a computed layer."""
    v = result.values
    m = np.zeros((len(v), 1)) if result.not_in_file is None else result.not_in_file[:, None]
    if result.layer is Layer.DATA:
        return (
            v[:, 0:1] * _rgb(DATA)
            + v[:, 1:2] * _rgb(UNWRITTEN)
            + v[:, 2:3] * _rgb(HOLE)
            + m * _rgb(IN_MEMORY)
        )
    if result.layer is Layer.ENTROPY:
        return entropy_colours(v[:, 0])
    if result.layer is Layer.CLASSES:
        return v @ _rgb(CLASS_COLOURS)
    if result.layer is Layer.PAGES:
        # The strongest state wins a bucket's colour, shaded by its share (at least a third).
        clean = np.nan_to_num(v)
        colours = np.tile(_rgb(NOT_CACHED), (len(v), 1))
        for column, colour in ((0, PRIVATE), (1, DIRTY), (2, WRITEBACK)):
            share = clean[:, column : column + 1]
            strength = np.where(share > 0, 0.35 + 0.65 * share, 0)
            colours = np.where(
                share > 0, colours * (1 - strength) + _rgb(colour) * strength, colours
            )
        return colours * (1 - m) + m * _rgb(IN_MEMORY)
    cached = v[:, 0:1]
    unknown = np.isnan(cached)
    known = np.where(unknown, 0, cached)
    mixed = known * _rgb(CACHED) + np.clip(1 - known - m, 0, 1) * _rgb(NOT_CACHED)
    return np.where(unknown, _rgb(UNKNOWN), mixed + m * _rgb(IN_MEMORY))


class OverviewBar(QWidget):
    """The whole document in one column; click to jump, the visible range outlined."""

    jump_requested = Signal(object)  # offset
    layer_ready = Signal(object)  # OverviewLayer (for tests and the status tip)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(BAR_WIDTH)
        self.setMouseTracking(True)
        self.setToolTip("Overview: click to jump. Right-click to choose the layer.")
        self.document: Any = None
        self.layer = Layer.DATA
        self.result: OverviewLayer | None = None
        self.visible = (0, 0)
        self._job: Job | None = None
        self._again = False
        self._image: QImage | None = None
        # Nothing is computed before the bar's first paint: the job imports numpy (~90 ms of
        # CPU) and would hold up the window's first frame (issue 10: start-up ≤ 350 ms).
        self._painted = False
        self._deferred = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(80)
        self._debounce.timeout.connect(self.refresh)
        self._live = QTimer(self)  # residency changes by itself: follow it while shown
        self._live.setInterval(RESIDENCY_REFRESH_MS)
        self._live.timeout.connect(self.refresh)

    # ----------------------------------------------------------------- inputs
    def set_document(self, document: Any) -> None:
        if self.document is not None and self.document is not document:
            self.document.remove_listener(self._document_changed)
        if document is not None and document is not self.document:
            document.add_listener(self._document_changed)
        self.document = document
        self.result = None
        self._image = None
        self.setVisible(document is not None)
        self.refresh()

    def _document_changed(self, _change: Any) -> None:
        """Edits (data in a hole), reloads and outside changes: redraw from fresh values."""
        self._debounce.start()

    def set_layer(self, layer: Layer) -> None:
        self.layer = layer
        if layer in (Layer.RESIDENCY, Layer.PAGES):
            live = PAGES_REFRESH_MS if layer is Layer.PAGES else RESIDENCY_REFRESH_MS
            self._live.start(live)
        else:
            self._live.stop()
        self.refresh()

    def set_visible_range(self, start: int, end: int) -> None:
        self.visible = (start, end)
        self.update()

    def refresh(self) -> None:
        """Recompute the layer in the background (once more after a running one, if asked)."""
        if self.document is None:
            self.update()
            return
        if not self._painted:
            self._deferred = True  # computed right after the first paint (paintEvent)
            return
        if self._job is not None and self._job.running:
            self._again = True
            return
        document, layer, buckets = self.document, self.layer, max(1, self.height())
        job = Job(lambda _progress, _emit: overview.compute(document, layer, buckets), 1)
        job.succeeded.connect(lambda result: self._show(result, document))
        job.finished.connect(self._job_finished)
        self._job = job
        job.start()

    def _job_finished(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _show(self, result: OverviewLayer, document: Any) -> None:
        if document is not self.document:
            return  # computed for a document no longer shown
        self.result = result
        rgb = np.ascontiguousarray(layer_colours(result).clip(0, 255).astype(np.uint8))
        self._bytes = rgb.tobytes()  # QImage does not copy: keep the buffer alive
        self._image = QImage(self._bytes, 1, len(rgb), 3, QImage.Format.Format_RGB888)
        self.setStatusTip(f"Overview: {result.layer.value}. {result.note}".strip())
        self.update()
        self.layer_ready.emit(result)

    # ----------------------------------------------------------------- geometry
    def y_of(self, offset: int) -> float:
        size = self.document.size if self.document is not None else 0
        return self.height() * offset / size if size else 0.0

    def offset_at(self, y: float) -> int:
        size = self.document.size if self.document is not None else 0
        if size <= 0:
            return 0
        fraction = min(max(y / max(1, self.height()), 0.0), 1.0)
        return min(size - 1, int(size * fraction))

    # ----------------------------------------------------------------- events
    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._painted:
            self._painted = True
            if self._deferred:
                self._deferred = False
                # The debounce's 80 ms: after this frame is on screen and the window has settled
                # (a window closed at once never starts the job, so no thread outlives it).
                self._debounce.start()
        painter = QPainter(self)
        rect = self.rect()
        if self._image is not None:
            painter.drawImage(rect, self._image)
        else:
            painter.fillRect(rect, self.palette().window())
        if self.result is not None and self.result.others:
            for start, end in self.result.others:  # ranges other processes map: a left stripe
                top = int(self.y_of(start))
                painter.fillRect(0, top, 3, max(1, int(self.y_of(end)) - top), OTHERS)
        start, end = self.visible
        if self.document is not None and end > start:
            top = int(self.y_of(start))
            height = max(3, int(self.y_of(end)) - top)
            pen = QPen(self.palette().highlight().color(), 2)
            painter.setPen(pen)
            painter.drawRect(QRect(1, top, rect.width() - 2, height))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.document is not None:
            self.jump_requested.emit(self.offset_at(event.position().y()))
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self.document is not None:
            self.jump_requested.emit(self.offset_at(event.position().y()))

    def contextMenuEvent(self, event: Any) -> None:
        menu = QMenu(self)
        for layer in Layer:
            action = menu.addAction(layer.value)
            action.setCheckable(True)
            action.setChecked(layer is self.layer)
            action.triggered.connect(lambda _checked=False, chosen=layer: self.set_layer(chosen))
        menu.exec(event.globalPos())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._debounce.start()  # one bucket per pixel row: recompute at the new height

    def describe_at(self, y: float) -> str:
        """The tooltip words for the bucket under ``y``."""
        if self.result is None:
            return ""
        index = self.result.bucket_of(self.offset_at(y))
        lo, hi = self.result.edges[index], self.result.edges[index + 1]
        v = self.result.values[index]
        if self.result.layer is Layer.DATA:
            detail = f"data {v[0]:.0%}, unwritten {v[1]:.0%}, holes {v[2]:.0%}"
        elif self.result.layer is Layer.ENTROPY:
            detail = f"entropy {v[0] * 8:.2f} bits/byte"
        elif self.result.layer is Layer.CLASSES:
            detail = ", ".join(
                f"{name} {share:.0%}" for name, share in zip(entropy.CLASS_NAMES, v, strict=True)
            )
        elif self.result.layer is Layer.PAGES:
            dirty = "unknown" if np.isnan(v[1]) else f"{v[1]:.0%}"
            writeback = "unknown" if np.isnan(v[2]) else f"{v[2]:.0%}"
            detail = f"private copies {v[0]:.0%}, dirty {dirty}, writeback {writeback}"
        else:
            detail = "residency unknown" if np.isnan(v[0]) else f"{v[0]:.0%} cached"
        inserted = self.result.not_in_file
        if inserted is not None and inserted[index] > 0:
            detail += f"; inserted {inserted[index]:.0%} (in memory, not in the file)"
        return f"{lo:#x}–{hi:#x}: {detail}"

    def event(self, event: Any) -> bool:
        if event.type() == event.Type.ToolTip:
            text = self.describe_at(event.pos().y())
            if text:
                from PySide6.QtWidgets import QToolTip

                QToolTip.showText(event.globalPos(), text, self)
                return True
        return super().event(event)


# ===================================================================== entropy plot
class EntropyPlot(QWidget):
    """Entropy (0–8 bits/byte) along the file or the selection, as a curve."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile: entropy.EntropyProfile | None = None
        self.setMinimumSize(480, 200)

    def set_profile(self, profile: entropy.EntropyProfile | None) -> None:
        self.profile = profile
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        w, h = self.width(), self.height()
        painter.setPen(QPen(self.palette().mid().color(), 1, Qt.PenStyle.DotLine))
        for bits in (2, 4, 6):
            y = h - h * bits / 8
            painter.drawLine(0, int(y), w, int(y))
            painter.drawText(2, int(y) - 2, f"{bits}")
        if self.profile is not None and len(self.profile):
            values = self.profile.entropy
            n = len(values)
            points = QPolygonF(
                [QPointF(w * (i + 0.5) / n, h - h * float(v) / 8) for i, v in enumerate(values)]
            )
            painter.setPen(QPen(QColor(210, 50, 50), 1.5))
            painter.drawPolyline(points)
            painter.setPen(self.palette().text().color())
            start, end = self.profile.start, self.profile.end
            flags = Qt.AlignmentFlag.AlignBottom
            for fraction, align in (
                (0.0, Qt.AlignmentFlag.AlignLeft),
                (0.5, Qt.AlignmentFlag.AlignHCenter),
                (1.0, Qt.AlignmentFlag.AlignRight),
            ):
                offset = start + int((end - start) * fraction)
                painter.drawText(self.rect().adjusted(3, 0, -3, -2), flags | align, f"{offset:#x}")
        painter.end()


class EntropyDialog(QDialog):
    """View ▸ Entropy Plot: computed in the background, for the selection if there is one."""

    BUCKETS = 512

    def __init__(self, document: Any, start: int, end: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Entropy")
        self.plot = EntropyPlot(self)
        self.label = QLabel("Computing…", self)
        self.cancel_button = QPushButton("Cancel", self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignRight)
        self.scope = (start, end)

        def work(progress: Any, _emit: Any) -> entropy.EntropyProfile:
            return entropy.profile(document, start, end, self.BUCKETS, progress=progress)

        self.job = Job(work, max(1, end - start), path=getattr(document, "path", None))
        self.job.progressed.connect(
            lambda done, total, _rate: self.label.setText(f"Computing… {done / total:.0%}")
        )
        self.job.succeeded.connect(self._done)
        self.job.failed.connect(self.label.setText)
        self.job.cancelled.connect(lambda: self.label.setText("Cancelled."))
        self.job.finished.connect(self._finished)
        self.cancel_button.clicked.connect(self.job.cancel)
        self.job.start()

    def _finished(self) -> None:
        """The work is over: the button now closes the dialog."""
        self.cancel_button.clicked.disconnect()
        self.cancel_button.setText("Close")
        self.cancel_button.clicked.connect(self.close)

    def _done(self, profile: entropy.EntropyProfile) -> None:
        self.plot.set_profile(profile)
        start, end = self.scope
        mean = float(np.mean(profile.entropy)) if len(profile) else 0.0
        self.label.setText(
            f"{start:#x}–{end:#x} ({human_bytes(end - start)}) in {len(profile)} parts: "
            f"mean {mean:.2f} bits/byte" + (", sampled" if profile.sampled else "")
        )


# ===================================================================== storage dock
class StoragePanel(QWidget):
    """The file's extents (FIEMAP, as filefrag -v) and the processes that map it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(380)  # room for the extent columns
        self.document: Any = None
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.extents = _table(self, ("Logical", "Physical", "Length", "Flags"))
        self.mappers = _table(self, ("PID", "Command", "Start", "End", "Perms"))
        self.mappers_note = QLabel(self)
        self.mappers_note.setWordWrap(True)
        refresh = QPushButton("Refresh", self)
        refresh.clicked.connect(self.refresh)
        tabs = QTabWidget(self)
        tabs.addTab(self.extents, "Extents")
        who = QWidget(self)
        who_layout = QVBoxLayout(who)
        who_layout.setContentsMargins(0, 0, 0, 0)
        who_layout.addWidget(self.mappers_note)
        who_layout.addWidget(self.mappers, 1)
        tabs.addTab(who, "Mapped by")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(tabs, 1)
        layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignRight)

    def set_document(self, document: Any) -> None:
        self.document = document
        self.refresh()

    def refresh(self) -> None:
        self.extents.setRowCount(0)
        self.mappers.setRowCount(0)
        if self.document is None:
            self.summary.setText("No file open")
            self.mappers_note.setText("")
            return
        mapped = overview.file_of(self.document)
        if mapped is None:
            self.summary.setText("Not a file: there are no holes, extents or mappers to show.")
            self.mappers_note.setText("")
            return
        holes = hole_map(mapped)
        text = (
            f"{human_bytes(holes.data_bytes)} of data, {human_bytes(holes.hole_bytes)} in holes"
            f" ({len(holes.data)} data run{'s' if len(holes.data) != 1 else ''})."
        )
        try:
            found = extents_of_fd(mapped.fd, mapped.size)
        except OSError as exc:
            found = None
            text += f" Extents unknown: {exc.strerror}."
        if found is not None and not found.supported:
            text += " " + (found.error or "")
        elif found is not None:
            text += f" {len(found.extents)} extents."
            _fill(
                self.extents,
                [
                    (
                        f"{e.logical:#x}",
                        f"{e.physical:#x}",
                        f"{e.length:,}",
                        ", ".join(e.flag_names),
                    )
                    for e in found.extents
                ],
            )
        self.summary.setText(text)
        try:
            st = os.fstat(mapped.fd)
            report = who_maps(device=st.st_dev, inode=st.st_ino)
        except OSError as exc:
            self.mappers_note.setText(f"Cannot list the processes: {exc.strerror}")
            return
        self.mappers_note.setText(report.summary())
        _fill(
            self.mappers,
            [
                (str(m.pid), m.name, f"{r.start:#x}", f"{r.end:#x}", r.perms)
                for m in report.mappers
                for r in m.ranges
            ],
        )


def _table(parent: QWidget, headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(value))


# ===================================================================== feature
_LAYER_ROWS = tuple(
    ActionSpec(
        f"overview.layer.{layer.name.lower()}",
        layer.value,
        "overview.choose_layer",
        MENU,
        value=layer,
        group="overview.layer",
    )
    for layer in Layer
)
OVERVIEW_ACTIONS: tuple[ActionSpec, ...] = (
    *_LAYER_ROWS,
    ActionSpec(
        "overview.entropy_plot",
        "&Entropy Plot…",
        "overview.show_entropy_plot",
        "&View",
        ("Ctrl+Shift+E",),
        tip="Entropy of the selection (or of the whole file), computed in the background",
    ),
)


class OverviewFeature:
    """Wires the bar, the entropy plot and the storage dock to the main window."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.bar = OverviewBar()
        self.storage = StoragePanel()
        self.dialogs: list[EntropyDialog] = []
        self.selection = (0, 0)
        _place_beside_grid(window, self.bar)
        window.add_dock(self.storage, "Storage", Qt.DockWidgetArea.RightDockWidgetArea, False)
        window.install_actions(OVERVIEW_ACTIONS, overview=self)
        saved = open_settings().value("overview/layer", Layer.DATA.name, type=str)
        self.choose_layer(Layer.__members__.get(saved, Layer.DATA), save=False)
        self.bar.jump_requested.connect(window.view.go_to)
        window.document_changed.connect(self.set_document)
        window.visible_range_changed.connect(self.bar.set_visible_range)
        window.view.selection_changed.connect(self._set_selection)
        self.set_document(getattr(window, "document", None))

    def set_document(self, document: Any) -> None:
        self.bar.set_document(document)
        self.storage.set_document(document)
        self.selection = (0, 0)

    def _set_selection(self, start: int, end: int) -> None:
        self.selection = (start, end)

    def choose_layer(self, layer: Layer, *, save: bool = True) -> None:
        self.bar.set_layer(layer)
        builder = getattr(self.window, "action_builder", None)
        if builder is not None:
            builder.check(f"overview.layer.{layer.name.lower()}")
        if save:
            open_settings().setValue("overview/layer", layer.name)

    def show_entropy_plot(self) -> EntropyDialog | None:
        document = getattr(self.window, "document", None)
        if document is None:
            return None
        start, end = self.selection
        if end <= start:
            start, end = 0, document.size
        dialog = EntropyDialog(document, start, end, self.window)
        dialog.finished.connect(lambda _result: self.dialogs.remove(dialog))
        self.dialogs.append(dialog)
        dialog.show()
        return dialog


def _place_beside_grid(window: QMainWindow, bar: OverviewBar) -> None:
    """Put ``bar`` to the right of the central widget's part that holds the grid.

    The window's layout is left as it is: the one child of the central widget that contains
    the view is wrapped, in place, in a row with the bar.
    """
    central = window.centralWidget()
    layout = central.layout() if central is not None else None
    holder: QWidget | None = window.view
    while holder is not None and holder.parentWidget() is not central:
        holder = holder.parentWidget()
    if layout is None or holder is None:
        return
    row = QWidget(central)
    row_layout = QHBoxLayout(row)
    row_layout.setContentsMargins(0, 0, 0, 0)
    row_layout.setSpacing(1)
    index = layout.indexOf(holder)
    stretch = layout.stretch(index) if hasattr(layout, "stretch") and index >= 0 else 1
    layout.replaceWidget(holder, row)
    row_layout.addWidget(holder, 1)
    row_layout.addWidget(bar)
    if index >= 0 and hasattr(layout, "setStretch"):
        layout.setStretch(index, stretch)


def install(window: QMainWindow) -> OverviewFeature:
    """Add the overview bar, View ▸ Overview layer, View ▸ Entropy Plot and the Storage dock."""
    feature = OverviewFeature(window)
    window.overview = feature  # type: ignore[attr-defined]  # keeps it alive with the window
    return feature
