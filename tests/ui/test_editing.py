"""Editing in the window: typing in both panes, nibbles, undo/redo, paste, fill, Delete.

The reference is a bytearray with the same changes applied by hand; the file on disk is compared
with it after Save, and must be byte-for-byte unchanged (bytes and mtime) before.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from mmhex.cli import GuiRequest
from mmhex.ui.app import open_request
from mmhex.ui.editing import RAW_BYTES_MIME, repeated
from mmhex.ui.hex_view import Pane
from tests.ui.editing_helpers import Button, open_for_editing
from tests.ui.helpers import record_paint


def press(qtbot, window, shortcut: str) -> None:
    """Trigger the window action bound to ``shortcut`` the way the key would."""
    sequence = QKeySequence(shortcut)
    for action in window.action_builder.actions.values():
        if sequence in action.shortcuts():
            assert action.isEnabled(), f"{shortcut} ({action.objectName()}) is disabled"
            action.trigger()
            return
    raise AssertionError(f"no action is bound to {shortcut}")


def set_clipboard_text(text: str) -> None:
    QApplication.clipboard().setText(text)


def test_typing_hex_and_text_then_save_matches_the_reference(
    qtbot, window, editor, random_file
) -> None:
    assert window.open_path(str(random_file)) is None
    press(qtbot, window, "Ctrl+E")
    document = window.document
    assert document.editing and window.mode_label.text() == "Private edit"
    expected = bytearray(random_file.read_bytes())
    view = window.view

    view.set_cursor(0x10)
    qtbot.keyClick(view, Qt.Key.Key_4)
    # The high digit changed, the low one is still the file's; the cursor waits on the low digit.
    assert document.read(0x10, 1)[0] == 0x40 | (expected[0x10] & 0x0F)
    assert view.cursor_offset == 0x10 and view.cursor_nibble == 1
    qtbot.keyClicks(view, "1a2B")  # lower and upper case digits
    expected[0x10:0x12] = b"\x41\xa2"
    expected[0x12] = 0xB0 | (expected[0x12] & 0x0F)
    assert view.cursor_offset == 0x12 and view.cursor_nibble == 1
    qtbot.keyClick(view, Qt.Key.Key_C)
    expected[0x12] = 0xBC
    assert view.cursor_offset == 0x13 and view.cursor_nibble == 0

    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view.active_pane is Pane.TEXT and view.cursor_nibble == 0
    view.set_cursor(0x200)
    qtbot.keyClicks(view, "Hi there!")
    expected[0x200 : 0x200 + 9] = b"Hi there!"
    assert view.cursor_offset == 0x209

    assert document.read(0, len(expected)) == bytes(expected)
    assert window.isWindowModified() and "[*]" in window.windowTitle()
    assert random_file.read_bytes() != bytes(expected)  # nothing written yet

    press(qtbot, window, "Ctrl+S")
    assert random_file.read_bytes() == bytes(expected)
    assert not document.modified and not window.isWindowModified()


def test_unsaved_edits_leave_the_file_bytes_and_mtime_alone(window, editor, random_file) -> None:
    os.utime(random_file, ns=(1_000_000_000, 1_000_000_000))
    before = random_file.read_bytes()
    expected = open_for_editing(window, editor, random_file)
    window.view.set_cursor(5)
    editor.type_text("ff00")
    set_clipboard_text("01 02 03")
    window.view.set_cursor(100)
    assert editor.paste()
    assert editor.fill(200, 260, b"\xab")
    assert window.document.modified
    assert random_file.read_bytes() == before
    assert random_file.stat().st_mtime_ns == 1_000_000_000
    expected[5:7] = b"\xff\x00"
    expected[100:103] = b"\x01\x02\x03"
    expected[200:260] = b"\xab" * 60
    assert editor.save()
    assert random_file.read_bytes() == bytes(expected)
    assert random_file.stat().st_mtime_ns != 1_000_000_000


def test_the_cursor_shows_which_nibble_typing_changes(window, editor, random_file) -> None:
    open_for_editing(window, editor, random_file)
    view = window.view
    view.set_cursor(0x21)
    geometry = view.layout_geometry
    highlighted = view.palette().color(QPalette.ColorRole.HighlightedText)
    scroll = view.horizontalScrollBar().value()

    def cursor_glyphs() -> list[tuple[float, str]]:
        return [
            (round(text.x + scroll, 2), text.text)
            for text in record_paint(view).texts
            if text.color == highlighted and text.baseline > geometry.header_height
        ]

    digits = f"{window.document.read(0x21, 1)[0]:02x}"
    column_x = geometry.hex_column_x(0x21 % view.bytes_per_row)
    assert cursor_glyphs() == [(round(column_x, 2), digits[0])]
    editor.type_text("7")
    digits = f"{window.document.read(0x21, 1)[0]:02x}"
    assert digits[0] == "7"
    assert cursor_glyphs() == [(round(column_x + geometry.char_width, 2), digits[1])]
    # Read-only: the whole byte is the cursor again.
    editor.stack.undo()
    assert editor.disable_editing()
    digits = f"{window.document.read(0x21, 1)[0]:02x}"
    assert cursor_glyphs() == [(round(column_x, 2), digits[0] + digits[1])]


def test_any_cursor_move_points_typing_at_the_high_digit_again(
    qtbot, window, editor, random_file
) -> None:
    open_for_editing(window, editor, random_file)
    view = window.view
    view.set_cursor(8)
    editor.type_text("1")
    assert view.cursor_nibble == 1
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert (view.cursor_offset, view.cursor_nibble) == (9, 0)
    editor.type_text("2")
    qtbot.keyClick(view, Qt.Key.Key_Tab)  # the text pane has no digits
    assert view.cursor_nibble == 0
    with pytest.raises(ValueError):
        view.set_cursor_nibble(2)


def test_text_pane_types_latin1_and_refuses_other_characters(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    view = window.view
    view.set_active_pane(Pane.TEXT)
    view.set_cursor(300)
    assert editor.type_text("é")
    expected[300] = 0xE9
    assert not editor.type_text("€")
    assert "not a Latin-1 character" in window.statusBar().currentMessage()
    assert view.cursor_offset == 301
    assert window.document.read(0, len(expected)) == bytes(expected)


def test_a_non_hex_key_in_the_hex_pane_changes_nothing(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    window.view.set_cursor(7)
    assert not editor.type_text("g")
    assert "not a hex digit" in window.statusBar().currentMessage()
    assert not window.document.modified and editor.stack.count() == 0
    assert window.document.read(0, len(expected)) == bytes(expected)


def test_typing_at_the_last_byte_never_grows_the_file(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    size = len(expected)
    window.view.set_cursor(size - 1)
    editor.type_text("abcd")
    expected[-1] = 0xCD  # the last byte overwritten twice
    assert window.document.size == size
    assert window.view.cursor_offset == size - 1
    assert "End of file" in window.statusBar().currentMessage()
    assert editor.save()
    assert random_file.read_bytes() == bytes(expected)


def test_typing_over_a_selection_starts_at_its_first_byte(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    window.view.select(40, 50)
    editor.type_text("0102")
    expected[40:42] = b"\x01\x02"
    assert window.document.read(0, len(expected)) == bytes(expected)
    assert window.view.selection == (42, 42)


# --------------------------------------------------------------------------- undo / redo
def test_typing_merges_and_undo_back_to_saved_is_clean(qtbot, window, editor, random_file) -> None:
    original = open_for_editing(window, editor, random_file)
    view, document, stack = window.view, window.document, editor.stack
    view.set_cursor(0x40)
    editor.type_text("deadbeef")
    assert stack.count() == 1, "consecutive typing is one undo step"
    assert stack.text(0) == "Typing: 4 bytes at 0x40"
    view.set_cursor(0x80)  # a cursor move ends the run
    editor.type_text("00")
    assert stack.count() == 2
    assert editor.history.entries() == [
        "File as opened",
        "Typing: 4 bytes at 0x40",
        "Typing: 1 byte at 0x80",
    ]

    press(qtbot, window, "Ctrl+Z")
    assert view.cursor_offset == 0x80  # undo shows what it changed
    press(qtbot, window, "Ctrl+Z")
    assert not document.modified and not window.isWindowModified()
    assert document.read(0, len(original)) == bytes(original)
    press(qtbot, window, "Ctrl+Shift+Z")
    assert document.read(0x40, 4) == b"\xde\xad\xbe\xef" and document.modified
    press(qtbot, window, "Ctrl+Y")
    assert document.read(0x80, 1) == b"\x00"

    assert editor.save()
    assert stack.isClean() and not window.isWindowModified()
    press(qtbot, window, "Ctrl+Z")  # undo past the saved state: differs from the file again
    assert document.modified and window.isWindowModified()
    assert document.read(0x80, 1) == original[0x80:0x81]
    press(qtbot, window, "Ctrl+Shift+Z")  # back to what the file holds: clean
    assert not document.modified and stack.isClean()
    # Typing after a save starts a new step: the saved step is never merged into.
    view.set_cursor(0x81)
    editor.type_text("11")
    assert stack.count() == 3


def test_typing_the_same_bytes_back_is_clean(window, editor, random_file) -> None:
    original = open_for_editing(window, editor, random_file)
    window.view.set_cursor(0x30)
    editor.type_text("00")
    window.view.set_cursor(0x30)
    editor.type_text(f"{original[0x30]:02x}")
    # Two steps, but the bytes equal the file's again: clean (content, not stack position).
    assert editor.stack.count() == 2
    assert not window.document.modified and not window.isWindowModified()
    assert not window.action_builder.actions["file.save"].isEnabled()


def test_a_run_of_typing_that_changes_nothing_leaves_no_step(window, editor, random_file):
    original = open_for_editing(window, editor, random_file)
    last = len(original) - 1
    window.view.set_cursor(last)
    changed = f"{original[last] ^ 0xFF:02x}"
    editor.type_text(changed)  # at the last byte the cursor stays: one run, one byte
    assert editor.stack.count() == 1 and window.document.modified
    editor.type_text(f"{original[last]:02x}")
    # The merged step's old and new bytes are equal: QUndoCommand.setObsolete drops it.
    assert editor.stack.count() == 0
    assert not window.document.modified


def test_the_history_view_moves_through_the_steps(window, editor, random_file) -> None:
    original = open_for_editing(window, editor, random_file)
    for offset, digits in ((0, "11"), (16, "22"), (32, "33")):
        window.view.set_cursor(offset)
        editor.type_text(digits)
    editor.show_history()
    assert editor.history_dock.isVisible()
    view = editor.history.view
    view.setCurrentIndex(view.model().index(1, 0))  # click "after the first step"
    assert editor.stack.index() == 1
    expected = bytearray(original)
    expected[0] = 0x11
    assert window.document.read(0, len(expected)) == bytes(expected)
    view.setCurrentIndex(view.model().index(0, 0))  # "File as opened"
    assert not window.document.modified


# --------------------------------------------------------------------------- paste
def test_paste_hex_text_at_the_cursor_and_over_a_selection(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    set_clipboard_text("de ad\nbe EF")
    window.view.set_cursor(10)
    assert editor.paste()
    expected[10:14] = b"\xde\xad\xbe\xef"
    assert window.view.cursor_offset == 14

    window.view.select(100, 102)  # room for two of the four bytes
    assert editor.paste()
    expected[100:102] = b"\xde\xad"
    assert "Pasted 2 of 4 bytes" in window.message_bar.text
    assert window.document.read(0, len(expected)) == bytes(expected)
    assert editor.stack.count() == 2
    editor.stack.undo()
    expected[100:102] = random_file.read_bytes()[100:102]
    assert window.document.read(0, len(expected)) == bytes(expected)


def test_paste_at_the_end_is_clipped_never_grown(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    size = len(expected)
    set_clipboard_text("01020304050607")
    window.view.set_cursor(size - 3)
    assert editor.paste()
    expected[-3:] = b"\x01\x02\x03"
    assert window.document.size == size
    assert "Pasted 3 of 7 bytes" in window.message_bar.text
    assert "never grows" in window.message_bar.text
    assert editor.save()
    assert random_file.read_bytes() == bytes(expected)


@pytest.mark.parametrize(
    ("clipboard", "reason"),
    [
        ("hello", "'h' is not a hex digit"),
        ("abc", "odd number of hex digits"),
        ("   ", "no bytes given"),
        ("", "The clipboard holds no text"),
    ],
)
def test_paste_of_invalid_hex_changes_nothing(
    window, editor, random_file, clipboard, reason
) -> None:
    expected = open_for_editing(window, editor, random_file)
    set_clipboard_text(clipboard)
    window.view.set_cursor(10)
    assert not editor.paste()
    assert reason in window.message_bar.text
    assert not window.document.modified and editor.stack.count() == 0
    assert window.document.read(0, len(expected)) == bytes(expected)


def test_paste_raw_bytes_and_text_characters(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    raw = QMimeData()
    raw.setData(RAW_BYTES_MIME, b"\x00\xff\x10 not hex")
    QApplication.clipboard().setMimeData(raw)
    window.view.set_cursor(50)
    assert editor.paste()
    expected[50:61] = b"\x00\xff\x10 not hex"

    set_clipboard_text("plain text, café")
    window.view.set_active_pane(Pane.TEXT)
    window.view.set_cursor(500)
    assert editor.paste()
    expected[500:516] = "plain text, café".encode("latin-1")
    assert window.document.read(0, len(expected)) == bytes(expected)

    set_clipboard_text("€uro")
    assert not editor.paste()
    assert "not a Latin-1 character" in window.message_bar.text


# --------------------------------------------------------------------------- fill, delete
def test_fill_dialog_repeats_a_pattern_over_the_selection(qtbot, window, editor, random_file):
    expected = open_for_editing(window, editor, random_file)
    window.view.select(1000, 1010)
    dialog = editor.show_fill_dialog()
    assert dialog is not None and dialog.isVisible()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.edit.setText("de ad bx")
    assert not ok.isEnabled() and "'x' is not a hex digit" in dialog.error_text
    dialog.edit.setText("de ad be")
    assert ok.isEnabled()
    assert dialog.message.text() == "→ 3-byte pattern × 3, then its first 1 byte"
    ok.click()
    expected[1000:1010] = b"\xde\xad\xbe" * 3 + b"\xde"
    assert window.document.read(0, len(expected)) == bytes(expected)
    assert editor.stack.count() == 1 and editor.stack.text(0) == "Fill: 10 bytes at 0x3e8"
    assert window.view.selection == (1000, 1010)


def test_fill_with_text_and_a_single_byte(window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    window.view.select(0, 5)
    dialog = editor.show_fill_dialog()
    dialog.kind.setCurrentIndex(dialog.kind.findData("text"))
    dialog.edit.setText("ab")
    dialog.accept()
    expected[0:5] = b"ababa"
    window.view.select(20, 24)
    dialog = editor.show_fill_dialog()
    dialog.edit.setText("7f")
    assert dialog.message.text() == "→ 4 bytes of 0x7f"
    dialog.accept()
    expected[20:24] = b"\x7f" * 4
    assert window.document.read(0, len(expected)) == bytes(expected)


def test_fill_needs_a_selection(window, editor, random_file) -> None:
    open_for_editing(window, editor, random_file)
    assert editor.show_fill_dialog() is None
    assert "Select the bytes to fill first" in window.statusBar().currentMessage()


def test_fill_larger_than_the_old_64_mib_limit_is_instant(tmp_path: Path, window, editor) -> None:
    # Issue 11: no size caps. A fill is a repeated-pattern piece: it stores nothing.
    path = tmp_path / "big.bin"
    size = 64 * 1024 * 1024 + 4096
    with open(path, "wb") as handle:
        handle.truncate(size)
    open_for_editing(window, editor, path)
    window.view.select_all()
    assert editor.fill(0, size, b"\xab\xcd")
    document = window.document
    assert document.read(size - 3, 3) == b"\xcd\xab\xcd"
    assert document.add.used == 0
    assert editor.stack.text(0) == f"Fill: {size:,} bytes at 0x0"
    editor.stack.undo()
    assert document.read(size - 3, 3) == bytes(3) and not document.modified


def test_delete_says_what_it_does_and_only_zero_fills_when_pressed_again(
    qtbot, window, editor, random_file
) -> None:
    expected = open_for_editing(window, editor, random_file)
    view = window.view
    view.set_cursor(60)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert "Delete removes nothing" in window.statusBar().currentMessage()
    assert not window.document.modified

    view.select(60, 68)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert "Press Delete again" in window.statusBar().currentMessage()
    assert not window.document.modified
    view.select(61, 68)  # a different selection must be confirmed afresh
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert not window.document.modified
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    expected[61:68] = bytes(7)
    assert window.document.read(0, len(expected)) == bytes(expected)
    assert editor.stack.text(0) == "Zero-fill: 7 bytes at 0x3d"


def test_backspace_moves_back_without_erasing(qtbot, window, editor, random_file) -> None:
    expected = open_for_editing(window, editor, random_file)
    view = window.view
    view.set_cursor(20)
    editor.type_text("a")
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert (view.cursor_offset, view.cursor_nibble) == (20, 0)
    editor.type_text("bc")  # retyped the whole byte
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert view.cursor_offset == 19
    assert "without erasing" in window.statusBar().currentMessage()
    expected[20] = 0xBC
    assert window.document.read(0, len(expected)) == bytes(expected)


# --------------------------------------------------------------------------- modes
def test_read_only_documents_refuse_editing_with_the_reason(
    qtbot, window, editor, random_file
) -> None:
    before = random_file.read_bytes()
    assert window.open_path(str(random_file), readonly=True) is None
    press(qtbot, window, "Ctrl+E")
    assert "cannot be edited: opened read-only" in window.message_bar.text
    assert not window.document.editing
    assert not window.action_builder.actions["edit.toggle_editing"].isChecked()
    window.message_bar.dismiss()
    qtbot.keyClick(window.view, Qt.Key.Key_4)
    assert "opened read-only" in window.message_bar.text
    assert not window.document.modified and random_file.read_bytes() == before


def test_typing_before_editing_is_enabled_says_how(qtbot, window, editor, random_file) -> None:
    assert window.open_path(str(random_file)) is None
    qtbot.keyClick(window.view, Qt.Key.Key_4)
    assert "press Ctrl+E" in window.statusBar().currentMessage()
    assert not window.document.modified
    assert not window.action_builder.actions["edit.paste"].isEnabled()


def test_leaving_edit_mode_needs_the_edits_saved_or_reverted(
    window, editor, questions, random_file
) -> None:
    open_for_editing(window, editor, random_file)
    editor.type_text("00")
    editor.toggle_editing()
    assert window.document.editing
    assert "save or revert" in window.message_bar.text
    questions.answers.append(Button.Discard)  # File ▸ Revert: "Revert"
    assert editor.revert()
    assert "Discard every unsaved edit" in questions.asked[0][0]
    assert sorted(questions.asked[0][1]) == ["Cancel", "Revert"]
    assert not window.document.modified and editor.stack.count() == 0
    editor.toggle_editing()
    assert not window.document.editing
    assert window.mode_label.text() == "Read-only"


def test_revert_cancelled_keeps_the_edits(window, editor, questions, random_file) -> None:
    open_for_editing(window, editor, random_file)
    editor.type_text("00")
    questions.answers.append(Button.Cancel)
    assert not editor.revert()
    assert window.document.modified and editor.stack.count() == 1


def test_edit_flag_on_the_command_line_enables_editing(window, editor, random_file) -> None:
    request = GuiRequest(path=str(random_file), offset="0x20", readonly=False, edit=True)
    assert open_request(window, request) == 0
    assert window.document.editing and window.mode_label.text() == "Private edit"
    assert window.action_builder.actions["edit.toggle_editing"].isChecked()
    editor.type_text("ff")
    assert window.document.read(0x20, 1) == b"\xff"


def test_unsaved_bytes_are_shaded_until_saved(window, editor, random_file) -> None:
    open_for_editing(window, editor, random_file)
    view = window.view
    view.set_cursor(0x35)
    editor.type_text("00")
    view.set_cursor(0x60)  # the cursor elsewhere: it paints over its own byte

    def shade(offset: int) -> QColor:
        image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        try:
            view.render_rows(painter)
        finally:
            painter.end()
        rect = view.byte_rect(offset, Pane.TEXT)
        return image.pixelColor(int(rect.left()) + 1, int(rect.top()) + 1)

    assert [(start, end) for start, end, _color in editor.dirty_highlights(0, 0x100)] == [
        (0x35, 0x36)
    ]
    edited, plain = shade(0x35), shade(0x36)
    assert edited != plain
    assert editor.save()
    assert shade(0x35) == plain and list(editor.dirty_highlights(0, 0x100)) == []


def test_repeated_pattern_reference() -> None:
    assert repeated(b"ab", 5) == b"ababa"
    assert repeated(b"\x00", 3) == b"\x00\x00\x00"
    with pytest.raises(ValueError):
        repeated(b"", 3)


# --------------------------------------------------------------------------- batches
def test_many_edits_make_one_undo_step(window, editor, random_file) -> None:
    original = open_for_editing(window, editor, random_file)
    expected = bytearray(original)
    edits = [(10, b"AB"), (500, b"CD"), (11, b"Z"), (9000, b"\x00\x01")]  # 11 overlaps 10..12
    for offset, data in edits:
        expected[offset : offset + len(data)] = data
    assert editor.apply_edits(edits, "Replace all")
    assert window.document.read(0, len(expected)) == bytes(expected)
    assert editor.stack.count() == 1
    assert editor.stack.text(0) == "Replace all: 7 bytes in 4 places"
    editor.undo()
    assert window.document.read(0, len(original)) == bytes(original)
    assert not window.document.modified and window.view.cursor_offset == 10
    editor.redo()
    assert window.document.read(0, len(expected)) == bytes(expected)


def test_a_refused_place_stops_the_batch_and_says_why(window, editor, random_file) -> None:
    original = open_for_editing(window, editor, random_file)
    size = len(original)
    assert not editor.apply_edits([(1, b"x"), (size - 1, b"yz"), (2, b"w")], "Replace all")
    assert "Replace all stopped after 1 of 3 places" in window.message_bar.text
    assert "run past the end" in window.message_bar.text
    assert window.document.read(0, 3) == bytes([original[0]]) + b"x" + bytes([original[2]])
    assert editor.stack.count() == 1
    editor.undo()
    assert not window.document.modified


def test_replace_from_the_search_feature_is_one_undo_step(window, questions, random_file):
    from mmhex.ui.editing import EditController
    from mmhex.ui.features import install_features
    from mmhex.ui.panels.residency_panel import ResidencyPanel
    from mmhex.ui.search.feature import SearchFeature

    install_features(window)
    controller = window.findChild(EditController)
    search = window.findChild(SearchFeature)
    try:
        original = open_for_editing(window, controller, random_file)
        search.write([(0, b"hello"), (100, b"HELLO")], "Replace all")
        assert window.document.read(0, 5) == b"hello"
        assert window.document.read(100, 5) == b"HELLO"
        assert controller.stack.count() == 1
        controller.undo()
        assert window.document.read(0, len(original)) == bytes(original)
    finally:
        window.findChild(ResidencyPanel).shutdown()
