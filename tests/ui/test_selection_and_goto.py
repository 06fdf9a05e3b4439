"""Mouse and keyboard selection in 64-bit offsets, the status bar, and the Go to dialog."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox

from mmhex.ui.hex_view import Pane

Key = Qt.Key
LEFT = Qt.MouseButton.LeftButton
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def center(view, offset: int, pane: Pane) -> QPoint:
    rect = view.byte_rect(offset, pane)
    assert rect is not None, f"offset {offset} not on screen"
    return rect.center().toPoint()


def test_click_moves_cursor_in_either_pane(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    for offset, pane in [(37, Pane.HEX), (5, Pane.TEXT), (16 * 7 + 15, Pane.HEX)]:
        qtbot.mouseClick(view.viewport(), LEFT, pos=center(view, offset, pane))
        assert view.cursor_offset == offset
        assert view.active_pane is pane
        assert view.selection == (offset, offset)


def test_clicks_on_gaps_between_groups_pick_the_byte_before(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.set_group(4)
    view = window.view
    rect = view.byte_rect(3, Pane.HEX)  # last byte of the first group
    gap = QPoint(
        round(rect.right() + view.layout_geometry.char_width / 2), round(rect.center().y())
    )
    qtbot.mouseClick(view.viewport(), LEFT, pos=gap)
    assert view.cursor_offset == 3


def test_shift_click_and_drag_select(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    viewport = view.viewport()
    qtbot.mouseClick(viewport, LEFT, pos=center(view, 20, Pane.HEX))
    with qtbot.waitSignal(view.selection_changed) as changed:
        qtbot.mouseClick(viewport, LEFT, SHIFT, pos=center(view, 70, Pane.TEXT))
    assert changed.args == [20, 71]
    assert view.selection == (20, 71)
    assert window.selection_label.text() == "Selected 51 bytes from 0x14"
    assert window.selection_label.toolTip() == "0x14 to 0x46 inclusive"
    # Drag backwards from 100 to 33.
    qtbot.mousePress(viewport, LEFT, pos=center(view, 100, Pane.HEX))
    qtbot.mouseMove(viewport, center(view, 60, Pane.HEX))
    qtbot.mouseMove(viewport, center(view, 33, Pane.HEX))
    qtbot.mouseRelease(viewport, LEFT, pos=center(view, 33, Pane.HEX))
    assert view.selection == (33, 101)
    assert view.cursor_offset == 33
    # A plain click clears it.
    qtbot.mouseClick(viewport, LEFT, pos=center(view, 5, Pane.HEX))
    assert view.selection == (5, 5)
    assert window.selection_label.text() == "No selection"


def test_shift_arrows_extend_from_the_anchor(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    view.set_cursor(50)
    qtbot.keyClick(view, Key.Key_Right, SHIFT)
    qtbot.keyClick(view, Key.Key_Right, SHIFT)
    assert view.selection == (50, 53)
    qtbot.keyClick(view, Key.Key_Down, SHIFT)
    assert view.selection == (50, 69)
    qtbot.keyClick(view, Key.Key_Up, SHIFT)
    qtbot.keyClick(view, Key.Key_Up, SHIFT)
    assert view.selection == (36, 51)  # the anchor byte stays selected
    qtbot.keyClick(view, Key.Key_End, SHIFT)
    assert view.selection == (47, 51)
    qtbot.keyClick(view, Key.Key_Right)
    assert view.selection == (48, 48)


def test_selection_of_a_whole_huge_file(qtbot, window, huge_shm) -> None:
    size = huge_shm.stat().st_size
    window.open_path(str(huge_shm))
    view = window.view
    with qtbot.waitSignal(view.selection_changed) as changed:
        qtbot.keyClick(view, Key.Key_End, CTRL | SHIFT)
    assert changed.args == [0, size]
    assert window.selection_label.text() == f"Selected {size:,} bytes from 0x0"


def test_status_bar_reports_cursor_size_and_mode(window, random_file) -> None:
    window.open_path(str(random_file), readonly=True)
    window.view.set_cursor(0x1F4)
    assert window.cursor_label.text() == "Offset 0x1f4 (500)"
    assert window.size_label.text() == "Size 9.8 KiB"
    assert window.size_label.toolTip() == "10,007 bytes (0x2717)"
    assert window.mode_label.text() == "Read-only"
    assert window.mode_label.toolTip() == "opened read-only"


def test_goto_dialog_by_shortcut(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.view, Key.Key_G, CTRL)
    dialog = window.goto_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.edit, "0x1F4")
    assert dialog.message.text() == "→ 0x1f4 (500)"
    qtbot.keyClick(dialog.edit, Key.Key_Return)
    assert not dialog.isVisible()
    assert window.view.cursor_offset == 0x1F4


def test_goto_dialog_relative_and_end(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.view.set_cursor(0x100)
    for text, expected in [("+0x10", 0x110), ("-16", 0x100), ("end-0x100", 10_007 - 0x100)]:
        dialog = window.show_goto_dialog()
        qtbot.keyClicks(dialog.edit, text)
        qtbot.keyClick(dialog.edit, Key.Key_Return)
        assert window.view.cursor_offset == expected


def test_goto_dialog_shows_errors_inline_and_stays_open(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    dialog = window.show_goto_dialog()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for text, fragment in [
        ("0x10000", "outside the file"),
        ("12 +", "ends too early"),
        ("pos", "unknown name"),
        ("3/0", "division by zero"),
        ("0x1$", "unexpected character"),
    ]:
        dialog.edit.clear()
        qtbot.keyClicks(dialog.edit, text)
        assert fragment in dialog.error_text
        assert not ok.isEnabled()
        qtbot.keyClick(dialog.edit, Key.Key_Return)
        assert dialog.isVisible()
    assert window.view.cursor_offset == 0
    dialog.edit.clear()
    assert dialog.error_text == ""
    qtbot.keyClicks(dialog.edit, "0x400*3+2")
    assert ok.isEnabled()
    ok.click()
    assert window.view.cursor_offset == 0x400 * 3 + 2
