"""Private copies and a save's dirty pages in the residency panel, against the pages written.

Edits in private mode must mark exactly the written pages' cells (reference: the offsets the
test wrote); a save paused between copying its bytes into the file's shared mapping and its
msync must show those pages dirty, the panel refreshing fast meanwhile, and zero dirty pages
after the save, when the refresh returns to its chosen interval.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor

from mmhex.core import save as save_module
from mmhex.core.document import Document
from mmhex.core.residency import PAGE_SIZE
from mmhex.ui.panels import residency_panel as rp
from mmhex.ui.panels.residency_panel import ResidencyPanel
from tests.residency_support import disk_dir, write_random_file  # noqa: F401  (fixture)
from tests.ui.editing_helpers import open_for_editing
from tests.ui.test_residency_panel import panel, settle, wait_snapshot  # noqa: F401  (fixture)

PAGES = 300
WRITTEN = [2, 3, 77, 150, 151, 299]  # pages the tests write one byte into


@pytest.fixture
def plain_file(disk_dir: Path) -> Path:  # noqa: F811
    path = disk_dir / "pages.bin"
    write_random_file(path, PAGES * PAGE_SIZE)
    return path


def cells_of_color(shown: ResidencyPanel, color: QColor) -> list[int]:
    """The per-page map's cells (pages) drawn in ``color``, read back from the pixels."""
    grid = shown.detail
    image = grid.grab().toImage()
    assert grid.capacity() >= PAGES, "the test panel shows every page of the file"
    return [
        page for page in range(PAGES) if QColor(image.pixel(grid.cell_rect(page).center())) == color
    ]


def nonzero(values: tuple[int, ...] | None) -> list[int]:
    assert values is not None
    return [index for index, value in enumerate(values) if value]


def test_private_copies_mark_exactly_the_pages_written(
    panel: ResidencyPanel,  # noqa: F811
    plain_file: Path,
    qtbot,
) -> None:  # type: ignore[no-untyped-def]
    panel.show()
    qtbot.waitExposed(panel)
    document = Document.open(str(plain_file))
    try:
        document.enable_editing()
        panel.set_document(document)
        panel.set_visible_range(0, 1024)
        snapshot = wait_snapshot(panel, qtbot)
        assert snapshot.private_pages == 0
        assert cells_of_color(panel, rp.PRIVATE) == []
        for page in WRITTEN:
            document.write(page * PAGE_SIZE + 5 * page % PAGE_SIZE, b"\x5a")
        snapshot = wait_snapshot(panel, qtbot)
        assert snapshot.private_pages == len(WRITTEN)
        assert snapshot.detail is not None and snapshot.detail.layout.bucket_pages == 1
        assert nonzero(snapshot.detail.private) == WRITTEN
        overview = snapshot.overview
        expected = sorted({overview.layout.bucket_of(page * PAGE_SIZE) for page in WRITTEN})
        assert nonzero(overview.private) == expected
        assert cells_of_color(panel, rp.PRIVATE) == WRITTEN
        assert "private copies 1" in panel.detail.hover_text(WRITTEN[0])
        assert "private copies" not in panel.detail.hover_text(WRITTEN[-1] - 1)
    finally:
        panel.set_document(None)
        document.close()


def test_a_save_shows_dirty_pages_then_none(
    window, editor, plain_file: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    residency = rp.install(window)
    try:
        dock = residency.parentWidget()
        dock.show()
        window.resize(1100, 900)
        model = open_for_editing(window, editor, plain_file)
        document = window.document
        for page in WRITTEN:
            offset = page * PAGE_SIZE + 7
            document.write(offset, b"\xa5")
            model[offset] = 0xA5
        residency.set_visible_range(0, 1024)
        before = wait_snapshot(residency, qtbot)
        assert before.totals.dirty == 0 and nonzero(before.detail.private) == WRITTEN
        assert residency.timer.interval() == rp.DEFAULT_INTERVAL_MS

        # The save stops after copying its bytes into the file's pages, before msync.
        paused, release = threading.Event(), threading.Event()

        def checkpoint(name: str) -> None:
            if name == "span-0-copied":
                paused.set()
                release.wait(20)

        monkeypatch.setattr(save_module, "no_checkpoint", checkpoint)
        seen: dict[str, object] = {}
        began = time.monotonic()

        def watch() -> None:
            """Runs inside the save's event loop: look at the panel while the save waits."""
            snapshot = residency.snapshot
            if paused.is_set() and "interval" not in seen:
                seen["interval"] = residency.timer.interval()
                seen["following"] = residency.following_save
                seen["since"] = time.monotonic()
            if (
                "since" in seen
                and snapshot is not None
                and snapshot.totals.dirty
                and "dirty" not in seen
            ):
                seen["dirty"] = snapshot.totals.dirty
                seen["dirty_cells"] = nonzero(snapshot.detail.dirty)
                seen["orange"] = cells_of_color(residency, rp.DIRTY)
                release.set()
            if time.monotonic() - began > 15:
                release.set()

        watcher = QTimer()
        watcher.setInterval(20)
        watcher.timeout.connect(watch)
        watcher.start()
        try:
            assert editor.save()
        finally:
            watcher.stop()
            release.set()
        assert seen.get("following") is True
        assert seen["interval"] <= 250
        assert seen.get("dirty", 0) > 0, "the paused save's dirty pages were never shown"
        # The save's dirty pages are the edited pages, nothing else.
        assert seen["dirty_cells"] and set(seen["dirty_cells"]) <= set(WRITTEN)
        assert seen["orange"] == seen["dirty_cells"]
        assert plain_file.read_bytes() == bytes(model)
        # After the save: measured again, nothing dirty, and the refresh slows down again.
        qtbot.waitUntil(lambda: not residency.following_save, timeout=10_000)
        after = wait_snapshot(residency, qtbot)
        assert after.totals.dirty == 0 and after.totals.writeback == 0
        assert cells_of_color(residency, rp.DIRTY) == []
        assert residency.timer.interval() == rp.DEFAULT_INTERVAL_MS
    finally:
        residency.shutdown()
