"""Range arithmetic of the history's translations (core/retired.py) against per-byte models."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmhex.core.edits import Batch, Edit, Splice
from mmhex.core.pieces import ADD, ORIGINAL, Piece
from mmhex.core.retired import (
    Segment,
    Translation,
    TranslationError,
    epochs_of,
    identity_ranges,
    merged,
    referenced_ranges,
    split,
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
def test_resolve_and_through_follow_every_byte(lengths: list[int], data: st.DataObject) -> None:
    """A translation over consecutive segments, then through a newer one: byte by byte."""
    segments, lo = [], 0
    for k, n in enumerate(lengths):
        source = ORIGINAL if k % 2 else ADD
        segments.append(Segment(lo, lo + n, source, 1000 * k))
        lo += n
    old = Translation(segments)
    newer = Translation([Segment(0, 20_000, -7, 5)])  # today's file lives on in old file -7
    start = data.draw(st.integers(0, lo - 1))
    length = data.draw(st.integers(1, lo - start))

    def bytes_of(pieces: list[Piece]) -> list[tuple[int, int]]:
        return [(p.source, p.start + i) for p in pieces for i in range(p.length)]

    expected = []
    for x in range(start, start + length):
        seg = next(s for s in segments if s.lo <= x < s.hi)
        expected.append((seg.source, seg.start + x - seg.lo))
    assert bytes_of(old.resolve(start, length)) == expected
    through = [(-7, y + 5) if s == ORIGINAL else (s, y) for s, y in expected]
    assert bytes_of(old.through(newer).resolve(start, length)) == through
    with pytest.raises(TranslationError):
        old.resolve(lo - 1, 2)  # past the last segment


def test_referenced_ranges_take_this_layout_and_older_translations() -> None:
    history = [
        Splice(10, ((ORIGINAL, 100, 5),), (), epoch=3),
        Batch((Edit(0, b"a", b"b"), Splice(0, (), ((ORIGINAL, 103, 10),), epoch=3))),
        Splice(0, ((ORIGINAL, 500, 5),), (), epoch=2),  # an older layout: translated
    ]
    older = Translation([Segment(500, 505, ORIGINAL, 40), Segment(505, 600, ADD, 0)])
    assert referenced_ranges(history, 3, [older]) == [(40, 45), (100, 113)]
    assert epochs_of(history) == {2, 3}


def test_identity_ranges_are_file_bytes_at_their_own_offsets() -> None:
    pieces = [
        (0, Piece(ORIGINAL, 0, 10)),
        (10, Piece(ADD, 0, 4)),
        (14, Piece(ORIGINAL, 10, 6)),  # shifted by the insert
        (20, Piece(ORIGINAL, 20, 5)),  # back in place after a delete
    ]
    assert identity_ranges(pieces) == [(0, 10), (20, 25)]
