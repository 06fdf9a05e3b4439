"""CompareWindow: two HexViews side by side, differences coloured, listed, and kept up to date.

The compare itself is ``core.compare`` on a BackgroundTask (progress, Cancel); ranges reach the
Differences list and the overview bars while it runs. Edits in either document update the
result: a small edit re-reads only the ranges it touches, anything larger compares again.
While an in-place save moves a document's bytes (``Document.reads_held``) nothing reads it: the
window says so (``SAVING_TEXT``), a compare under way stops, and when the save ends the list and
grids read again and the stopped compare starts over.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.compare import (
    DEFAULT_MAX_RANGES,
    Anchor,
    CompareResult,
    DiffRange,
    a_span_of_b,
    a_to_b,
    b_to_a,
    compare,
    plan_segments,
    recompare_span,
    uncompared,
)
from mmhex.core.document import Change, ChangeKind, Document
from mmhex.core.errors import SavingInProgressError, describe_error
from mmhex.core.progress import Cancelled, CancelToken, Progress
from mmhex.ui.actions import ActionBuilder, ActionSpec
from mmhex.ui.compare.differences import DifferencesModel, DifferencesTable
from mmhex.ui.compare.link import ScrollLink
from mmhex.ui.compare.overview import DifferenceBar
from mmhex.ui.compare.resync_dialog import ResyncDialog
from mmhex.ui.hex_view import HexView
from mmhex.ui.search.worker import format_rate
from mmhex.ui.workers import BackgroundTask

# Readable on light and dark backgrounds, and the same red in grids, bars and list.
DIFF_COLOR = QColor(235, 64, 52, 110)
# Bytes that are not compared at all (a longer file's tail, an insertion skipped by a resync).
UNCOMPARED_COLOR = QColor(128, 128, 128, 70)
# An edit touching at most this many bytes (with the ranges around it) is re-compared at once on
# the GUI thread (milliseconds); a larger one starts a background compare.
SYNC_RECOMPARE_LIMIT = 16 * 1024 * 1024
RESTART_DELAY_MS = 250
SAVING_TEXT = "Saving… — compare resumes when the save ends"
# While paused for a save, how often to look whether it has ended (a save that fails or is
# cancelled tells no document listener; the editing feature's signal may be absent).
SAVE_POLL_MS = 200

MENU = "&Compare"
# fmt: off
COMPARE_WINDOW_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("compare.next", "&Next Difference", "compare.next_difference", MENU, ("F7",),
               tip="Select the next differing range in both files"),
    ActionSpec("compare.previous", "&Previous Difference", "compare.previous_difference", MENU,
               ("Shift+F7",), tip="Select the previous differing range in both files"),
    ActionSpec("compare.link", "&Link Scrolling", "compare.toggle_link", MENU, ("Ctrl+L",),
               checkable=True, separator_before=True,
               tip="Scroll both files together (off: each scrolls alone)"),
    ActionSpec("compare.resync", "&Resynchronize…", "compare.show_resync_dialog", MENU,
               ("Ctrl+Shift+R",),
               tip="After an insertion or deletion: compare A from x with B from y"),
    ActionSpec("compare.clear_resync", "Clear Resync&hronization", "compare.clear_resync", MENU),
    ActionSpec("compare.again", "Compare &Again", "compare.start_compare", MENU, ("F5",),
               separator_before=True),
    ActionSpec("compare.cancel", "&Stop Comparing", "compare.cancel_compare", MENU, ("Esc",)),
    ActionSpec("compare.close", "&Close Window", "compare.close", MENU, ("Ctrl+W",),
               separator_before=True),
)
# fmt: on


class _Live:
    """What the worker found so far (appended on its thread, read on the GUI thread)."""

    def __init__(self, max_ranges: int) -> None:
        self.ranges: list[DiffRange] = []
        self.count = 0
        self.bytes = 0
        self._max = max_ranges

    def add(self, diff: DiffRange) -> None:
        self.count += 1
        self.bytes += diff.length
        if len(self.ranges) < self._max:
            self.ranges.append(diff)


def _side_label(name: str, document: Document) -> str:
    return f"{name}: {document.path}  ({document.size:,} bytes)"


class CompareWindow(QMainWindow):
    """Compares ``document_a`` with ``document_b``; closes the documents it owns when closed."""

    def __init__(
        self,
        document_a: Document,
        document_b: Document,
        *,
        owns_a: bool = False,
        owns_b: bool = True,
        max_ranges: int = DEFAULT_MAX_RANGES,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.document_a, self.document_b = document_a, document_b
        self._owned = [d for d, owned in ((document_a, owns_a), (document_b, owns_b)) if owned]
        self.anchors: list[Anchor] = []
        self.max_ranges = max_ranges
        self.task: BackgroundTask | None = None
        self._live: _Live | None = None
        self.result = CompareResult(document_a.size, document_b.size, self._segments())
        self.status_text = ""
        self._started = time.monotonic()

        self.view_a, self.view_b = HexView(self), HexView(self)
        self.bar_a = DifferenceBar("a", DIFF_COLOR, self)
        self.bar_b = DifferenceBar("b", DIFF_COLOR, self)
        self.label_a, self.label_b = QLabel(self), QLabel(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for label, view, bar in (
            (self.label_a, self.view_a, self.bar_a),
            (self.label_b, self.view_b, self.bar_b),
        ):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            pane = QWidget(splitter)
            column = QVBoxLayout(pane)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(label)
            row = QHBoxLayout()
            row.setSpacing(1)
            row.addWidget(view, 1)
            row.addWidget(bar)
            column.addLayout(row, 1)
            splitter.addWidget(pane)
        self.setCentralWidget(splitter)

        self.link = ScrollLink(
            self.view_a,
            self.view_b,
            lambda offset: a_to_b(self.result.segments, offset),
            lambda offset: b_to_a(self.result.segments, offset),
            self,
        )
        self.view_a.add_highlighter(self._highlights_a)
        self.view_b.add_highlighter(self._highlights_b)
        self.view_a.visible_range_changed.connect(self.bar_a.set_visible_range)
        self.view_b.visible_range_changed.connect(self.bar_b.set_visible_range)
        self.bar_a.offset_clicked.connect(lambda offset: self._jump(self.view_a, offset))
        self.bar_b.offset_clicked.connect(lambda offset: self._jump(self.view_b, offset))

        self.model = DifferencesModel(self)
        self.model.documents = (document_a, document_b)
        self.table = DifferencesTable(self.model, self)
        self.table.range_activated.connect(self.show_range)
        self.dock = QDockWidget("Differences", self)
        self.dock.setObjectName("dock:Differences")
        self.dock.setWidget(self.table)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)

        self.summary_label = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(300)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel_compare)
        status = self.statusBar()
        status.addWidget(self.summary_label, 1)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)

        self.actions_builder = ActionBuilder(self.menuBar(), self)
        self.actions_builder.build(COMPARE_WINDOW_ACTIONS, {"compare": self})
        self.actions_builder.menu("&View/&Panels").addAction(self.dock.toggleViewAction())
        self.actions_builder.actions["compare.link"].setChecked(True)
        toolbar = QToolBar("Compare", self)
        toolbar.setObjectName("toolbar:compare")
        for key in ("compare.previous", "compare.next", "compare.link", "compare.resync"):
            toolbar.addAction(self.actions_builder.actions[key])
        self.addToolBar(toolbar)
        for view in (self.view_a, self.view_b):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            for key in ("compare.next", "compare.previous", "compare.resync"):
                view.addAction(self.actions_builder.actions[key])

        self._restart = QTimer(self)
        self._restart.setSingleShot(True)
        self._restart.setInterval(RESTART_DELAY_MS)
        self._restart.timeout.connect(self.start_compare)
        # Paused while an in-place save moves a document's bytes; whether a compare must start
        # over when it ends.
        self.paused_for_save = False
        self._compare_after_save = False
        self._save_poll = QTimer(self)
        self._save_poll.setInterval(SAVE_POLL_MS)
        self._save_poll.timeout.connect(self._resume_if_saved)
        self._listeners: list[tuple[Document, Callable[[Change], None]]] = []
        self._set_documents(document_a, document_b)
        self.resize(1340, 720)
        self.start_compare()

    # ----------------------------------------------------------------- documents
    def _set_documents(self, document_a: Document, document_b: Document) -> None:
        for document, listener in self._listeners:
            document.remove_listener(listener)
        self.document_a, self.document_b = document_a, document_b
        self.model.documents = (document_a, document_b)
        self._listeners = [
            (document_a, lambda change: self._on_change("a", change)),
            (document_b, lambda change: self._on_change("b", change)),
        ]
        for document, listener in self._listeners:
            document.add_listener(listener)
        self.view_a.set_document(document_a)
        self.view_b.set_document(document_b)
        self.setWindowTitle(
            f"Compare {os.path.basename(document_a.path)} ↔ {os.path.basename(document_b.path)}"
        )

    def replace_document_a(self, document: Document, *, owned: bool) -> None:
        """A is shown from another Document now (the main window let go of its own)."""
        self._stop_task()
        if owned:
            self._owned.append(document)
        self._set_documents(document, self.document_b)
        self.start_compare()

    def _segments(self) -> list:
        return plan_segments(self.document_a.size, self.document_b.size, self.anchors)

    # ----------------------------------------------------------------- comparing
    def start_compare(self) -> None:
        """Compare from scratch in the background (the list fills as ranges are found)."""
        self._restart.stop()
        self._stop_task()
        if self._reads_held():
            self._compare_after_save = True  # nothing may read the bytes until the save ends
            self.pause_for_save()
            return
        # Sizes may have changed (an outside change): the labels say what is compared now.
        self.label_a.setText(_side_label("A", self.document_a))
        self.label_b.setText(_side_label("B", self.document_b))
        live = self._live = _Live(self.max_ranges)
        self.result = CompareResult(self.document_a.size, self.document_b.size, self._segments())
        self.result.ranges = live.ranges
        self._show_result()
        a, b, anchors, max_ranges = (
            self.document_a,
            self.document_b,
            list(self.anchors),
            (self.max_ranges),
        )

        def work(on_progress: Callable[[int, int], None], token: CancelToken) -> CompareResult:
            progress = Progress(0, on_progress, token, interval=0.1)
            result = compare(
                a, b, anchors, progress=progress, on_range=live.add, max_ranges=max_ranges
            )
            if not result.complete:
                raise Cancelled()
            return result

        task = self.task = BackgroundTask(work, self)
        task.progressed.connect(self._on_progress)
        task.succeeded.connect(lambda result, t=task: self._on_done(t, result))
        task.failed.connect(lambda error, t=task: self._on_failed(t, error))
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self._started = time.monotonic()
        self.progress.show()
        self.cancel_button.show()
        task.start()

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def cancel_compare(self) -> None:
        if self.running:
            assert self.task is not None
            self.task.cancel()

    def wait_for_compare(self, milliseconds: int = 30_000) -> bool:
        """Block until the background compare ended (tests and shutdown); True if it has."""
        return self.task is None or self.task.wait(milliseconds)

    def _stop_task(self) -> None:
        task, self.task = self.task, None
        if task is not None and task.running:
            task.cancel()
            task.wait()

    def _drain(self) -> None:
        live = self._live
        if live is None:
            return
        self.result.range_count, self.result.differing_bytes = live.count, live.bytes
        self.model.rows_added()
        self.bar_a.ranges_added()
        self.bar_b.ranges_added()
        self.view_a.viewport().update()
        self.view_b.viewport().update()

    def _on_progress(self, done: int, total: int) -> None:
        if self.paused_for_save:
            return  # a report of the compare the save stopped, arriving late
        self.result.compared = done
        self.progress.setValue(int(1000 * done / total) if total else 1000)
        elapsed = time.monotonic() - self._started
        if done and elapsed > 0:
            rate = done / elapsed
            left = (total - done) / rate
            self.progress.setFormat(f"%p% · {format_rate(rate)} · {left:,.0f} s left")
        self._drain()
        self.summary_label.setText(self.result.summary())

    def _on_done(self, task: BackgroundTask, result: CompareResult) -> None:
        if task is not self.task:
            return  # a compare replaced by a newer one
        self._drain()
        self.result = result
        self._live = None
        self._finish()

    def _on_failed(self, task: BackgroundTask, error: BaseException) -> None:
        if task is not self.task:
            return
        self._drain()
        self._live = None
        if isinstance(error, SavingInProgressError):
            self._compare_after_save = True  # a save began moving the bytes under the compare
            self.pause_for_save()
            return
        if isinstance(error, Cancelled):
            self._finish()
            return
        self._finish(f"The compare stopped: {describe_error(error)}")

    def _finish(self, message: str = "") -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self._show_result(message)

    def _show_result(self, message: str = "") -> None:
        """Hand the current result to the list, the bars, the grids and the summary line."""
        self.model.reset(self.result.ranges)
        self.bar_a.set_ranges(self.result.ranges, self.document_a.size)
        self.bar_b.set_ranges(self.result.ranges, self.document_b.size)
        self.view_a.viewport().update()
        self.view_b.viewport().update()
        text = self.result.summary()
        if not self.result.listed_all and self.result.complete:
            text = f"{text} (the first {len(self.result.ranges):,} ranges are listed)"
        self.status_text = f"{text}. {message}" if message else text
        self.summary_label.setText(self.status_text)

    # ----------------------------------------------------------------- saving
    def _reads_held(self) -> bool:
        return any(getattr(d, "reads_held", False) for d in (self.document_a, self.document_b))

    def set_saving(self, saving: bool) -> None:
        """The editing feature's save started (True) or ended (False)."""
        if saving and self._reads_held():
            self.pause_for_save()
        elif not saving:
            self._resume_if_saved()

    def pause_for_save(self) -> None:
        """An in-place save moves the bytes: stop reading them and say so until it ends."""
        if not self.paused_for_save:
            self.paused_for_save = True
            if self.running:
                self._stop_task()
                self._compare_after_save = True
            self.progress.hide()
            self.cancel_button.hide()
            self._save_poll.start()
        self.status_text = SAVING_TEXT
        self.summary_label.setText(SAVING_TEXT)
        self.table.viewport().update()

    def _resume_if_saved(self) -> None:
        """The save ended (or polled): read again, and compare again if one was stopped."""
        if not self.paused_for_save or self._reads_held():
            return
        self.paused_for_save = False
        self._save_poll.stop()
        if self._compare_after_save:
            self._compare_after_save = False
            self.start_compare()
        else:
            self._show_result()  # the list's rows and the grids read the saved bytes

    def _on_change(self, side: str, change: Change) -> None:
        """An edit or outside change in A or B: bring the result up to date."""
        if change.kind is ChangeKind.SAVED:
            self._resume_if_saved()
            return
        if change.kind not in (ChangeKind.EDIT, ChangeKind.RELOAD):
            return  # saving or switching modes leaves the bytes as shown
        # An insert or delete moves every byte after it: only a compare from scratch says
        # what differs then (recompare_span keeps the sizes and segments).
        if change.kind is ChangeKind.EDIT and not self.running and not change.resized:
            span = (
                (change.start, change.end)
                if side == "a"
                else a_span_of_b(self.result.segments, change.start, change.end)
            )
            if span is None:
                return  # bytes that are not compared (past the other file's end)
            if (
                self.result.complete
                and self.result.listed_all
                and span[1] - span[0] <= SYNC_RECOMPARE_LIMIT
            ):
                try:
                    self.result = recompare_span(
                        self.result, self.document_a, self.document_b, *span
                    )
                except OSError:
                    self._restart.start()
                    return
                self._show_result()
                return
        self._restart.start()

    # ----------------------------------------------------------------- highlighting
    def _highlights_a(self, start: int, end: int) -> list[tuple[int, int, QColor]]:
        shades = self._uncompared("a", self.document_a.size, start, end)
        shades += [(r.a, r.a_end, DIFF_COLOR) for r in self.result.ranges_between(start, end)]
        return shades

    def _highlights_b(self, start: int, end: int) -> list[tuple[int, int, QColor]]:
        shades = self._uncompared("b", self.document_b.size, start, end)
        shades += [(r.b, r.b_end, DIFF_COLOR) for r in self.result.ranges_between_b(start, end)]
        return shades

    def _uncompared(self, side: str, size: int, start: int, end: int) -> list:
        """Bytes no segment compares (the longer file's tail, a skipped insertion), greyed."""
        return [
            (low, high, UNCOMPARED_COLOR)
            for low, high in uncompared(self.result.segments, size, side)
            if low < end and high > start
        ]

    # ----------------------------------------------------------------- navigation
    def show_range(self, diff: DiffRange) -> None:
        """Select ``diff`` in both grids (the list's row too) and scroll both to it."""
        with self.link.paused():
            self.view_a.go_to(diff.a)
            self.view_a.select(diff.a, diff.a_end)
            self.view_b.go_to(diff.b)
            self.view_b.select(diff.b, diff.b_end)
        if self.link.linked:
            self.link.align(self.view_a)
        row = self.result.index_of(diff)
        if row is not None:
            self.table.selectRow(row)

    def next_difference(self) -> None:
        start, end = self.view_a.selection
        diff = self.result.next_range(start if end > start else start - 1)
        if diff is None:
            self.statusBar().showMessage("No difference after the cursor.", 3000)
            return
        self.show_range(diff)

    def previous_difference(self) -> None:
        diff = self.result.previous_range(self.view_a.selection[0])
        if diff is None:
            self.statusBar().showMessage("No difference before the cursor.", 3000)
            return
        self.show_range(diff)

    def _jump(self, view: HexView, offset: int) -> None:
        view.go_to(offset)

    def toggle_link(self) -> None:
        self.link.toggle()
        self.actions_builder.actions["compare.link"].setChecked(self.link.linked)

    # ----------------------------------------------------------------- resynchronizing
    def show_resync_dialog(self) -> ResyncDialog:
        dialog = ResyncDialog(
            self.view_a.cursor_offset,
            self.view_b.cursor_offset,
            self.document_a.size,
            self.document_b.size,
            self,
        )
        dialog.accepted.connect(lambda: self.resynchronize(dialog.offset_a, dialog.offset_b))
        dialog.open()
        return dialog

    def resynchronize(self, offset_a: int, offset_b: int) -> None:
        """From A offset ``offset_a`` on, compare with B from ``offset_b``; compare again."""
        self.anchors = [anchor for anchor in self.anchors if anchor.a != offset_a]
        self.anchors.append(Anchor(offset_a, offset_b))
        self.anchors.sort()
        self.start_compare()
        if self.link.linked:
            self.link.align(self.view_a)

    def clear_resync(self) -> None:
        if self.anchors:
            self.anchors = []
            self.start_compare()

    # ----------------------------------------------------------------- lifetime
    def closeEvent(self, event: QCloseEvent) -> None:
        self._restart.stop()
        self._save_poll.stop()
        self._stop_task()
        for document, listener in self._listeners:
            document.remove_listener(listener)
        self._listeners = []
        self.view_a.set_document(None)
        self.view_b.set_document(None)
        for document in self._owned:
            document.close()
        self._owned = []
        super().closeEvent(event)
