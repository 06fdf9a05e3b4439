"""View options and recent files persist through QSettings, also across processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QMenu

from mmhex.ui import settings
from mmhex.ui.hex_view import fixed_font
from mmhex.ui.main_window import MainWindow
from mmhex.ui.settings import ViewOptions

ROOT = Path(__file__).resolve().parents[2]


def checked(window: MainWindow, key: str) -> bool:
    return window.action_builder.actions[key].isChecked()


def test_options_survive_a_new_window(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.action_builder.actions["view.bytes_per_row.32"].trigger()
    window.action_builder.actions["view.group.4"].trigger()
    window.action_builder.actions["view.offset_base.10"].trigger()
    window.zoom_in()
    window.zoom_in()
    expected = ViewOptions(32, 4, 10, round(fixed_font().pointSizeF()) + 2)
    assert window.options == expected
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.options == expected
    assert again.view.bytes_per_row == 32
    assert again.view.model.group == 4
    assert again.view.font().pointSizeF() == expected.font_size
    assert checked(again, "view.bytes_per_row.32")
    assert checked(again, "view.group.4")
    assert checked(again, "view.offset_base.10")


def test_settings_read_back_with_their_types_in_a_new_process(isolated_settings) -> None:
    settings.save_view_options(ViewOptions(24, 8, 10, 14, "dark", True, True, False, "cp437"))
    one = isolated_settings.parent / "one"
    one.write_bytes(b"1")  # recent files that no longer exist are dropped
    settings.add_recent_file(str(one))
    code = (
        "import json, dataclasses; from mmhex.ui import settings; "
        "print(json.dumps([dataclasses.asdict(settings.load_view_options()),"
        " settings.recent_files()]))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    options, recent = json.loads(out.stdout)
    assert options == {
        "bytes_per_row": 24,
        "group": 8,
        "offset_base": 10,
        "font_size": 14,
        "theme": "dark",
        "fit_width": True,
        "gap8": True,
        "colour_classes": False,
        "encoding": "cp437",
    }
    assert recent == [str(one)]  # a one-element list stays a list


def test_nonsense_in_the_settings_file_falls_back_to_defaults(isolated_settings) -> None:
    isolated_settings.write_text(
        "[view]\nbytes_per_row=abc\ngroup=3\noffset_base=7\nfont_size=-4\ntheme=purple\n"
    )
    assert settings.load_view_options() == ViewOptions()
    isolated_settings.write_text("[view]\nbytes_per_row=100000\nfont_size=1000\n")
    options = settings.load_view_options()
    assert options.bytes_per_row == settings.MAX_BYTES_PER_ROW
    assert options.font_size == settings.MAX_FONT_SIZE


def test_custom_bytes_per_row(window, random_file) -> None:
    window.open_path(str(random_file))
    window.set_bytes_per_row(24)
    assert checked(window, "view.bytes_per_row.custom")
    assert window.view.bytes_per_row == 24
    assert settings.load_view_options().bytes_per_row == 24


def test_zoom_shortcuts(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    default = round(fixed_font().pointSizeF())
    height = window.view.layout_geometry.line_height
    qtbot.keyClick(window.view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert window.view.font().pointSizeF() == default + 1
    assert window.view.layout_geometry.line_height > height
    qtbot.keyClick(window.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.view.font().pointSizeF() == default - 1
    qtbot.keyClick(window.view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.options.font_size == 0
    assert window.view.font().pointSizeF() == fixed_font().pointSizeF()


def test_recent_files_menu(qtbot, window, tmp_path) -> None:
    paths = []
    for name in ("a", "b", "c"):
        path = tmp_path / name
        path.write_bytes(name.encode() * 10)
        paths.append(str(path))
        assert window.open_path(str(path)) is None
    window.open_path(paths[0])  # again: moves to the top, not duplicated
    assert settings.recent_files() == [paths[0], paths[2], paths[1]]
    menu = QMenu()
    window.fill_recent_menu(menu)
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert texts == [paths[0], paths[2], paths[1], "Clear Recent Files"]
    menu.actions()[2].trigger()
    assert window.document.path == paths[1]
    menu.actions()[-1].trigger()
    assert settings.recent_files() == []


def test_dark_theme_colours_the_grid(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    try:
        window.set_theme("dark")
        qtbot.waitUntil(
            lambda: window.view.palette().color(QPalette.ColorRole.Base).lightness() < 60
        )
        image = window.view.viewport().grab().toImage()
        assert image.pixelColor(2, image.height() - 2).lightness() < 60
        assert settings.load_view_options().theme == "dark"
        window.set_theme("system")
        qtbot.waitUntil(
            lambda: window.view.palette().color(QPalette.ColorRole.Base).lightness() > 200
        )
        base = window.view.palette().color(QPalette.ColorRole.Base)
        image = window.view.viewport().grab().toImage()
        assert image.pixelColor(2, image.height() - 2) == base
    finally:
        window.set_theme("system")


def test_open_recent_drops_files_that_no_longer_exist(qtbot, window, tmp_path) -> None:
    kept, gone = tmp_path / "kept.bin", tmp_path / "gone.bin"
    for path in (kept, gone):
        path.write_bytes(b"x" * 10)
        assert window.open_path(str(path)) is None
    window.close_document()
    window.close_document()
    gone.unlink()
    menu = QMenu()
    window.fill_recent_menu(menu)
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert texts == [str(kept), "Clear Recent Files"]
    assert settings.recent_files() == [str(kept)]


def test_a_settings_path_that_is_not_a_file_is_never_replaced(tmp_path, monkeypatch) -> None:
    """MMHEX_SETTINGS=/dev/null once turned /dev/null into a file: QSettings saves by rename."""
    fifo = tmp_path / "not-a-file"
    os.mkfifo(fifo)
    monkeypatch.setenv(settings.SETTINGS_ENV, str(fifo))
    settings.save_view_options(ViewOptions(24, 8, 10, 14))
    settings.open_settings().sync()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert settings.load_view_options().bytes_per_row == 24  # kept for this process only
