"""A window that never shows stale state: focus, status bar, inspector origin, resets, help."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, qVersion
from PySide6.QtWidgets import QApplication, QDockWidget, QInputDialog

from mmhex.ui import settings
from mmhex.ui.features import install_features
from mmhex.ui.links import STALE_NOTE

TIMEOUT = 10_000


@pytest.fixture
def full(window, questions, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # bookmarks
    install_features(window)
    return window


def dock(window, title: str) -> QDockWidget:
    return next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == title)


def feature(window, name: str):
    return window.action_targets[name]


def make_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------- focus
def test_grid_has_focus_after_open_and_after_a_dialog(full, random_file, qtbot) -> None:
    assert full.open_path(str(random_file)) is None
    assert full.isActiveWindow() and full.view.hasFocus()

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QInputDialog)
        dialog.setIntValue(8)
        dialog.accept()

    QTimer.singleShot(50, answer)
    full.ask_bytes_per_row()
    qtbot.waitUntil(lambda: full.view.hasFocus() and full.isActiveWindow(), timeout=2000)
    assert full.view.bytes_per_row == 8


def test_grid_has_focus_when_the_window_first_shows(qtbot, random_file) -> None:
    from mmhex.ui.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    install_features(main)
    assert main.open_path(str(random_file)) is None  # before show, as `mmhex FILE` does
    main.show()
    qtbot.waitUntil(lambda: main.view.hasFocus() and main.isActiveWindow(), timeout=2000)


# ----------------------------------------------------------------- status bar
def test_a_passing_message_never_hides_cursor_and_selection(full, random_file) -> None:
    assert full.open_path(str(random_file)) is None
    full.view.select(0x10, 0x20)
    full.statusBar().showMessage("Copied 16 bytes as hex digits.", 5000)
    QApplication.processEvents()
    assert full.cursor_label.isVisible() and full.selection_label.isVisible()
    assert full.cursor_label.text() == "Offset 0x1f (31)"
    assert full.selection_label.text() == "Selected 16 bytes from 0x10"
    assert full.statusBar().currentMessage() == "Copied 16 bytes as hex digits."


# ----------------------------------------------------------------- inspector
def test_inspector_reads_at_the_selection_start_and_says_so(full, random_file) -> None:
    data = random_file.read_bytes()
    inspector = full.action_targets["links"].search.inspector
    assert full.open_path(str(random_file)) is None
    full.view.select(0x10, 0x20)  # the cursor ends on 0x1f
    assert inspector.offset == 0x10
    assert inspector.offset_label.text() == "Selection starts at 0x10 (16)"
    assert inspector.text_of("uint8") == str(data[0x10])
    full.view.set_cursor(0x33)
    assert inspector.offset_label.text() == "Cursor at 0x33 (51)"
    assert inspector.text_of("uint8") == str(data[0x33])
    full.action_builder.actions["view.inspector_origin.cursor"].trigger()
    full.view.select(0x10, 0x20)
    assert inspector.offset == 0x1F
    assert inspector.offset_label.text() == "Cursor at 0x1f (31)"
    assert settings.inspector_origin() == "cursor"  # remembered


# ----------------------------------------------------------------- resets
def test_nothing_of_the_old_file_survives_opening_another(full, tmp_path, qtbot) -> None:
    first = make_file(tmp_path, "a.bin", b"\x00" * 100 + b"NEEDLE" + b"\x00" * 100 + b"NEEDLE")
    second = make_file(tmp_path, "b.bin", bytes(range(256)))
    links = full.action_targets["links"]
    search = links.search
    assert full.open_path(str(first)) is None
    search.bar.show_find()
    search.bar.pattern_edit.setText("NEEDLE")
    with qtbot.waitSignal(search.controller.results_ready, timeout=TIMEOUT):
        search.controller.find_all()
    assert search.results.model.rowCount() == 2
    search.bar.pattern_edit.setText("ABSENT")
    with qtbot.waitSignal(search.controller.not_found, timeout=TIMEOUT):
        search.controller.find_next()
    assert search.bar.message.text()
    full.view.select(150, 190)
    residency = next(p for p in full.findChildren(QDockWidget) if p.windowTitle() == "Residency")
    assert residency.widget().selection == (150, 190)

    assert full.open_path(str(second)) is None
    assert search.results.model.rowCount() == 0
    assert search.bar.message.text() == ""
    assert residency.widget().selection == (0, 0)
    assert search.inspector.offset == 0
    assert search.inspector.text_of("uint8") == "0"
    assert full.view.selection == (0, 0)


def test_changed_pattern_marks_find_all_results_stale(full, tmp_path, qtbot) -> None:
    path = make_file(tmp_path, "a.bin", b"xxNEEDLExxNEEDLE")
    search = full.action_targets["links"].search
    assert full.open_path(str(path)) is None
    search.bar.show_find()
    search.bar.pattern_edit.setText("NEEDLE")
    with qtbot.waitSignal(search.controller.results_ready, timeout=TIMEOUT):
        search.controller.find_all()
    assert search.results.summary.text() == "2 results"
    search.bar.pattern_edit.setText("NEEDL")
    assert search.results.summary.text() == "2 results" + STALE_NOTE
    with qtbot.waitSignal(search.controller.results_ready, timeout=TIMEOUT):
        search.controller.find_all()
    assert search.results.summary.text() == "2 results"


def test_empty_window_disables_the_actions_on_a_file(full, random_file) -> None:
    actions = full.action_builder.actions
    on_file = ("search.find", "search.all", "bookmarks.add", "go.offset", "edit.select_all",
               "edit.copy", "search.find_selection", "file.close")  # fmt: skip
    for key in on_file:
        assert not actions[key].isEnabled(), key
    for key in ("file.open", "view.zoom_in", "help.shortcuts", "file.quit"):
        assert actions[key].isEnabled(), key
    assert full.open_path(str(random_file)) is None
    for key in on_file:
        if key not in ("edit.copy", "search.find_selection"):  # those need a selection
            assert actions[key].isEnabled(), key
    full.close_document()
    assert not actions["search.find"].isEnabled()


# ----------------------------------------------------------------- bookmarks
def test_ctrl_b_says_what_it_bookmarked_and_keeps_the_focus(full, random_file, qtbot) -> None:
    assert full.open_path(str(random_file)) is None
    dock(full, "Data inspector").raise_()
    full.view.select(0x40, 0x48)
    full.view.setFocus()
    full.action_builder.actions["bookmarks.add"].trigger()
    message = full.statusBar().currentMessage()
    assert message.startswith("Bookmarked 8 bytes at 0x40")
    bookmarks = dock(full, "Bookmarks")
    qtbot.waitUntil(lambda: not bookmarks.visibleRegion().isEmpty(), timeout=2000)
    assert full.view.hasFocus()


# ----------------------------------------------------------------- help
def test_keyboard_shortcuts_lists_every_action_with_its_keys(full) -> None:
    dialog = full.show_shortcuts()
    rows = dialog.visible_rows()
    listed = {(action, keys) for action, _where, keys in rows}
    for key, action in full.action_builder.actions.items():
        if action.menu() is not None:
            continue
        keys = ", ".join(s.toString(s.SequenceFormat.NativeText) for s in action.shortcuts())
        text = action.text().replace("&", "").rstrip("…")
        if key.startswith("edit.undo") or key.startswith("edit.redo"):
            text = text.split(" ")[0]  # "Undo Typing…" names the step to undo
        assert (text, keys) in listed, (key, text, keys)
    assert ("Next byte", "Grid", "Right") in rows
    dialog.filter.setText("ctrl+c")
    assert [row[0] for row in dialog.visible_rows()] == ["Copy"]
    dialog.close()


def test_about_names_python_qt_and_the_search_engines() -> None:
    from mmhex.ui.main_window import about_text

    text = about_text()
    assert f"Python {platform.python_version()}" in text
    assert f"Qt {qVersion()}" in text
    for name, label in (("stringzilla", "StringZilla"), ("hyperscan", "Hyperscan")):
        try:
            assert f"{label} {metadata.version(name)}" in text
        except metadata.PackageNotFoundError:
            assert f"{label} (not installed)" in text
