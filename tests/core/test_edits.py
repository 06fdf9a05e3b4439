"""Edit values, coalescing and the EditLog against plain bytearray models."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmhex.core.edits import (
    MAX_COALESCED_BYTES,
    Edit,
    EditLog,
    HexSyntaxError,
    coalesce,
    page_ranges,
    parse_hex_bytes,
)

SIZE = 64
CHUNK = 8  # small difference-tracking chunks, so that edits straddle chunk borders


def apply_to(model: bytearray, edit: Edit) -> None:
    assert bytes(model[edit.offset : edit.end]) == edit.old, "edit does not fit the model"
    model[edit.offset : edit.end] = edit.new


def edit_on(model: bytearray, offset: int, new: bytes) -> Edit:
    """The Edit that writing ``new`` at ``offset`` of ``model`` makes (like Document.write)."""
    return Edit(offset, bytes(model[offset : offset + len(new)]), new)


@st.composite
def writes(draw: st.DrawFn, size: int = SIZE) -> tuple[int, bytes]:
    offset = draw(st.integers(0, size - 1))
    data = draw(st.binary(min_size=1, max_size=min(12, size - offset)))
    return offset, data


def test_edit_requires_same_length_and_non_negative_offset() -> None:
    with pytest.raises(ValueError, match="same length"):
        Edit(0, b"ab", b"a")
    with pytest.raises(ValueError, match="negative"):
        Edit(-1, b"a", b"b")


def test_inverse_swaps_old_and_new() -> None:
    edit = Edit(7, b"\x00\x01", b"\xff\xfe")
    assert edit.inverse() == Edit(7, b"\xff\xfe", b"\x00\x01")
    assert edit.inverse().inverse() == edit
    assert edit.end == 9 and len(edit) == 2


@given(st.binary(min_size=SIZE, max_size=SIZE), writes())
def test_edit_then_inverse_restores_the_model(base: bytes, write: tuple[int, bytes]) -> None:
    model = bytearray(base)
    edit = edit_on(model, *write)
    apply_to(model, edit)
    assert bytes(model[edit.offset : edit.end]) == write[1]
    apply_to(model, edit.inverse())
    assert model == base


@given(st.binary(min_size=SIZE, max_size=SIZE), writes(), writes())
def test_then_has_the_effect_of_both_edits(
    base: bytes, first_write: tuple[int, bytes], second_write: tuple[int, bytes]
) -> None:
    model = bytearray(base)
    first = edit_on(model, *first_write)
    apply_to(model, first)
    second = edit_on(model, *second_write)
    apply_to(model, second)
    combined = first.then(second)
    touching = second.offset <= first.end and second.end >= first.offset
    if not touching:
        assert combined is None
        return
    assert combined is not None
    replay = bytearray(base)
    apply_to(replay, combined)  # old bytes are exactly the base's
    assert replay == model
    apply_to(replay, combined.inverse())
    assert replay == base


def test_coalesce_merges_typing_forward_and_nibbles_of_one_byte() -> None:
    first = Edit(10, b"a", b"A")
    assert coalesce(first, Edit(11, b"b", b"B")) == Edit(10, b"ab", b"AB")
    # the second nibble of the same byte: the byte's old value stays the very first one
    high = Edit(20, b"\x00", b"\x40")
    low = Edit(20, b"\x40", b"\x41")
    assert coalesce(high, low) == Edit(20, b"\x00", b"\x41")


def test_coalesce_refuses_jumps_backward_moves_and_the_limit() -> None:
    first = Edit(10, b"ab", b"AB")
    assert coalesce(first, Edit(13, b"c", b"C")) is None  # skipped a byte
    assert coalesce(first, Edit(9, b"z", b"Z")) is None  # moved backwards
    long_run = Edit(0, bytes(MAX_COALESCED_BYTES), b"x" * MAX_COALESCED_BYTES)
    assert coalesce(long_run, Edit(MAX_COALESCED_BYTES, b"\x00", b"y")) is None
    assert coalesce(long_run, Edit(MAX_COALESCED_BYTES, b"\x00", b"y"), limit=10**6) is not None


@given(st.binary(min_size=SIZE, max_size=SIZE), st.lists(writes(), min_size=1, max_size=30))
def test_coalesced_typing_undoes_in_one_step(base: bytes, run: list[tuple[int, bytes]]) -> None:
    model = bytearray(base)
    merged: Edit | None = None
    for offset, data in run:
        edit = edit_on(model, offset, data)
        candidate = edit if merged is None else coalesce(merged, edit)
        if candidate is None:
            break
        apply_to(model, edit)
        merged = candidate
    assert merged is not None
    undone = bytearray(model)
    apply_to(undone, merged.inverse())
    assert undone == base


@given(st.binary(min_size=SIZE, max_size=SIZE), st.lists(writes(), max_size=40))
@settings(max_examples=300)
def test_edit_log_tracks_exactly_the_bytes_that_differ(
    base: bytes, run: list[tuple[int, bytes]]
) -> None:
    model = bytearray(base)
    log = EditLog(chunk_size=CHUNK)
    for offset, data in run:
        edit = edit_on(model, offset, data)
        apply_to(model, edit)
        log.record(edit)
        check_log(log, base, model)


def check_log(log: EditLog, base: bytes, model: bytearray) -> None:
    differing = {i for i in range(len(base)) if base[i] != model[i]}
    assert log.modified == bool(differing)
    ranges = log.dirty_ranges()
    covered = {i for start, end in ranges for i in range(start, end)}
    assert differing <= covered
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end < start, "ranges must be sorted, disjoint and not touching"
    for segment in log.segments():
        assert bytes(segment.original) == base[segment.start : segment.end]
        assert bytes(segment.current) == model[segment.start : segment.end]
        in_segment = {i // log.chunk_size for i in differing if segment.start <= i < segment.end}
        assert segment.differing == in_segment and in_segment
    rebuilt = bytearray(base)
    for offset, data in log.patches():
        rebuilt[offset : offset + len(data)] = data
    assert rebuilt == model
    assert log.end == (ranges[-1][1] if ranges else 0)
    assert log.dirty_bytes == len(covered)


@given(st.binary(min_size=SIZE, max_size=SIZE), st.lists(writes(), min_size=1, max_size=20))
def test_undoing_everything_makes_the_log_clean(base: bytes, run: list[tuple[int, bytes]]) -> None:
    model = bytearray(base)
    log = EditLog(chunk_size=CHUNK)
    done: list[Edit] = []
    for offset, data in run:
        edit = edit_on(model, offset, data)
        apply_to(model, edit)
        log.record(edit)
        done.append(edit)
    for edit in reversed(done):
        undo = edit.inverse()
        apply_to(model, undo)
        log.record(undo)
        check_log(log, base, model)
    assert model == base
    assert not log.modified and log.dirty_ranges() == []


def test_dirty_ranges_in_an_empty_window_is_empty() -> None:
    log = EditLog()
    log.record(Edit(162, b"\x00\x00", b"\x00\x01"))
    assert log.dirty_ranges_in(163, 163) == []
    assert log.dirty_ranges_in(163, 100) == []
    assert log.dirty_ranges_in(163, 164) == [(163, 164)]


def test_typing_back_the_original_byte_is_clean() -> None:
    log = EditLog()
    log.record(Edit(5, b"a", b"b"))
    assert log.modified
    log.record(Edit(5, b"b", b"a"))
    assert not log.modified


def test_a_join_keeps_the_first_original_bytes() -> None:
    log = EditLog()
    log.record(Edit(0, b"ab", b"AB"))
    log.record(Edit(4, b"ef", b"EF"))
    assert log.dirty_ranges() == [(0, 2), (4, 6)]
    log.record(Edit(1, b"Bcd", b"xyz"))  # bridges both runs and the gap between them
    assert log.dirty_ranges() == [(0, 6)]
    (segment,) = log.segments()
    assert bytes(segment.original) == b"abcdef"
    assert bytes(segment.current) == b"AxyzEF"


@given(st.lists(writes(256), max_size=20), st.integers(0, 300), st.integers(0, 300))
def test_dirty_ranges_in_clips_like_a_brute_force_scan(
    run: list[tuple[int, bytes]], lo: int, hi: int
) -> None:
    model = bytearray(256)
    log = EditLog()
    for offset, data in run:
        edit = edit_on(model, offset, data)
        apply_to(model, edit)
        log.record(edit)
    expected = {i for s, e in log.dirty_ranges() for i in range(s, e) if lo <= i < hi}
    found = log.dirty_ranges_in(lo, hi)
    assert {i for s, e in found for i in range(s, e)} == expected
    assert all(lo <= s < e <= hi for s, e in found)
    for i in range(0, 256, 17):
        assert log.is_dirty(i) == any(s <= i < e for s, e in log.dirty_ranges())


@given(st.lists(st.tuples(st.integers(0, 50_000), st.integers(1, 9000)), max_size=20))
def test_page_ranges_cover_exactly_the_touched_pages(spans: list[tuple[int, int]]) -> None:
    page = 4096
    ranges = [(start, start + length) for start, length in spans]
    merged = page_ranges(ranges, page)
    touched = {p for start, end in ranges for p in range(start // page, (end - 1) // page + 1)}
    assert {p for lo, hi in merged for p in range(lo // page, hi // page)} == touched
    for lo, hi in merged:
        assert lo % page == 0 and hi % page == 0 and lo < hi
    for (_, end), (start, _) in itertools.pairwise(merged):
        assert end < start, "touching page ranges must be merged into one msync"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("deadBEEF", b"\xde\xad\xbe\xef"), (" de ad\tbe\nef ", b"\xde\xad\xbe\xef"), ("00", b"\0")],
)
def test_parse_hex_bytes(text: str, expected: bytes) -> None:
    assert parse_hex_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "odd number of hex digits (3)"),
        ("0xff", "'x' is not a hex digit"),
        ("g0", "'g' is not a hex digit"),
        ("  ", "no bytes given"),
        ("de-ad", "'-' is not a hex digit"),
    ],
)
def test_parse_hex_bytes_rejects_what_is_not_hex(text: str, message: str) -> None:
    with pytest.raises(HexSyntaxError) as info:
        parse_hex_bytes(text)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


@given(st.binary(max_size=64))
def test_parse_hex_bytes_reads_what_bytes_hex_writes(data: bytes) -> None:
    if data:
        assert parse_hex_bytes(data.hex(" ")) == data
        assert parse_hex_bytes(data.hex().upper()) == data
