"""Per-tab residency (issue 12): each tab keeps its scope, zoom, tracker and last snapshot, shown
at once when the tab comes back; a new tab starts clean; a closed tab's context is dropped."""

from __future__ import annotations

import os
from pathlib import Path

from mmhex.core.residency import PAGE_SIZE
from mmhex.ui.panels import residency_panel as rp
from tests.residency_support import disk_dir, write_random_file  # noqa: F401  (fixture)
from tests.ui.test_residency_panel import settle, wait_snapshot


def test_each_tab_keeps_its_residency_context(window, disk_dir: Path, qtbot) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, second = disk_dir / "first.bin", disk_dir / "second.bin"
    write_random_file(first, 64 * PAGE_SIZE)
    write_random_file(second, 9 * PAGE_SIZE, seed=2)
    panel = rp.install(window)
    try:
        assert window.open_path(str(first)) is None
        snapshot_a = wait_snapshot(panel, qtbot)
        tracker_a = panel.tracker
        assert snapshot_a.size == 64 * PAGE_SIZE
        panel.scope_box.setCurrentText("Selection")
        panel.set_pages_per_cell(4)
        settle(panel)
        snapshot_a = panel.snapshot
        panel.action_label.setText("Evict 0x0–0x40000: 64 → 0 of 64 pages resident (1 ms).")

        assert window.open_path(str(second)) is None  # a second tab: nothing of the first
        assert window.tab_bar.count() == 2
        assert panel.tracker is not tracker_a and panel.snapshot is None
        assert panel.scope_box.currentText() == "Whole file" and panel.pages_per_cell == 1
        assert panel.action_label.text() == ""
        snapshot_b = wait_snapshot(panel, qtbot)
        assert snapshot_b.size == 9 * PAGE_SIZE

        window.tab_bar.setCurrentIndex(0)  # back to the first: its state at once, unmeasured
        assert panel.tracker is tracker_a and panel.snapshot is snapshot_a
        assert panel.file_label.text() == "first.bin"
        assert "of 64 pages" in panel.totals_label.text()  # the second file has 9
        assert panel.scope_box.currentText() == "Selection" and panel.pages_per_cell == 4
        assert panel.action_label.text().startswith("Evict 0x0–0x40000")
        assert panel.overview.buckets is snapshot_a.overview
        settle(panel)  # and measured again behind it
        assert panel.snapshot is not snapshot_a and panel.snapshot.size == 64 * PAGE_SIZE

        window.tab_bar.setCurrentIndex(1)
        assert panel.snapshot is not None and panel.snapshot.path == os.path.abspath(second)
        assert panel.scope_box.currentText() == "Whole file"
        # A measurement of the first tab finishing now is kept for it, not drawn over the second.
        late = tracker_a.snapshot(overview_buckets=8)
        panel._on_snapshot(tracker_a, late)
        assert panel.snapshot.path == os.path.abspath(second)
        assert panel._contexts[id(tracker_a.document)].snapshot is late

        assert window.close_tab(0)  # the first tab closes: its context goes, its probe too
        settle(panel)
        assert id(tracker_a.document) not in panel._contexts
        assert tracker_a._probe is None and tracker_a._pagemap_fd == -1
        assert panel.snapshot.path == os.path.abspath(second)
        assert window.close_tab(0)
        settle(panel)
        assert panel.tracker is None and panel._contexts == {}
        assert panel.file_label.text() == "No file open."
    finally:
        panel.shutdown()
