"""The residency panel drawn offscreen: cell colours read back from pixels, hover text, clicks,
the refresh timer, actions (checked with fincore) and the wiring helper."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QToolTip, QWidget

from mmhex.core.document import Document
from mmhex.core.residency import (
    UNKNOWN_REASON,
    BucketLayout,
    Buckets,
    DocumentResidency,
    FaultCounters,
    MemoryLockError,
    PageCounts,
    ResidencySnapshot,
)
from mmhex.ui.panels import residency_panel as rp
from mmhex.ui.panels.residency_panel import ResidencyPanel, install
from tests.residency_support import (
    PAGE,
    disk_dir,  # noqa: F401  (fixture)
    evict,
    fincore_pages,
    make_resident,
    write_random_file,
)

PAGES = 300
CHOSEN = [0, 1, 5, 40, 41, 42, 99, 150, 299]


def fake_snapshot(
    resident: list[int] | None,
    pages_per_bucket: int = 1,
    *,
    dirty: list[int] | None = None,
    touched: list[int] | None = None,
    private: list[int] | None = None,
) -> ResidencySnapshot:
    count = len(resident) if resident is not None else len(touched or [])
    layout = BucketLayout(0, count * pages_per_bucket * PAGE, pages_per_bucket)
    zeros = (0,) * count
    known = resident is not None
    buckets = Buckets(
        layout,
        None if resident is None else tuple(resident),
        tuple(dirty) if dirty else (zeros if known else None),
        zeros if known else None,
        zeros if known else None,
        zeros if known else None,
        None if private is None else tuple(private),
        None if touched is None else tuple(touched),
    )
    pages = count * pages_per_bucket
    return ResidencySnapshot(
        path="/x/demo.bin",
        size=pages * PAGE,
        method="cachestat" if known else "none",
        known=known,
        unknown_reason=None if known else UNKNOWN_REASON,
        totals=PageCounts(pages, None if resident is None else sum(resident), 0, 0, 0, 0),
        overview=buckets,
        detail=buckets,
        visible=(0, 0),
        private_pages=None if private is None else sum(private),
        touched_pages=None if touched is None else sum(touched),
        faults=FaultCounters(3, 1000),
        fault_delta=FaultCounters(1, 20),
        locked_bytes=0,
        seconds=0.001,
    )


def pixel(widget: QWidget, point: QPoint) -> QColor:
    return QColor(widget.grab().toImage().pixel(point))


@pytest.fixture
def panel(qtbot) -> ResidencyPanel:  # type: ignore[no-untyped-def]
    widget = ResidencyPanel()
    qtbot.addWidget(widget)
    widget.resize(420, 760)
    yield widget
    widget.shutdown()


@pytest.fixture
def partly_resident(disk_dir: Path) -> Path:  # noqa: F811
    path = disk_dir / "panel.bin"
    write_random_file(path, PAGES * PAGE)
    make_resident(path, CHOSEN)
    return path


# ----------------------------------------------------------------- drawing
def test_cells_show_resident_fraction_dirty_and_private(panel: ResidencyPanel) -> None:
    panel.show_snapshot(
        fake_snapshot([0, 4, 2, 4, 4], 4, dirty=[0, 0, 0, 1, 0], private=[0, 0, 0, 0, 4])
    )
    grid = panel.overview
    colors = [pixel(grid, grid.cell_rect(i).center()) for i in range(5)]
    assert colors[0] == rp.NOT_RESIDENT
    assert colors[1] == rp.RESIDENT
    half = colors[2]
    assert half not in (rp.NOT_RESIDENT, rp.RESIDENT)
    assert rp.RESIDENT.blue() <= half.blue() and half.red() > rp.RESIDENT.red()  # lighter blue
    assert colors[3] == rp.mix(rp.NOT_RESIDENT, rp.DIRTY, 0.45 + 0.55 / 4)
    assert colors[4] == rp.PRIVATE
    assert "3 of 5" not in panel.totals_label.text()
    assert panel.totals_label.text().startswith("Resident: 14 of 20 pages")
    assert "Private copies" in panel.private_label.text()
    assert "major 3 (+1)" in panel.faults_label.text()


def test_unknown_cells_are_grey_except_pages_this_process_holds(panel: ResidencyPanel) -> None:
    panel.show()
    panel.show_snapshot(fake_snapshot(None, 1, touched=[0, 0, 1, 0]))
    grid = panel.detail
    assert pixel(grid, grid.cell_rect(0).center()) == rp.UNKNOWN
    assert pixel(grid, grid.cell_rect(2).center()) == rp.RESIDENT
    assert panel.unknown_label.isVisible()
    assert "neither write nor own" in panel.unknown_label.text()
    assert "Resident: unknown" in panel.totals_label.text()
    assert "100" not in panel.totals_label.text()  # never a fake 100 %


def test_visible_range_is_framed(panel: ResidencyPanel) -> None:
    panel.show_snapshot(fake_snapshot([1] * 40))
    panel.set_visible_range(7 * PAGE + 10, 8 * PAGE + 5)  # pages 7 and 8
    grid = panel.detail
    for index, framed in ((6, False), (7, True), (8, True), (9, False)):
        rect = grid.cell_rect(index)
        below = pixel(grid, QPoint(rect.center().x(), rect.y() + grid.cell))  # frame's bottom
        assert (below == rp.VIEW_FRAME) is framed, index


def test_hover_text_and_tooltip(panel: ResidencyPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(fake_snapshot([0, 3, 4], 4))
    grid = panel.overview
    center = grid.cell_rect(1).center()
    expected = "0x4000–0x7fff (16 KiB): 3 of 4 pages resident (75.0 %)"
    assert grid.hover_text(1) == expected
    qtbot.mouseMove(grid, center)
    qtbot.waitUntil(lambda: panel.hover_label.text() == expected)
    QApplication.sendEvent(grid, QHelpEvent(QEvent.Type.ToolTip, center, grid.mapToGlobal(center)))
    assert QToolTip.text() == expected


def test_click_requests_a_jump(panel: ResidencyPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel.show()
    panel.show_snapshot(fake_snapshot([1, 0, 1, 0, 1, 1], 2))
    grid = panel.overview
    with qtbot.waitSignal(panel.jump_requested, timeout=1000) as jump:
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(3).center())
    assert jump.args == [3 * 2 * PAGE]
    with qtbot.assertNotEmitted(panel.jump_requested):
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(50).center())


# ----------------------------------------------------------------- live data
def settle(panel: ResidencyPanel) -> None:
    """Wait until no job runs and every result has been delivered (and started nothing new).

    Polling rather than qtbot.waitSignal: those signals come from pool threads, and a queued
    emission reaching a blocker that already finished is not something to test with.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        panel.worker.wait()  # every job ended, so every result it emitted is queued
        before = panel.snapshot
        QApplication.processEvents()
        # Quiet: nothing new was delivered and nothing new started (a job started and ended
        # during processEvents would leave its result queued, not yet shown).
        if panel.worker.wait(0) and panel.snapshot is before:
            return
    raise AssertionError("the residency worker did not settle")


def wait_snapshot(panel: ResidencyPanel, qtbot) -> ResidencySnapshot:  # type: ignore[no-untyped-def]
    """A snapshot measured after everything the test did so far."""
    settle(panel)
    before = panel.snapshot
    panel.refresh_now()
    settle(panel)
    assert panel.snapshot is not None and panel.snapshot is not before
    return panel.snapshot


def test_per_page_map_matches_the_pages_read(
    panel: ResidencyPanel, partly_resident: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    panel.show()
    qtbot.waitExposed(panel)
    document = Document.open(str(partly_resident))
    try:
        panel.set_document(document)
        panel.set_visible_range(0, 1024)
        snapshot = wait_snapshot(panel, qtbot)
        assert snapshot.totals.resident == fincore_pages(partly_resident) == len(CHOSEN)
        grid = panel.detail
        image = grid.grab().toImage()
        shown = [
            page
            for page in range(PAGES)
            if QColor(image.pixel(grid.cell_rect(page).center())) == rp.RESIDENT
        ]
        assert shown == CHOSEN
        # scrolling reads pages (as the grid would): they turn resident on the next refresh
        panel.set_visible_range(200 * PAGE, 201 * PAGE)
        document.read(200 * PAGE, 1)
        snapshot = wait_snapshot(panel, qtbot)
        assert snapshot.detail is not None and snapshot.detail.resident is not None
        page_200 = snapshot.detail.layout.bucket_of(200 * PAGE)
        assert snapshot.detail.resident[page_200] == 1
    finally:
        panel.set_document(None)
        document.close()


def test_refresh_runs_off_the_ui_thread_and_never_blocks(
    panel: ResidencyPanel, partly_resident: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    document = Document.open(str(partly_resident))
    threads: list[threading.Thread] = []
    try:
        panel.set_document(document)
        settle(panel)
        assert panel.tracker is not None
        real = panel.tracker.snapshot

        def slow(**request: object) -> ResidencySnapshot:
            threads.append(threading.current_thread())
            time.sleep(0.4)
            return real(**request)

        monkeypatch.setattr(panel.tracker, "snapshot", slow)
        began = time.perf_counter()
        panel.refresh_now()
        for offset in range(0, PAGES * PAGE, 16 * PAGE):
            panel.set_visible_range(offset, offset + 1024)
            QApplication.processEvents()
        panel.refresh_now()  # skipped: one refresh at a time
        assert time.perf_counter() - began < 0.2
        panel.worker.wait()
        assert len(threads) == 1 and threads[0] is not threading.main_thread()
    finally:
        panel.set_document(None)
        document.close()


def test_timer_runs_only_while_visible_and_not_paused(panel: ResidencyPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert not panel.timer.isActive()
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.timer.isActive() and panel.timer.interval() == rp.DEFAULT_INTERVAL_MS
    with qtbot.waitSignal(panel.interval_changed) as changed:
        panel.interval_box.setCurrentIndex(rp.INTERVALS_MS.index(2000))
    assert changed.args == [2000] and panel.timer.interval() == 2000
    panel.pause_button.click()
    assert panel.paused and not panel.timer.isActive()
    assert panel.status_label.text() == "Paused"
    panel.set_paused(False)
    assert panel.timer.isActive() and not panel.pause_button.isChecked()
    panel.hide()
    assert not panel.timer.isActive()


# ----------------------------------------------------------------- actions
def run(panel: ResidencyPanel, name: str, qtbot) -> str:  # type: ignore[no-untyped-def]
    settle(panel)
    assert panel.run_action(name)
    settle(panel)
    return panel.action_label.text()


def test_touch_and_evict_on_the_whole_file_and_the_selection(
    panel: ResidencyPanel, partly_resident: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    document = Document.open(str(partly_resident))
    try:
        panel.set_document(document)
        settle(panel)
        text = run(panel, "touch", qtbot)
        assert text.startswith(f"Touch 0x0–{PAGES * PAGE:#x}: {len(CHOSEN)} → {PAGES} of {PAGES}")
        assert fincore_pages(partly_resident) == PAGES
        assert run(panel, "evict", qtbot).startswith(f"Evict 0x0–{PAGES * PAGE:#x}: {PAGES} → 0")
        assert fincore_pages(partly_resident) == 0
        panel.scope_box.setCurrentText("Selection")
        panel.set_selection(20 * PAGE, 10 * PAGE)  # either direction
        run(panel, "touch", qtbot)
        assert fincore_pages(partly_resident) == 10
        assert panel.touch_button.isEnabled()
    finally:
        panel.set_document(None)
        document.close()


def test_cancel_a_long_touch(panel: ResidencyPanel, disk_dir: Path, qtbot, monkeypatch) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    path = disk_dir / "big-sparse.bin"
    with open(path, "wb") as handle:
        handle.truncate(64 << 30)
    # Touch skips holes now: pretend the file system cannot report them, so the touch is long.
    monkeypatch.setattr("mmhex.core.residency.next_data", lambda _fd, position, _end: position)
    monkeypatch.setattr("mmhex.ui.panels.residency_panel.confirm_touch", lambda *_args: True)
    document = Document.open(str(path))
    try:
        panel.set_document(document)
        settle(panel)
        assert panel.run_action("touch")
        assert panel.cancel_button.isVisibleTo(panel) and not panel.evict_button.isEnabled()
        qtbot.waitUntil(lambda: panel.action_label.text().startswith("Working…"), timeout=5000)
        panel.cancel_button.click()
        settle(panel)
        assert panel.action_label.text() == "Cancelled."
        assert panel.evict_button.isEnabled() and not panel.cancel_button.isVisibleTo(panel)
    finally:
        panel.set_document(None)
        document.close()
        evict(path)
        path.unlink()


def test_refused_lock_shows_the_sentence(
    panel: ResidencyPanel, partly_resident: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    document = Document.open(str(partly_resident))
    try:
        panel.set_document(document)
        settle(panel)
        sentence = "Locking 1.2 MiB was refused [mlock]: … (RLIMIT_MEMLOCK) …"

        def refuse(start: int, end: int) -> None:
            raise MemoryLockError(12, sentence)

        assert panel.tracker is not None
        monkeypatch.setattr(panel.tracker, "lock", refuse)
        assert panel.run_action("lock")
        settle(panel)
        assert panel.action_label.text() == sentence
        assert panel.lock_button.isEnabled()
    finally:
        panel.set_document(None)
        document.close()


def test_switching_documents_during_a_refresh(
    panel: ResidencyPanel, partly_resident: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    other = partly_resident.with_name("other.bin")
    write_random_file(other, 10 * PAGE)
    first = Document.open(str(partly_resident))
    second = Document.open(str(other))
    shown: list[str] = []
    real_show = panel.show_snapshot
    monkeypatch.setattr(
        panel, "show_snapshot", lambda snap: (shown.append(snap.path), real_show(snap))
    )
    real_snapshot = DocumentResidency.snapshot

    def slow(self: DocumentResidency, **request: object) -> ResidencySnapshot:
        time.sleep(0.2)
        return real_snapshot(self, **request)

    monkeypatch.setattr(DocumentResidency, "snapshot", slow)
    try:
        panel.set_document(first)
        first_tracker = panel.tracker
        panel.set_document(second)  # the first refresh still runs: its result is dropped
        settle(panel)
        assert shown == [str(other)]
        assert panel.snapshot is not None and panel.snapshot.size == 10 * PAGE
        assert first_tracker is not None and first_tracker._probe is None  # closed once idle
    finally:
        panel.set_document(None)
        first.close()
        second.close()


def test_zoom_changes_pages_per_cell(panel: ResidencyPanel) -> None:
    panel.show()
    assert not panel.zoom_in_button.isEnabled()
    panel.zoom_out_button.click()
    panel.zoom_out_button.click()
    assert panel.pages_per_cell == 4
    layout = panel.detail_layout(1 << 30)
    assert layout.bucket_pages == 4 and layout.count == panel.detail.capacity()
    assert "4 pages (16 KiB) per cell" in panel.detail_caption.text()
    panel.zoom_in_button.click()
    assert panel.pages_per_cell == 2


# ----------------------------------------------------------------- wiring
class FakeView(QWidget):
    selection_changed = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.jumps: list[int] = []

    def go_to(self, offset: int) -> None:
        self.jumps.append(offset)


class FakeMainWindow(QMainWindow):
    """The extension interface the main window offers (see install's docstring)."""

    document_changed = Signal(object)
    visible_range_changed = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.view = FakeView()
        self.document = None
        self.docks: list[tuple[str, bool]] = []

    def add_dock(
        self, widget: QWidget, title: str, area: Qt.DockWidgetArea, visible_by_default: bool
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks.append((title, visible_by_default))
        return dock


def test_install_wires_the_panel(partly_resident: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    QApplication.setOrganizationName("mmhex-tests")
    window = FakeMainWindow()
    qtbot.addWidget(window)
    panel = install(window)
    try:
        assert window.docks == [("Residency", True)]
        document = Document.open(str(partly_resident))
        window.document_changed.emit(document)
        settle(panel)
        assert panel.snapshot is not None
        assert panel.document is document
        window.visible_range_changed.emit(5 * PAGE, 6 * PAGE)
        assert panel.visible_range == (5 * PAGE, 6 * PAGE)
        window.view.selection_changed.emit(PAGE, 3 * PAGE)
        assert panel.selection == (PAGE, 3 * PAGE)
        panel.jump_requested.emit(1 << 40)
        assert window.view.jumps == [1 << 40]
        window.document_changed.emit(None)
        assert panel.tracker is None
        document.close()
    finally:
        panel.shutdown()


def test_evicted_file_reads_zero_in_panel(
    panel: ResidencyPanel, partly_resident: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    evict(partly_resident)
    document = Document.open(str(partly_resident))
    try:
        panel.set_document(document)
        snapshot = wait_snapshot(panel, qtbot)
        assert snapshot.totals.resident == 0 == fincore_pages(partly_resident)
        assert panel.totals_label.text().startswith(f"Resident: 0 of {PAGES:,} pages")
    finally:
        panel.set_document(None)
        document.close()
        os.sync()
