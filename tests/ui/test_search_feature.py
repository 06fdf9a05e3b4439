"""The search feature installed in a real MainWindow: keys, grid highlights, docks, edits."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmhex.core.search import Match
from mmhex.ui.search import feature
from mmhex.ui.search.results import CURRENT_COLOR, HIT_COLOR

TIMEOUT = 10_000


@pytest.fixture
def installed(window, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data = bytearray(range(256)) * 64
    for off in (100, 5000, 9000, 16000):
        data[off : off + 5] = b"MAGIC"
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(data))
    search = feature.install(window)
    assert window.open_path(str(path)) is None
    return window, search, bytes(data)


def test_ctrl_f_f3_select_hits_and_the_inspector_follows(installed, qtbot):
    window, search, data = installed
    action = next(a for a in window.findChildren(type(window.menuBar().actions()[0]))
                  if a.text() == "&Find…")  # fmt: skip
    action.trigger()
    assert search.bar.isVisible() and search.bar.pattern_edit.hasFocus()
    qtbot.keyClicks(search.bar.pattern_edit, "MAGIC")
    with qtbot.waitSignal(search.controller.found, timeout=TIMEOUT):
        qtbot.keyClick(search.bar.pattern_edit, Qt.Key.Key_Return)
    assert window.view.selection == (100, 105)
    with qtbot.waitSignal(search.controller.found, timeout=TIMEOUT):
        search.controller.find_next()  # F3
    assert window.view.selection == (5000, 5005)
    with qtbot.waitSignal(search.controller.found, timeout=TIMEOUT):
        search.controller.find_previous()  # Shift+F3
    assert window.view.selection == (100, 105)
    assert search.inspector.offset == 104  # the view puts the cursor on the last selected byte
    assert search.inspector.text_of("uint8") == str(data[104])


def test_find_all_shades_every_hit_in_the_grid(installed, qtbot):
    window, search, _ = installed
    search.bar.show_find()
    search.bar.pattern_edit.setText("MAGIC")
    with qtbot.waitSignal(search.controller.results_ready, timeout=TIMEOUT):
        search.controller.find_all()
    assert search.results_dock.isVisible()
    assert [m.start for m in search.results.model.matches()] == [100, 5000, 9000, 16000]
    search.results.activated.emit(Match(9000, 9005))
    assert window.view.selection == (9000, 9005)
    shaded = [h for highlighter in window.view._highlighters for h in highlighter(8990, 9010)]
    assert (9000, 9005, CURRENT_COLOR) in shaded
    assert all(color in (HIT_COLOR, CURRENT_COLOR) for s, e, color in shaded if e - s == 5)


def test_bookmark_shortcut_and_persistence(installed, qtbot):
    window, search, _ = installed
    window.view.select(16, 32)
    search.bookmarks.add_from_selection("sixteen")  # what Ctrl+B calls
    assert [(b.start, b.end) for b in search.bookmarks.bookmarks] == [(16, 32)]
    window.view.go_to(0)
    search.bookmarks.go_next()
    assert window.view.selection == (16, 32)
    again = feature.install(window)  # a later session reads the saved list
    again.set_document(window.document)
    assert [b.name for b in again.bookmarks.bookmarks] == ["sixteen"]


def test_replace_all_and_inspector_edits_write_the_document(installed, qtbot):
    window, search, _ = installed
    document = window.document
    document.enable_editing()
    assert search.inspector.editable and search.bar.replace_button.toolTip() == ""
    search.bar.show_replace()
    search.bar.pattern_edit.setText("MAGIC")
    search.bar.replace_edit.setText("magic")
    with qtbot.waitSignal(search.controller.replace_all_ready, timeout=TIMEOUT):
        search.bar.replace_all_button.click()
    assert document.read(9000, 5) == b"magic" and document.modified
    window.view.go_to(40)
    search.inspector.type_value("uint32", "0xDEADBEEF")
    assert document.read(40, 4) == struct.pack("<I", 0xDEADBEEF)
    assert search.inspector.text_of("uint32") == str(0xDEADBEEF)


def test_read_only_document_refuses_replacing(installed):
    _window, search, _ = installed
    assert not search.inspector.editable
    assert "edit mode" in search.bar.replace_button.toolTip()
