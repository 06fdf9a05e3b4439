"""Keys, wheel, scrollbar and go-to move the cursor and the 64-bit top row exactly."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSlider, QApplication

from tests.ui.helpers import painted_rows

Key = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(qtbot, view, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(view, key, modifier)


def test_arrow_page_home_end_keys(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    size = random_file.stat().st_size
    page = view.page_rows
    # (key, modifier, expected cursor given the previous one)
    steps = [
        (Key.Key_Right, None, lambda c: c + 1),
        (Key.Key_Right, None, lambda c: c + 1),
        (Key.Key_Down, None, lambda c: c + 16),
        (Key.Key_End, None, lambda c: c - c % 16 + 15),
        (Key.Key_Home, None, lambda c: c - c % 16),
        (Key.Key_PageDown, None, lambda c: c + page * 16),
        (Key.Key_PageDown, None, lambda c: c + page * 16),
        (Key.Key_Up, None, lambda c: c - 16),
        (Key.Key_Left, None, lambda c: c - 1),
        (Key.Key_PageUp, None, lambda c: c - page * 16),
        (Key.Key_End, CTRL, lambda c: size - 1),
        (Key.Key_Right, None, lambda c: c),  # already on the last byte
        (Key.Key_Down, None, lambda c: c),
        (Key.Key_Home, CTRL, lambda c: 0),
        (Key.Key_Left, None, lambda c: c),
        (Key.Key_Up, None, lambda c: c),
    ]
    cursor = 0
    for key, modifier, expected in steps:
        press(qtbot, view, key, modifier or Qt.KeyboardModifier.NoModifier)
        cursor = expected(cursor)
        assert view.cursor_offset == cursor, key
        row = cursor // 16
        assert view.top_row <= row < view.top_row + page, "cursor row scrolled into view"
        assert view.selection == (cursor, cursor)


def test_down_on_the_row_above_a_short_last_row_lands_on_the_last_byte(qtbot, window, random_file):
    window.open_path(str(random_file))
    view = window.view
    last = random_file.stat().st_size - 1
    view.set_cursor(last - last % 16 - 16 + 12)  # column 12 of the row above the last (7 bytes)
    press(qtbot, view, Key.Key_Down)
    assert view.cursor_offset == last


@pytest.mark.parametrize("fixture", ["sparse_tib", "huge_shm"])
def test_ctrl_end_shows_the_last_byte_of_huge_files(qtbot, window, request, fixture) -> None:
    path = request.getfixturevalue(fixture)
    size = path.stat().st_size
    assert window.open_path(str(path)) is None
    view = window.view
    with qtbot.waitSignal(view.cursor_moved) as moved:
        press(qtbot, view, Key.Key_End, CTRL)
    assert moved.args == [size - 1]  # exact through the signal, even near 2**63
    assert view.cursor_offset == size - 1
    total_rows = math.ceil(size / 16)
    assert view.top_row == total_rows - view.page_rows
    rows = painted_rows(view)
    assert int(rows[-1].offset_text, 16) == size - 16
    assert rows[-1].ascii_text.endswith("TAILEND!" if fixture == "sparse_tib" else "LAST")
    assert window.cursor_label.text() == f"Offset 0x{size - 1:x} ({size - 1:,})"
    # Only the windows around the two ends were ever mapped.
    assert len(window.document.mapped.mapped_windows()) <= 2
    press(qtbot, view, Key.Key_Home, CTRL)
    assert (view.cursor_offset, view.top_row) == (0, 0)


def test_scrollbar_extremes_reach_first_and_last_rows_of_a_tebibyte(qtbot, window, sparse_tib):
    window.open_path(str(sparse_tib))
    view = window.view
    bar = view.verticalScrollBar()
    total_rows = (1 << 40) // 16
    max_top = total_rows - view.page_rows
    assert bar.maximum() < 2**31
    # Dragging the handle to the bottom shows the very last row.
    bar.setSliderDown(True)
    bar.setSliderPosition(bar.maximum())
    bar.setSliderDown(False)
    assert view.top_row == max_top
    assert painted_rows(view)[-1].ascii_text == "........TAILEND!"
    # The arrow below the handle is disabled at the end; the one above moves one exact row.
    bar.triggerAction(QAbstractSlider.SliderAction.SliderSingleStepSub)
    assert view.top_row == max_top - 1
    bar.setSliderPosition(bar.maximum() // 2)
    assert abs(view.top_row - max_top // 2) <= max_top // bar.maximum() + 1
    middle = view.top_row
    bar.triggerAction(QAbstractSlider.SliderAction.SliderSingleStepAdd)
    assert view.top_row == middle + 1
    bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd)
    assert view.top_row == middle + 1 + view.page_rows
    bar.setSliderPosition(0)
    assert view.top_row == 0
    assert int(painted_rows(view)[0].offset_text, 16) == 0


def test_every_slider_step_is_one_row_in_small_files(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    bar = view.verticalScrollBar()
    total_rows = math.ceil(random_file.stat().st_size / 16)
    assert bar.maximum() == total_rows - view.page_rows
    for value in range(bar.maximum() + 1):
        bar.setValue(value)
        assert view.top_row == value
    assert int(painted_rows(view)[-1].offset_text, 16) == (total_rows - 1) * 16


def wheel(view, notches: int) -> None:
    position = QPointF(view.viewport().rect().center())
    event = QWheelEvent(
        position,
        QPointF(view.viewport().mapToGlobal(position.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_wheel_scrolls_exact_rows(qtbot, window, sparse_tib) -> None:
    window.open_path(str(sparse_tib))
    view = window.view
    lines = QApplication.wheelScrollLines()
    view.set_top_row(2**35)
    wheel(view, -2)
    assert view.top_row == 2**35 + 2 * lines
    wheel(view, 1)
    assert view.top_row == 2**35 + lines
    assert view.cursor_offset == 0  # scrolling does not move the cursor


def test_ctrl_arrows_scroll_without_moving_the_cursor(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    press(qtbot, view, Key.Key_Down, CTRL)
    press(qtbot, view, Key.Key_Down, CTRL)
    assert (view.top_row, view.cursor_offset) == (2, 0)
    press(qtbot, view, Key.Key_Up, CTRL)
    assert view.top_row == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0x1F4", 0x1F4),
        ("500", 500),
        ("+0x10", 0x100 + 0x10),
        ("-16", 0x100 - 16),
        ("end-0x100", 10_007 - 0x100),
        ("0x400*3+2", 0x400 * 3 + 2),
        ("end", 10_006),
    ],
)
def test_go_to_expressions(window, random_file, text, expected) -> None:
    window.open_path(str(random_file))
    window.view.set_cursor(0x100)
    assert window.go_to_expression(text) is None
    view = window.view
    assert view.cursor_offset == expected
    assert view.top_row <= expected // 16 < view.top_row + view.page_rows


def test_go_to_far_offset_in_a_tebibyte(window, sparse_tib) -> None:
    window.open_path(str(sparse_tib))
    assert window.go_to_expression("0x8000000000") is None
    view = window.view
    assert view.cursor_offset == 1 << 39
    assert int(painted_rows(view)[view.page_rows // 3].offset_text, 16) == 1 << 39


@pytest.mark.parametrize("text", ["0x", "end+1", "-1", "2/0", "foo", "1 +", ""])
def test_go_to_rejects_bad_expressions(window, random_file, text) -> None:
    window.open_path(str(random_file))
    window.view.set_cursor(0)
    error = window.go_to_expression(text)
    assert error and "Traceback" not in error
    assert window.view.cursor_offset == 0
