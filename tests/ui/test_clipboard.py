"""Copy, Copy As, Copy Offset and the grid's context menu, checked against independent encoders."""

from __future__ import annotations

import ast
import base64
import binascii
import re
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from mmhex.ui import clipboard as clipboard_module
from mmhex.ui.editing import RAW_BYTES_MIME
from mmhex.ui.features import install_features
from mmhex.ui.hex_view import Pane

Button = QMessageBox.StandardButton
START, END = 0x123, 0x123 + 300  # not row-aligned, long enough for several rows


@pytest.fixture
def full(window, questions):
    """The shown test window with every feature installed."""
    install_features(window)
    return window


def copied() -> tuple[str, bytes]:
    mime = QApplication.clipboard().mimeData()
    return mime.text(), bytes(mime.data(RAW_BYTES_MIME).data())


def select_and(window, path: Path, key: str) -> tuple[str, bytes, bytes]:
    """Open ``path``, select [START, END), trigger action ``key``; (text, raw, reference)."""
    assert window.open_path(str(path)) is None
    window.view.select(START, END)
    window.action_builder.actions[key].trigger()
    text, raw = copied()
    return text, raw, path.read_bytes()[START:END]


def test_copy_from_hex_pane_is_hex_digits_plus_raw_bytes(full, random_file) -> None:
    text, raw, data = select_and(full, random_file, "edit.copy")
    assert text == binascii.hexlify(data, " ").decode()
    assert raw == data


def test_copy_from_text_pane_is_the_characters_shown(full, random_file) -> None:
    assert full.open_path(str(random_file)) is None
    full.view.set_active_pane(Pane.TEXT)
    full.view.select(0, 64)
    full.action_builder.actions["edit.copy"].trigger()
    text, raw = copied()
    data = random_file.read_bytes()[:64]
    # hexdump -C's text column shows the same characters (printable ASCII, '.' for the rest).
    out = subprocess.run(
        ["hexdump", "-C", "-n", "64", str(random_file)], capture_output=True, text=True, check=True
    ).stdout
    columns = "".join(re.findall(r"\|(.*)\|", out))
    assert text == columns
    assert raw == data


@pytest.mark.parametrize(
    ("key", "reference"),
    [
        ("hex", lambda d: binascii.hexlify(d, " ").decode().upper()),
        ("hex_plain", lambda d: binascii.hexlify(d).decode().upper()),
        ("base64", lambda d: base64.b64encode(d).decode()),
    ],
)
def test_copy_as_text_formats_match_binascii_and_base64(full, random_file, key, reference) -> None:
    text, raw, data = select_and(full, random_file, f"edit.copy_as.{key}")
    assert text == reference(data)
    assert raw == data


def test_copy_as_hexdump_matches_the_hexdump_tool(full, random_file) -> None:
    text, _raw, _data = select_and(full, random_file, "edit.copy_as.hexdump")
    expected = subprocess.run(
        ["hexdump", "-C", "-v", "-s", str(START), "-n", str(END - START), str(random_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert text == expected


@pytest.mark.parametrize("key", ["python", "escaped"])
def test_copy_as_python_literals_evaluate_to_the_bytes(full, random_file, key) -> None:
    text, _raw, data = select_and(full, random_file, f"edit.copy_as.{key}")
    literal = text if key == "python" else "b" + text
    assert ast.literal_eval(literal) == data


@pytest.mark.parametrize(
    ("key", "item"),
    [("c", r"0x([0-9a-f]{2})"), ("rust", r"0x([0-9a-f]{2})"), ("java", r"\(byte\)0x([0-9a-f]{2})")],
)
def test_copy_as_arrays_list_every_byte(full, random_file, key, item) -> None:
    text, _raw, data = select_and(full, random_file, f"edit.copy_as.{key}")
    body = text[text.index("{" if key != "rust" else "= [") :]
    assert bytes(int(h, 16) for h in re.findall(item, body)) == data
    assert f"{len(data)}" in text.splitlines()[0] or key == "java"


def test_copy_as_c_array_compiles_to_the_bytes(full, random_file, tmp_path) -> None:
    text, _raw, data = select_and(full, random_file, "edit.copy_as.c")
    source = tmp_path / "array.c"
    source.write_text(
        "#include <stdio.h>\n"
        + text
        + "int main(void){fwrite(data,1,sizeof data,stdout);return 0;}\n"
    )
    try:
        subprocess.run(["cc", "-o", str(tmp_path / "a"), str(source)], check=True)
    except FileNotFoundError:
        pytest.skip("no C compiler")
    assert subprocess.run([str(tmp_path / "a")], capture_output=True, check=True).stdout == data


def test_copy_then_paste_round_trip_is_exact(full, random_file) -> None:
    assert full.open_path(str(random_file)) is None
    assert full.request_edit_mode()
    data = random_file.read_bytes()
    full.view.select(0, 256)  # bytes that would not survive as text: \x00, \xff, newlines
    full.action_builder.actions["edit.copy"].trigger()
    full.view.set_active_pane(Pane.TEXT)  # text pane: pasting the hex text would give other bytes
    full.view.set_cursor(4096)
    full.action_builder.actions["edit.paste"].trigger()
    assert full.document.read(4096, 256) == data[:256]


def test_copy_offset(full, random_file) -> None:
    assert full.open_path(str(random_file)) is None
    full.view.select(0x1F4, 0x300)
    full.action_builder.actions["edit.copy_offset"].trigger()
    assert QApplication.clipboard().text() == "0x1F4"


def test_copy_needs_a_selection_and_a_file(full, random_file) -> None:
    actions = full.action_builder.actions
    assert not actions["edit.copy"].isEnabled()
    assert not actions["edit.copy_offset"].isEnabled()
    assert full.open_path(str(random_file)) is None
    assert not actions["edit.copy"].isEnabled()
    assert actions["edit.copy_offset"].isEnabled()
    full.view.select(1, 2)
    assert actions["edit.copy"].isEnabled()
    assert actions["edit.copy_as.base64"].isEnabled()


def test_large_copy_asks_and_runs_in_the_background(full, questions, random_file, monkeypatch):
    monkeypatch.setattr(clipboard_module, "LARGE_COPY", 1000)
    monkeypatch.setattr(clipboard_module, "READ_CHUNK", 999)  # several progress steps
    QApplication.clipboard().setText("before")
    assert full.open_path(str(random_file)) is None
    full.view.select_all()
    questions.answers = [Button.Cancel]
    full.action_builder.actions["edit.copy_as.base64"].trigger()
    assert QApplication.clipboard().text() == "before"
    assert "Copy" in questions.asked[-1][0]
    questions.answers = [Button.Yes]
    controller = full.findChild(clipboard_module.ClipboardController)
    full.action_builder.actions["edit.copy_as.base64"].trigger()
    assert controller.task is not None  # running on its worker thread
    assert not full.action_builder.actions["edit.copy"].isEnabled()
    controller.wait()
    assert QApplication.clipboard().text() == base64.b64encode(random_file.read_bytes()).decode()
    assert full.action_builder.actions["edit.copy"].isEnabled()


def test_too_large_copy_is_refused_with_a_sentence(full, random_file, monkeypatch) -> None:
    monkeypatch.setattr(clipboard_module, "MAX_COPY", 100)
    QApplication.clipboard().setText("before")
    assert full.open_path(str(random_file)) is None
    full.view.select(0, 101)
    full.action_builder.actions["edit.copy"].trigger()
    assert QApplication.clipboard().text() == "before"
    assert "Nothing was copied" in full.message_bar.text


CONTEXT_TEXTS = [
    "Copy",
    "Copy As",
    "Copy Offset",
    "Cut",
    "Paste",
    "",
    "Select All",
    "Fill Selection…",
    "Delete Selection",
    "Insert Bytes…",
    "",
    "Add Bookmark",
    "Find Selection",
    "Go to Offset…",
    "Selection Checksums",
]


def open_context_menu(window, offset: int):
    rect = window.view.byte_rect(offset, Pane.HEX)
    local = rect.center().toPoint()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, local, window.view.viewport().mapToGlobal(local)
    )
    QApplication.sendEvent(window.view.viewport(), event)
    return window.context_menu


def test_context_menu_lists_the_action_table_entries(full, random_file, qtbot) -> None:
    assert full.open_path(str(random_file)) is None
    full.view.select(16, 32)
    menu = open_context_menu(full, 20)  # inside the selection: it stays
    assert menu is not None
    texts = [a.text().replace("&", "") for a in menu.actions()]
    assert texts == CONTEXT_TEXTS
    assert full.view.selection == (16, 32)
    # The very actions of the menu bar: same shortcuts and enabled states.
    assert menu.actions()[0] is full.action_builder.actions["edit.copy"]
    submenu = menu.actions()[1].menu()
    assert len(submenu.actions()) == 9
    menu.close()
    menu = open_context_menu(full, 100)  # outside: the cursor moves there first
    assert full.view.selection == (100, 100)
    assert full.view.cursor_offset == 100
    menu.close()


def test_context_menu_find_selection_fills_the_find_bar(full, random_file) -> None:
    assert full.open_path(str(random_file)) is None
    full.view.select(0, 5)
    full.action_builder.actions["search.find_selection"].trigger()
    from mmhex.ui.search.find_bar import FindBar

    bar = full.findChild(FindBar)
    assert bar.isVisible()
    assert bar.pattern_edit.text() == "48 65 6C 6C 6F"  # "Hello"
    assert bar.mode.currentText() == "Hex"


def test_row_flagged_context_menu_is_added(full, random_file) -> None:
    from mmhex.ui.actions import ActionSpec

    class Target:
        def hello(self) -> None:
            pass

    full.install_actions(
        (ActionSpec("test.hello", "Hello", "test.hello", "&Tools", context_menu=True),),
        test=Target(),
    )
    assert full.open_path(str(random_file)) is None
    menu = open_context_menu(full, 0)
    assert menu.actions()[-1].text() == "Hello"
    menu.close()


def test_menu_key_opens_the_context_menu_at_the_cursor(full, random_file) -> None:
    assert full.open_path(str(random_file)) is None
    full.view.select(40, 50)
    full.view.setFocus()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(0, 0), QPoint(0, 0))
    QApplication.sendEvent(full.view.viewport(), event)
    menu = full.context_menu
    assert menu is not None and menu.isVisible()
    assert full.view.selection == (40, 50)
    menu.close()
