"""Insert/overwrite mode, Cut, Delete Selection, Insert Bytes, Resize File in the window.

The reference is a bytearray model of what the keys should do, and the saved file read back.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtWidgets import QApplication

from mmhex.core.document import Document
from mmhex.ui.dialogs.size_dialog import INSERT, RESIZE, SizeDialog
from mmhex.ui.editing import RAW_BYTES_MIME
from mmhex.ui.hex_view import Pane
from tests.ui.editing_helpers import Button, open_for_editing
from tests.ui.test_editing import press


def test_insert_key_toggles_ins_ovr_in_the_status_bar(qtbot, window, editor, random_file) -> None:
    open_for_editing(window, editor, random_file)
    assert editor.mode_label.text() == "OVR"
    press(qtbot, window, "Ins")
    assert editor.insert_mode and editor.mode_label.text() == "INS"
    assert window.action_builder.actions["edit.insert_mode"].isChecked()
    press(qtbot, window, "Ins")
    assert editor.mode_label.text() == "OVR"


def test_ins_typing_inserts_and_backspace_delete_remove(qtbot, window, editor, random_file) -> None:
    model = open_for_editing(window, editor, random_file)
    view = window.view
    press(qtbot, window, "Ins")
    view.set_cursor(0x10)
    qtbot.keyClicks(view, "abcd")
    model[0x10:0x10] = b"\xab\xcd"
    document = window.document
    assert document.size == len(model)
    assert document.read(0, len(model)) == model
    assert editor.stack.count() == 1  # one run of typing, one undo step
    assert view.cursor_offset == 0x12
    view.switch_pane()
    qtbot.keyClicks(view, "Hi")
    model[0x12:0x12] = b"Hi"
    assert document.read(0, len(model)) == model
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    del model[0x13]
    assert document.read(0, len(model)) == model
    view.set_cursor(0)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    del model[0]
    assert document.read(0, len(model) + 1) == model
    # Inserted bytes are shaded as unsaved.
    assert [h[:2] for h in editor.dirty_highlights(0, 0x20)] == [(0xF, 0x12)]
    assert editor.save()
    assert random_file.read_bytes() == model


def test_typing_at_the_end_in_ins_mode_appends(qtbot, window, editor, tmp_path: Path) -> None:
    path = tmp_path / "small.bin"
    path.write_bytes(b"\x01\x02")
    open_for_editing(window, editor, path)
    press(qtbot, window, "Ins")
    window.view.set_cursor(1)
    qtbot.keyClicks(window.view, "aabbcc")
    assert window.document.read(0, 10) == b"\x01\xaa\xbb\xcc\x02"
    window.view.set_cursor(4)
    window.view.set_cursor_nibble(0)
    editor._advance(5)  # typed past the last byte
    qtbot.keyClicks(window.view, "ee")
    assert window.document.read(0, 10) == b"\x01\xaa\xbb\xcc\x02\xee"


def test_cut_removes_the_selection_and_paste_inserts_it_back(
    qtbot, window, editor, random_file
) -> None:
    model = open_for_editing(window, editor, random_file)
    view = window.view
    view.select(100, 110)
    press(qtbot, window, "Ctrl+X")
    cut = bytes(model[100:110])
    del model[100:110]
    assert window.document.read(0, len(model) + 1) == model
    assert bytes(QApplication.clipboard().mimeData().data(RAW_BYTES_MIME).data()) == cut
    assert editor.stack.text(editor.stack.count() - 1).startswith("Cut: 10 bytes")
    press(qtbot, window, "Ins")
    view.set_cursor(0)
    assert editor.paste()
    model[0:0] = cut
    assert window.document.read(0, len(model) + 1) == model
    # OVR paste still overwrites.
    press(qtbot, window, "Ins")
    view.set_cursor(20)
    mime = QMimeData()
    mime.setData(RAW_BYTES_MIME, b"XY")
    QApplication.clipboard().setMimeData(mime)
    assert editor.paste()
    model[20:22] = b"XY"
    assert window.document.read(0, len(model) + 1) == model
    for _ in range(3):
        editor.undo()
    assert window.document.read(0, 20_000) == random_file.read_bytes()
    assert not window.document.modified


def test_insert_bytes_and_resize_dialogs(qtbot, window, editor, random_file) -> None:
    model = open_for_editing(window, editor, random_file)
    window.view.set_cursor(0x10)
    dialog = editor.show_insert_dialog()
    assert isinstance(dialog, SizeDialog) and dialog.purpose == INSERT
    dialog.amount.setText("4k")
    dialog.fill.setText("de ad")
    assert "4,096 bytes" in dialog.message.text()
    dialog.accept()
    model[0x10:0x10] = b"\xde\xad" * 2048
    assert window.document.read(0, len(model) + 1) == model
    assert editor.stack.text(0) == "Insert 4,096 bytes at 0x10"
    dialog = editor.show_resize_dialog()
    assert dialog.purpose == RESIZE
    dialog.amount.setText("0x10")
    assert "removes the last" in dialog.message.text()
    dialog.accept()
    assert window.document.read(0, 100) == model[:16]
    dialog = editor.show_resize_dialog()
    dialog.amount.setText("16")
    assert dialog.error_text  # already that size
    dialog.amount.setText("20")
    dialog.fill.setText("zz")
    assert dialog.error_text
    dialog.fill.setText("ff")
    dialog.accept()
    assert window.document.read(0, 100) == model[:16] + b"\xff" * 4
    assert editor.save()
    assert random_file.read_bytes() == model[:16] + b"\xff" * 4


def test_delete_selection_in_either_mode(qtbot, window, editor, random_file) -> None:
    model = open_for_editing(window, editor, random_file)
    window.view.select(5, 9)
    window.action_builder.actions["edit.delete_selection"].trigger()
    del model[5:9]
    assert window.document.read(0, len(model) + 1) == model
    assert window.view.active_pane is Pane.HEX


def shown_title(window) -> str:
    """The title as the window manager shows it: Qt puts "*" for "[*]" while modified."""
    return window.windowTitle().replace("[*]", "*" if window.isWindowModified() else "")


def test_undo_reaches_past_a_resized_save(qtbot, window, editor, random_file) -> None:
    """Insert, Ctrl+S, Ctrl+Z: the pre-insert bytes, marked unsaved; Ctrl+S writes them."""
    original = open_for_editing(window, editor, random_file)
    model = bytearray(original)
    press(qtbot, window, "Ins")
    window.view.set_cursor(3)
    qtbot.keyClicks(window.view, "abcd")
    model[3:3] = b"\xab\xcd"
    press(qtbot, window, "Ctrl+S")
    assert random_file.read_bytes() == model
    assert "*" not in shown_title(window) and editor.stack.count() == 1
    press(qtbot, window, "Ctrl+Z")
    document = window.document
    assert document.read(0, document.size + 1) == original
    assert document.modified and "*" in shown_title(window)
    press(qtbot, window, "Ctrl+Y")  # redo: back at the saved step, clean again
    assert document.read(0, document.size + 1) == model
    assert not document.modified and "*" not in shown_title(window)
    press(qtbot, window, "Ctrl+Z")
    press(qtbot, window, "Ctrl+S")
    assert random_file.read_bytes() == original
    assert "*" not in shown_title(window)
    reopened = Document.open(str(random_file))
    assert reopened.read(0, reopened.size + 1) == original
    reopened.close()
    # Another program's change after those saves is still noticed.
    with open(random_file, "ab") as other:
        other.write(b"outside")
    change = document.check_outside_change()
    assert change is not None and "grew" in change.message


def test_keeping_the_history_at_a_costly_save_undoes_the_delete(
    qtbot, window, editor, random_file, questions, monkeypatch
) -> None:
    """Delete, Ctrl+S (asked: Keep History), Ctrl+Z: the deleted bytes are back, unsaved."""
    from mmhex.ui import editing

    original = open_for_editing(window, editor, random_file)
    monkeypatch.setattr(editing, "HISTORY_COPY_ASK", 100)
    window.view.select(100, 400)
    window.action_builder.actions["edit.delete_selection"].trigger()
    questions.answers.append(Button.Yes)  # Keep History
    press(qtbot, window, "Ctrl+S")
    assert "300 bytes" in questions.asked[-1][0] and not questions.answers
    assert random_file.read_bytes() == original[:100] + original[400:]
    press(qtbot, window, "Ctrl+Z")
    document = window.document
    assert document.read(0, document.size + 1) == original
    assert "*" in shown_title(window)
    press(qtbot, window, "Ctrl+S")
    assert random_file.read_bytes() == original and "*" not in shown_title(window)


def test_an_old_file_kept_for_undo_is_closed_once_no_step_needs_it(
    qtbot, window, editor, random_file, monkeypatch
) -> None:
    """The old inode stays open only while a step (or the bytes shown) still needs it."""
    from mmhex.core import document as document_module
    from mmhex.core import tail_move

    monkeypatch.setattr(document_module, "KEEP_OLD_FILE", 0)  # keep the old file, no copy
    monkeypatch.setattr(tail_move, "prefer_in_place", lambda *a: False)
    original = open_for_editing(window, editor, random_file)
    document = window.document
    window.view.select(100, 400)
    window.action_builder.actions["edit.delete_selection"].trigger()
    press(qtbot, window, "Ctrl+S")
    assert document.retired_files == 1
    press(qtbot, window, "Ctrl+Z")  # the deleted bytes, read from the old file
    assert document.read(0, document.size + 1) == original
    window.view.set_cursor(0)
    qtbot.keyClicks(window.view, "00")  # a new step: the delete can no longer be redone
    assert document.retired_files == 1  # ... but its bytes are shown again
    press(qtbot, window, "Ctrl+S")
    assert random_file.read_bytes() == b"\0" + original[1:]
    assert document.retired_files == 0


def test_dropping_the_history_at_a_costly_save_restarts_it(
    qtbot, window, editor, random_file, questions, monkeypatch
) -> None:
    """Keeping the history would copy too much: the user may drop it (never silently)."""
    from mmhex.ui import editing

    model = open_for_editing(window, editor, random_file)
    monkeypatch.setattr(editing, "HISTORY_COPY_ASK", 100)
    window.view.select(100, 400)
    window.action_builder.actions["edit.delete_selection"].trigger()
    del model[100:400]  # the history needs these 300 old bytes back for an undo
    questions.answers.append(Button.No)  # Drop History
    assert editor.save()
    assert "300 bytes" in questions.asked[-1][0]
    assert random_file.read_bytes() == model
    assert editor.stack.count() == 0 and not window.document.modified
    assert "undo history starts again" in window.statusBar().currentMessage()


def test_bookmarks_follow_inserts_and_revert(
    qtbot, window, editor, random_file, tmp_path: Path, monkeypatch
) -> None:
    from mmhex.ui.search import feature

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    search = feature.install(window)
    open_for_editing(window, editor, random_file)
    panel = search.bookmarks
    window.view.select(100, 104)
    mark = panel.add_from_selection("mark")
    assert (mark.start, mark.end) == (100, 104)
    editor.insert_bytes(10, 16, b"\0")
    assert [(b.start, b.end) for b in panel.bookmarks] == [(116, 120)]
    window.view.select(110, 130)
    assert editor.delete_selection()
    assert list(panel.bookmarks) == []
    editor.undo()
    assert [(b.start, b.end) for b in panel.bookmarks] == [(116, 120)]
    editor.stack.redo()
    assert list(panel.bookmarks) == []
    monkeypatch.setattr("mmhex.ui.dialogs.questions.confirm_revert", lambda *args: True)
    assert editor.revert()
    assert [(b.start, b.end) for b in panel.bookmarks] == [(100, 104)]
    assert window.document.read(0, 20_000) == random_file.read_bytes()


def test_file_new_types_into_memory_and_save_asks_where(
    qtbot, window, editor, tmp_path: Path, monkeypatch
) -> None:
    press(qtbot, window, "Ctrl+N")
    document = window.document
    assert document is not None and document.scratch and document.size == 0
    standin = Path(document.path)
    assert window.windowTitle().startswith("Untitled")
    qtbot.keyClicks(window.view, "cafe")  # an empty document: typing inserts in either mode
    assert document.read(0, 10) == b"\xca\xfe"
    assert document.add.used >= 2  # the bytes live in the anonymous add-buffer
    target = tmp_path / "saved.bin"
    monkeypatch.setattr(editor, "ask_save_path", lambda _document: str(target))
    press(qtbot, window, "Ctrl+S")
    assert target.read_bytes() == b"\xca\xfe"
    assert window.document.path == str(target) and not window.document.scratch
    assert not standin.exists() and not standin.parent.exists()
    assert not window.document.modified


def test_save_progress_says_rate_and_time_left() -> None:
    from mmhex.ui.editing import progress_text

    assert progress_text(100 << 20, 400 << 20, 2.0) == "100 of 400 MiB, 52 MB/s, 6 s left"
    assert progress_text(0, 400 << 20, 0.0) == "0 of 400 MiB"


def test_replace_all_of_another_length_is_one_step_and_one_notification(
    qtbot, window, editor, tmp_path: Path, monkeypatch
) -> None:
    """Issue 11: Replace of any length; issue 10: a batch notifies listeners once."""
    import re

    from mmhex.ui.search import feature

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data = bytearray(bytes(range(256)) * 64)
    for off in range(100, len(data) - 10, 700):
        data[off : off + 3] = b"abc"
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(data))
    search = feature.install(window)
    search.apply_edits = editor.apply_edits
    open_for_editing(window, editor, path)
    changes = []
    window.document.add_listener(changes.append)
    search.bar.show_replace()
    search.bar.pattern_edit.setText("abc")
    search.bar.replace_edit.setText("abcd")
    with qtbot.waitSignal(search.controller.replace_all_ready, timeout=10_000):
        search.bar.replace_all_button.click()
    expected = re.sub(b"abc", b"abcd", bytes(data))
    assert window.document.read(0, len(expected) + 1) == expected
    edits = [c for c in changes if c.kind.value == "edit"]
    assert len(edits) == 1 and edits[0].resized
    assert editor.stack.count() == 1
    editor.undo()
    assert window.document.read(0, len(data) + 1) == data
    assert not window.document.modified


def test_file_new_opens_a_tab_beside_the_open_file_and_the_grid_menu_cuts(
    qtbot, window, editor, random_file
) -> None:
    open_for_editing(window, editor, random_file)
    press(qtbot, window, "Ctrl+N")
    assert window.tab_bar.count() == 2 and window.document.scratch
    window.tab_bar.setCurrentIndex(0)
    assert window.document.path == str(random_file)
    menu = window.action_builder.context_menu(window.view)
    texts = [action.text() for action in menu.actions()]
    assert {"Cu&t", "&Delete Selection", "&Insert Bytes…"} <= set(texts)


def test_residency_map_frames_the_file_pages_behind_the_view(window, editor, tmp_path) -> None:
    from mmhex.ui.panels.residency_panel import ResidencyPanel

    path = tmp_path / "f.bin"
    path.write_bytes(bytes(64 * 4096))
    open_for_editing(window, editor, path)
    panel = ResidencyPanel()
    panel.document = window.document
    window.document.insert(0, b"\x01" * 8192)  # 2 pages of inserted bytes ahead of the file
    panel.set_visible_range(8192 + 4096, 8192 + 8192)
    assert panel.visible_range == (4096, 8192)  # the file's own pages, not document offsets
    panel.set_visible_range(0, 4096)
    assert panel.visible_range == (0, 0)  # inserted bytes: no file page behind them
    panel.set_selection(8192, 8192 + 100)
    assert panel.selection == (0, 100)
    panel.deleteLater()


def test_window_search_finds_text_made_by_an_insert(
    qtbot, window, editor, tmp_path: Path, monkeypatch
) -> None:
    """The window's search (its own process) reads the re-laid-out document, not the file."""
    from mmhex.ui.search import feature

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "f.bin"
    path.write_bytes(b"\0" * 5000 + b"dle" + b"\0" * 5000)
    search = feature.install(window)
    open_for_editing(window, editor, path)
    editor.insert_bytes(5000, 3, b"nee")  # "nee" + the file's "dle" across a piece boundary
    search.bar.show_find()
    search.bar.pattern_edit.setText("needle")
    with qtbot.waitSignal(search.controller.found, timeout=10_000):
        search.bar.find_next()
    assert window.view.selection == (5000, 5006)
