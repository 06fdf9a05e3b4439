"""The 64-bit row space behind a 32-bit scrollbar: every row reachable, ends map to ends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmhex.core.viewport import SCROLL_STEPS, RowSpace, offset_digits, row_count


def test_row_count_and_digits():
    assert row_count(0, 16) == 0
    assert row_count(1, 16) == 1
    assert row_count(16, 16) == 1
    assert row_count(17, 16) == 2
    assert offset_digits(0) == 8
    assert offset_digits(1 << 40) == 10
    assert offset_digits(8000 * (1 << 50)) == 16
    assert offset_digits(10**12, base=10) == 12


def test_small_file_is_exact():
    space = RowSpace(total_rows=1000, visible_rows=40)
    assert space.exact
    assert space.slider_maximum == 960
    assert space.top_for_slider(960) == 960
    assert space.slider_for_top(123) == 123


def test_huge_file_ends_map_to_ends():
    rows = (8000 * (1 << 50)) // 16
    space = RowSpace(total_rows=rows, visible_rows=50)
    assert not space.exact
    assert space.slider_maximum == SCROLL_STEPS < 2**31 - 1
    assert space.top_for_slider(0) == 0
    assert space.top_for_slider(SCROLL_STEPS) == rows - 50
    assert space.slider_for_top(rows - 50) == SCROLL_STEPS
    assert space.slider_for_top(0) == 0


@given(
    st.integers(min_value=1, max_value=2**60), st.integers(min_value=1, max_value=200), st.data()
)
def test_slider_round_trip_is_monotonic_and_close(total, visible, data):
    space = RowSpace(total, visible)
    top = data.draw(st.integers(min_value=0, max_value=space.max_top))
    value = space.slider_for_top(top)
    assert 0 <= value <= space.slider_maximum
    back = space.top_for_slider(value)
    # One slider step covers max_top / SCROLL_STEPS rows; the round trip lands within one step.
    step = max(1, -(-space.max_top // SCROLL_STEPS))
    assert abs(back - top) <= step
    if value < space.slider_maximum:
        assert space.top_for_slider(value + 1) >= back


def test_top_to_show_scrolls_minimally():
    space = RowSpace(total_rows=100, visible_rows=10)
    assert space.top_to_show(5, top=0) == 0
    assert space.top_to_show(15, top=0) == 6
    assert space.top_to_show(3, top=50) == 3
    assert space.top_to_show(99, top=0) == 90
