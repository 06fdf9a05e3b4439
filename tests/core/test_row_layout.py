"""Row layouts against an independent model: the list of rows written out one by one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmhex.core.row_layout import (
    LinearLayout,
    Row,
    Segment,
    SegmentedLayout,
    move_rows,
    rows,
    span,
)
from mmhex.core.viewport import SCROLL_STEPS, RowSpace

# ----------------------------------------------------------------- the reference model


def expected_rows(segments: list[tuple[int, str | None]], per_row: int) -> list[Row]:
    """Every row, spelled out: a separator before each noted segment, then its bytes."""
    out: list[Row] = []
    offset = 0
    for length, note in segments:
        if length == 0:
            continue
        if note is not None:
            out.append(Row(offset, 0, note))
        for start in range(0, length, per_row):
            out.append(Row(offset + start, min(per_row, length - start)))
        offset += length
    return out


def build(segments: list[tuple[int, str | None]], per_row: int) -> SegmentedLayout:
    pieces, offset = [], 0
    for length, note in segments:
        pieces.append(Segment(offset, length, note))
        offset += length
    return SegmentedLayout(pieces, per_row)


segment_lists = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=70),
        st.one_of(st.none(), st.sampled_from(["gap a", "gap b"])),
    ),
    min_size=1,
    max_size=6,
).map(lambda items: [(items[0][0], None), *items[1:]])  # no gap above the first region


@settings(max_examples=300, deadline=None)
@given(segment_lists, st.integers(min_value=1, max_value=24))
def test_segmented_layout_equals_the_model(segments, per_row):
    layout = build(segments, per_row)
    model = expected_rows(segments, per_row)
    assert layout.total_rows == len(model)
    assert [layout.row(index) for index in range(len(model))] == model
    assert layout.size == sum(length for length, _ in segments)
    # Every byte: its row is the model row that holds it, its column the distance to that row.
    for index, row in enumerate(model):
        for offset in range(row.offset, row.end):
            assert layout.row_of(offset) == index
            assert layout.column_of(offset) == offset - row.offset
    # Windows of rows and the bytes they show.
    for top in range(len(model) + 1):
        for count in (1, 3, 7):
            assert rows(layout, top, count) == model[top : top + count]
            shown = [r for r in model[top : top + count] if not r.is_separator]
            if shown:
                assert span(layout, top, count) == (shown[0].offset, shown[-1].end)
            else:
                start, _ = span(layout, top, count)
                assert start == (model[top].offset if top < len(model) else layout.size)


@settings(max_examples=200, deadline=None)
@given(segment_lists, st.integers(min_value=1, max_value=24), st.integers(-5, 5), st.data())
def test_moving_by_rows_skips_separators_and_keeps_the_column(segments, per_row, count, data):
    layout = build(segments, per_row)
    model = expected_rows(segments, per_row)
    offset = data.draw(st.integers(0, layout.size - 1))
    here = next(i for i, row in enumerate(model) if row.offset <= offset < row.end)
    column = offset - model[here].offset
    # Row arithmetic: ``count`` rows on (separators are rows on screen too); landing on a
    # separator goes one row further the same way; past an end: the first or last byte.
    step = 1 if count > 0 else -1
    plain = here + count
    if 0 <= plain < len(model):
        row = model[plain]
        if row.is_separator:
            plain += step
        if 0 <= plain < len(model):
            row = model[plain]
            expected = row.offset + min(column, row.length - 1)
        else:
            expected = 0 if plain < 0 else layout.size - 1
    else:
        expected = 0 if plain < 0 else layout.size - 1
    if count == 0:
        expected = offset
    assert move_rows(layout, offset, count) == expected


def test_linear_layout_is_the_plain_arithmetic():
    for size in (1, 15, 16, 17, 1000):
        for per_row in (1, 7, 16, 24):
            layout = LinearLayout(size, per_row)
            model = expected_rows([(size, None)], per_row)
            assert [layout.row(i) for i in range(layout.total_rows)] == model
            for offset in range(size):
                assert layout.row_of(offset) == offset // per_row
                assert layout.column_of(offset) == offset % per_row
                for count in (-3, -1, 1, 3):
                    assert move_rows(layout, offset, count) == min(
                        max(offset + count * per_row, 0), size - 1
                    )
    empty = LinearLayout(0, 16)
    assert empty.total_rows == 0 and rows(empty, 0, 10) == [] and span(empty, 0, 10) == (0, 0)
    assert move_rows(empty, 0, 1) == 0


def test_huge_segments_past_2_to_the_30_rows():
    """Row and offset maths stay exact beyond 2^40 rows; the scrollbar still reaches both ends."""
    tib = 1 << 40
    layout = SegmentedLayout(
        [Segment(0, tib + 8), Segment(tib + 8, tib, "… gap"), Segment(2 * tib + 8, 5, "… end")],
        16,
    )
    first_rows = -(-(tib + 8) // 16)
    assert layout.row(first_rows - 1) == Row(tib, 8)  # the short last row of the first region
    assert layout.row(first_rows) == Row(tib + 8, 0, "… gap")
    assert layout.row(first_rows + 1) == Row(tib + 8, 16)
    assert layout.row_of(tib + 8) == first_rows + 1
    assert layout.row_of(tib + 7) == first_rows - 1
    assert layout.column_of(tib + 8 + 17) == 1
    last = layout.total_rows - 1
    assert layout.total_rows == first_rows + 1 + tib // 16 + 1 + 1
    assert layout.row(last) == Row(2 * tib + 8, 5)
    assert layout.row(last - 1) == Row(2 * tib + 8, 0, "… end")
    assert move_rows(layout, tib + 3, 1) == tib + 8 + 3  # over the separator, same column
    assert move_rows(layout, tib + 8 + 3, -1) == tib + 3
    assert move_rows(layout, 2 * tib + 8 - 1, 1) == 2 * tib + 8 + 4  # short row: its last byte
    assert span(layout, first_rows - 1, 3) == (tib, tib + 8 + 16)
    space = RowSpace(layout.total_rows, 40)
    assert space.total_rows > SCROLL_STEPS and not space.exact
    assert space.top_for_slider(space.slider_maximum) == layout.total_rows - 40
    assert space.slider_for_top(first_rows) == (
        (first_rows * SCROLL_STEPS + space.max_top // 2) // space.max_top
    )


def test_bad_segments_are_refused_and_empty_ones_carry_their_note():
    import pytest

    with pytest.raises(ValueError):
        SegmentedLayout([Segment(0, 4), Segment(5, 4)], 16)
    layout = SegmentedLayout([Segment(0, 4), Segment(4, 0, "gone"), Segment(4, 4)], 16)
    assert [layout.row(i) for i in range(layout.total_rows)] == [
        Row(0, 4),
        Row(4, 0, "gone"),
        Row(4, 4),
    ]
    assert layout.separator_count == 1
    empty = SegmentedLayout([], 16)
    assert empty.total_rows == 0 and empty.row_of(0) == 0 and move_rows(empty, 0, 1) == 0
