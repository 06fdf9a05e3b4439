"""Range arithmetic of the history's translations (core/retired.py) against per-byte models."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmhex.core.edits import Batch, Edit, Splice
from mmhex.core.pieces import ADD, ORIGINAL, Piece
from mmhex.core.retired import (
    LayoutMap,
    Segment,
    Translation,
    TranslationError,
    cover,
    epochs_of,
    merged,
    shown_at,
    sources_of,
    split,
    through,
)

ranges = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 40)).map(lambda r: (r[0], r[0] + r[1]))
)


def covered(parts: list[tuple[int, int]]) -> set[int]:
    return {x for lo, hi in parts for x in range(lo, hi)}


@given(ranges, ranges)
def test_split_is_intersection_and_difference(a: list, b: list) -> None:
    a, b = merged(a), merged(b)
    inside, outside = split(a, b)
    assert covered(inside) == covered(a) & covered(b)
    assert covered(outside) == covered(a) - covered(b)
    assert sum(hi - lo for lo, hi in inside + outside) == sum(hi - lo for lo, hi in a)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=12), st.data())
def test_maps_send_every_byte_through_each_save(lengths: list[int], data: st.DataObject) -> None:
    """Two saves' maps over alternating covered and uncovered ranges: byte by byte."""
    segments, lo = [], 0
    for k, n in enumerate(lengths):
        if k % 2:
            segments.append(Segment(lo, lo + n, ORIGINAL, 1000 * k))
        lo += n
    first = LayoutMap({ADD: Translation(segments)})  # added bytes the saved document showed
    second = LayoutMap({ORIGINAL: Translation([Segment(0, 20_000, -7, 5)])})  # old file -7
    start = data.draw(st.integers(0, lo - 1))
    length = data.draw(st.integers(1, lo - start))

    def bytes_of(pieces: list[Piece]) -> list[tuple[int, int]]:
        return [(p.source, p.start + i) for p in pieces for i in range(p.length)]

    expected = []
    for x in range(start, start + length):
        seg = next((s for s in segments if s.lo <= x < s.hi), None)
        expected.append((ADD, x) if seg is None else (ORIGINAL, seg.start + x - seg.lo))
    assert bytes_of(first.resolve(Piece(ADD, start, length))) == expected
    twice = [(-7, y + 5) if s == ORIGINAL else (s, y) for s, y in expected]
    assert bytes_of(through([Piece(ADD, start, length)], [first, second])) == twice
    with pytest.raises(TranslationError):
        first.resolve(Piece(ORIGINAL, 0, 1))  # file bytes of a save without a file map


def test_file_bytes_shown_anywhere_map_to_their_new_offset() -> None:
    document = [
        (0, Piece(ORIGINAL, 0, 10)),
        (10, Piece(ADD, 0, 4)),
        (14, Piece(ORIGINAL, 10, 6)),  # shifted by the insert
        (20, Piece(ORIGINAL, 30, 5)),  # after a delete of [16, 30)
    ]
    wanted = merged([(5, 12), (16, 32)])
    shown, hidden = cover(wanted, shown_at(document, ORIGINAL))
    assert shown == [
        Segment(5, 10, ORIGINAL, 5),
        Segment(10, 12, ORIGINAL, 14),
        Segment(30, 32, ORIGINAL, 20),
    ]
    assert hidden == [(16, 30)]


def test_epochs_and_sources_of_a_history() -> None:
    history = [
        Splice(10, ((ORIGINAL, 100, 5),), (), epoch=3),
        Batch((Edit(0, b"a", b"b"), Splice(0, (), ((-2, 103, 10),), epoch=1))),
    ]
    assert epochs_of(history) == {1, 3}
    assert sources_of(history) == {ORIGINAL, -2}
