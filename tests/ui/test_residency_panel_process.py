"""The residency panel following a process: each page's state against /proc/PID/pagemap read
here independently, a page the child touches flipping, the legend and the disabled actions, and
Open Mapped File from a cell's menu opening the file at the mapped offset in a new tab."""

from __future__ import annotations

import os
import struct

import pytest
from PySide6.QtGui import QColor

from mmhex.core.process_document import ProcessDocument
from mmhex.core.process_residency import PageCounts, ProcessSnapshot
from mmhex.core.residency import PAGE_SIZE
from mmhex.ui.features import install_features
from mmhex.ui.panels import residency_panel as rp
from mmhex.ui.panels.residency_panel import ResidencyPanel
from mmhex.ui.process.feature import feature_of
from tests.process_support import Child, child  # noqa: F401 (fixture)
from tests.ui.test_residency_panel import panel, wait_snapshot  # noqa: F401 (fixture)

PRESENT, SWAPPED, FILE, SOFT_DIRTY = 1 << 63, 1 << 62, 1 << 61, 1 << 55


def pagemap_entry(pid: int, address: int) -> int:
    """The reference: one u64 of /proc/PID/pagemap, read and decoded here."""
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    try:
        (entry,) = struct.unpack("<Q", os.pread(fd, 8, address // PAGE_SIZE * 8))
    finally:
        os.close(fd)
    return entry


def expected_counts(entry: int) -> PageCounts:
    present = bool(entry & PRESENT)
    swapped = not present and bool(entry & SWAPPED)
    held = present or swapped
    return PageCounts(
        pages=1,
        present=int(present),
        swapped=int(swapped),
        file_backed=int(held and bool(entry & FILE)),
        anonymous=int(held and not entry & FILE),
        soft_dirty=int(bool(entry & SOFT_DIRTY)),
    )


def expected_color(entry: int) -> QColor:
    if entry & PRESENT:
        return rp.RESIDENT if entry & FILE else rp.PRIVATE
    return rp.SWAPPED if entry & SWAPPED else rp.NOT_RESIDENT


def cell_color(shown: ResidencyPanel, index: int) -> QColor:
    grid = shown.detail
    return QColor(grid.grab().toImage().pixel(grid.cell_rect(index).center()))


def check_every_page(shown: ResidencyPanel, document: ProcessDocument, pid: int) -> None:
    """Every page of the per-page map equals pagemap, in counts and in colour."""
    snapshot = shown.snapshot
    assert isinstance(snapshot, ProcessSnapshot) and snapshot.detail is not None
    detail = snapshot.detail
    assert detail.layout.bucket_pages == 1 and len(detail) > 8
    image = shown.detail.grab().toImage()
    for index in range(min(len(detail), shown.detail.capacity())):
        start, _end = detail.layout.bucket_range(index)
        entry = pagemap_entry(pid, document.address_of(start))
        assert detail.counts(index) == expected_counts(entry), hex(document.address_of(start))
        drawn = QColor(image.pixel(shown.detail.cell_rect(index).center()))
        assert drawn == expected_color(entry), hex(document.address_of(start))


def test_pages_equal_pagemap_and_a_touched_page_flips(
    panel: ResidencyPanel,  # noqa: F811
    child: Child,  # noqa: F811
    qtbot,
) -> None:  # type: ignore[no-untyped-def]
    panel.show()
    qtbot.waitExposed(panel)
    document = ProcessDocument.open(child.pid)
    try:
        panel.set_document(document)
        untouched = document.offset_of(child.info["untouched"])
        assert untouched is not None
        panel.set_visible_range(untouched, untouched + 256)
        snapshot = wait_snapshot(panel, qtbot)
        assert isinstance(snapshot, ProcessSnapshot) and snapshot.size == document.size
        assert snapshot.overview.layout.end == document.size
        check_every_page(panel, document, child.pid)
        # An idle process measures the same: the same objects come back, nothing is redrawn.
        paints = panel.detail.paints
        again = wait_snapshot(panel, qtbot)
        assert again.overview is snapshot.overview and again.detail is snapshot.detail
        assert panel.detail.paints == paints
        index = snapshot.detail.layout.bucket_of(untouched)
        assert snapshot.detail.counts(index).present == 0
        assert cell_color(panel, index) == rp.NOT_RESIDENT
        assert "not present" in panel.detail.hover_text(index)
        assert f"{child.info['untouched']:#x}" in panel.detail.hover_text(index)

        assert child.ask("touch") == "ok"
        snapshot = wait_snapshot(panel, qtbot)
        flipped = snapshot.detail.counts(index)
        assert flipped.present == 1 and flipped.anonymous == 1
        assert cell_color(panel, index) == rp.PRIVATE
        check_every_page(panel, document, child.pid)
        # The totals are the overview's sums, which cover the whole folded space.
        totals = snapshot.totals
        assert totals.pages == document.size // PAGE_SIZE
        assert totals.present == sum(snapshot.overview.present)
        assert "Present:" in panel.totals_label.text()
    finally:
        panel.set_document(None)
        document.close()


def test_a_process_has_its_legend_and_no_file_actions_nor_an_empty_window(
    panel: ResidencyPanel,  # noqa: F811
    child: Child,  # noqa: F811
    random_file,
    qtbot,
) -> None:  # type: ignore[no-untyped-def]
    from mmhex.core.document import Document

    panel.show()
    document = ProcessDocument.open(child.pid)
    other = Document.open(str(random_file))
    buttons = (panel.touch_button, panel.evict_button, panel.lock_button, panel.unlock_button)
    try:
        for button in (*buttons, panel.scope_box):  # an empty window: nothing to act on
            assert not button.isEnabled() and button.toolTip() != rp.PROCESS_ACTIONS_TIP
        panel.set_document(document)
        assert panel.process_legend.isVisible() and not panel.file_legend.isVisible()
        for button in (*buttons, panel.scope_box):
            assert not button.isEnabled()
            assert button.toolTip() == rp.PROCESS_ACTIONS_TIP
        assert not panel.run_action("touch")
        assert panel.overview_caption.text().startswith("Address space")
        panel.set_document(other)  # a file again: everything comes back
        assert panel.file_legend.isVisible() and not panel.process_legend.isVisible()
        for button in (*buttons, panel.scope_box):
            assert button.isEnabled() and button.toolTip() != rp.PROCESS_ACTIONS_TIP
    finally:
        panel.set_document(None)
        document.close()
        other.close()


@pytest.fixture
def featured(window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    install_features(window)
    yield window, feature_of(window), window.findChild(ResidencyPanel)
    window.findChild(ResidencyPanel).shutdown()
    feature_of(window).stop_children()


def test_open_mapped_file_from_a_cell_of_a_file_backed_region(featured, child: Child, qtbot):  # noqa: F811
    window, feature, residency = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    assert residency.document is document
    assert residency.parentWidget().isVisible(), "the Residency dock stays for a process"
    # A cell on the second page of the mapped backing file.
    offset = document.offset_of(child.info["file"] + PAGE_SIZE)
    assert offset is not None
    menu = residency.grid_menu(offset)
    item = next(a for a in menu.actions() if a.text().startswith("Open Mapped File"))
    assert item.isEnabled() and item.text().endswith(f"backing.bin at {PAGE_SIZE:#x}")
    # An anonymous cell offers it disabled, saying why.
    anon = residency.grid_menu(document.offset_of(child.info["anon"]))
    disabled = next(a for a in anon.actions() if a.text().startswith("Open Mapped File"))
    assert not disabled.isEnabled() and "No file backs" in disabled.toolTip()
    tabs = window.tab_bar.count()
    item.trigger()
    assert window.tab_bar.count() == tabs + 1
    assert os.path.basename(window.document.path) == "backing.bin"
    assert window.view.cursor_offset == PAGE_SIZE
    assert residency.document is window.document and not residency.is_process


def test_right_click_on_a_cell_asks_for_its_menu(panel: ResidencyPanel, qtbot) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication, QMenu

    from tests.ui.test_residency_panel import fake_snapshot

    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(fake_snapshot([1, 0, 1] * 20))
    grid = panel.detail
    asked: list[int] = []
    grid.menu_requested.connect(lambda offset, _where: asked.append(offset))
    center = grid.cell_rect(7).center()
    QApplication.sendEvent(
        grid, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, center, grid.mapToGlobal(center))
    )
    assert asked == [7 * PAGE_SIZE]
    shown = [menu for menu in panel.findChildren(QMenu) if menu.isVisible()]
    assert len(shown) == 1 and shown[0].actions()[0].text() == "Go to 0x7000–0x7000"
    shown[0].close()
    # Past the last cell the event goes on to the panel's own menu (not sent: it would block).
    assert grid.index_at(QPoint(grid.width() - 1, grid.height() - 1)) is None
    menu = panel.grid_menu(7 * PAGE_SIZE)
    texts = [action.text() for action in menu.actions()]
    assert texts[0] == "Go to 0x7000–0x7000" and panel.compact_action in menu.actions()
    assert not any(text.startswith("Open Mapped File") for text in texts)  # a file has none
    jumps: list[int] = []
    panel.jump_requested.connect(jumps.append)
    menu.actions()[0].trigger()
    assert jumps == [7 * PAGE_SIZE]
