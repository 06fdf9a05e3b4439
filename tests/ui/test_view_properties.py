"""Property tests of the grid: hit-testing inverts byte_rect, keys keep the cursor's invariants.

The reference for key moves is plain arithmetic over ``size`` bytes in rows of
``bytes_per_row`` (the documented behaviour: moves clamp to the file, a row move that would
leave the file stays put unless it can land on the last byte); after every key the cursor must
be on screen and the selection must be exactly the bytes between the anchor and the cursor.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF

from mmhex.ui.hex_view import Pane
from mmhex.ui.settings import GROUP_CHOICES

SIZES = (1, 15, 16, 17, 1000, 10_007)
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("sizes")
    rng = random.Random(99)
    paths = {}
    for size in SIZES:
        path = folder / f"{size}.bin"
        path.write_bytes(rng.randbytes(size))
        paths[size] = path
    return paths


@PROPERTY_SETTINGS
@given(
    size=st.sampled_from(SIZES),
    per_row=st.integers(1, 48),
    group=st.sampled_from(GROUP_CHOICES),
    font_size=st.sampled_from([0, 7, 11, 15]),
    data=st.data(),
)
def test_hit_inverts_byte_rect(window, files, size, per_row, group, font_size, data) -> None:
    window.open_path(str(files[size]))
    window.set_bytes_per_row(per_row)
    window.set_group(group)
    window.view.set_font_size(font_size)
    view = window.view
    first = view.top_row * per_row
    last = min(size, first + view.page_rows * per_row) - 1
    offset = data.draw(st.integers(first, last))
    pane = data.draw(st.sampled_from([Pane.HEX, Pane.TEXT]))
    rect = view.byte_rect(offset, pane)
    assert rect is not None
    # Any point inside the cell hits this byte in this pane.
    fx = data.draw(st.floats(0.02, 0.98))
    fy = data.draw(st.floats(0.05, 0.95))
    point = QPointF(rect.left() + fx * rect.width(), rect.top() + fy * rect.height())
    assert view.hit(point) == (pane, offset)


MOVES = [
    "move_right",
    "move_left",
    "move_down",
    "move_up",
    "page_down",
    "page_up",
    "move_row_start",
    "move_row_end",
    "move_to_start",
    "move_to_end",
]
SELECTS = {
    "select_right": "move_right",
    "select_left": "move_left",
    "select_down": "move_down",
    "select_up": "move_up",
    "select_page_down": "page_down",
    "select_page_up": "page_up",
    "select_row_start": "move_row_start",
    "select_row_end": "move_row_end",
    "select_to_start": "move_to_start",
    "select_to_end": "move_to_end",
}


def expected_cursor(move: str, cursor: int, size: int, per_row: int, page: int) -> int:
    last = size - 1
    row_start = cursor - cursor % per_row
    if move == "move_right":
        return min(cursor + 1, last)
    if move == "move_left":
        return max(cursor - 1, 0)
    if move in ("move_down", "move_up"):
        target = cursor + (per_row if move == "move_down" else -per_row)
        if target < 0:
            return cursor
        if target > last:
            return last if cursor < last - last % per_row else cursor
        return target
    if move == "page_down":
        return min(cursor + page * per_row, last)
    if move == "page_up":
        return max(cursor - page * per_row, 0)
    if move == "move_row_start":
        return row_start
    if move == "move_row_end":
        return min(row_start + per_row - 1, last)
    return 0 if move == "move_to_start" else last


@PROPERTY_SETTINGS
@given(
    size=st.sampled_from(SIZES),
    per_row=st.sampled_from([8, 16, 32, 5]),
    keys=st.lists(st.sampled_from(MOVES + list(SELECTS)), min_size=1, max_size=40),
)
def test_keys_follow_the_reference_model(window, files, size, per_row, keys) -> None:
    window.close_document()  # each example starts afresh (an open file's tab keeps its cursor)
    window.open_path(str(files[size]))
    window.set_bytes_per_row(per_row)
    view = window.view
    cursor, anchor = 0, None
    for key in keys:
        move = SELECTS.get(key, key)
        if key not in SELECTS:
            anchor = None
        elif anchor is None:
            anchor = cursor
        cursor = expected_cursor(move, cursor, size, per_row, view.page_rows)
        getattr(view, key)()
        assert view.cursor_offset == cursor, key
        if anchor is None:
            assert view.selection == (cursor, cursor)
        else:
            assert view.selection == (min(anchor, cursor), max(anchor, cursor) + 1)
        row = cursor // per_row
        assert view.top_row <= row < view.top_row + view.page_rows
        assert 0 <= view.top_row <= view.row_space().max_top
