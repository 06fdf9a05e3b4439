"""The bookmarks dock: add from the selection, persist, rename, recolour, navigate, highlight."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from mmhex.core.bookmarks import PALETTE
from mmhex.ui.panels.bookmarks_panel import HIGHLIGHT_ALPHA, BookmarksPanel


@pytest.fixture
def target(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(4096))
    return str(path)


@pytest.fixture
def panel(qtbot, target):
    widget = BookmarksPanel()
    qtbot.addWidget(widget)
    widget.set_file(target)
    return widget


def test_add_persist_and_reload(panel, qtbot, target):
    panel.set_selection(100, 116)
    with qtbot.waitSignal(panel.changed):
        mark = panel.add_from_selection("header")
    assert (mark.start, mark.end, mark.name, mark.color) == (100, 116, "header", PALETTE[0])
    panel.set_selection(0, 0)
    panel.set_cursor(7)
    panel.add_from_selection()  # nothing selected: the byte at the cursor
    assert panel.table.rowCount() == 2
    assert panel.table.item(0, 0).text() == "Bookmark at 0x7"
    assert panel.table.item(1, 1).text() == "0x64" and panel.table.item(1, 2).text() == "16"
    other = BookmarksPanel()
    qtbot.addWidget(other)
    other.set_file(target)
    assert [b.start for b in other.bookmarks] == [7, 100]


def test_rename_recolour_and_remove(panel, qtbot, target):
    panel.set_selection(10, 20)
    mark = panel.add_from_selection("a")
    panel.table.item(0, 0).setText("renamed")  # as the user edits the cell
    assert panel.bookmarks.items[0].name == "renamed"
    panel.set_color(panel.bookmarks.items[0], "#123456")
    assert panel.bookmarks.items[0].color == "#123456"
    reloaded = BookmarksPanel()
    qtbot.addWidget(reloaded)
    reloaded.set_file(target)
    assert (reloaded.bookmarks.items[0].name, reloaded.bookmarks.items[0].color) == (
        "renamed",
        "#123456",
    )
    panel.table.selectRow(0)
    panel.remove_selected()
    assert panel.table.rowCount() == 0 and mark not in panel.bookmarks.items


def test_next_previous_jump_and_wrap(panel, qtbot):
    for start in (300, 100, 200):
        panel.set_selection(start, start + 4)
        panel.add_from_selection()
    panel.set_cursor(150)
    with qtbot.waitSignal(panel.jump_requested) as blocker:
        panel.next_button.click()
    assert blocker.args[0].start == 200
    assert panel.selected().start == 200
    with qtbot.waitSignal(panel.jump_requested) as blocker:
        panel.go_next()
    assert blocker.args[0].start == 300
    with qtbot.waitSignal(panel.jump_requested) as blocker:
        panel.go_next()  # wraps to the first
    assert blocker.args[0].start == 100
    with qtbot.waitSignal(panel.jump_requested) as blocker:
        panel.go_previous()  # and back round to the last
    assert blocker.args[0].start == 300


def test_highlights_use_each_bookmark_colour(panel):
    panel.set_selection(10, 20)
    panel.add_from_selection()
    panel.set_selection(50, 60)
    panel.add_from_selection()
    shaded = panel.highlights(15, 55)
    assert [(s, e) for s, e, _ in shaded] == [(10, 20), (50, 60)]
    expected = QColor(PALETTE[1])
    expected.setAlpha(HIGHLIGHT_ALPHA)
    assert shaded[1][2] == expected
    assert panel.highlights(20, 50) == []


def test_no_file_and_errors(qtbot, target):
    widget = BookmarksPanel()
    qtbot.addWidget(widget)
    assert not widget.add_button.isEnabled()
    assert widget.add_from_selection() is None and "Open a file" in widget.message.text()
    assert widget.highlights(0, 100) == []
    widget.set_file(target)
    assert widget.add_button.isEnabled() and not widget.remove_button.isEnabled()
    widget.go_next()
    assert widget.message.text() == "There are no bookmarks in this file."
