"""Compare against a byte-by-byte model: random pairs, edges, shifts, edits, holes, devices."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmhex.core import compare as comparing
from mmhex.core.compare import Anchor, DiffRange, compare, piece_runs, plan_segments
from mmhex.core.document import Document
from mmhex.core.progress import CancelToken, Progress
from mmhex.core.scan import SafeReader
from tests.core.test_block_device import loop_device  # noqa: F401  (the fixture)

WINDOW = 64 * 1024


def model(a: bytes, b: bytes, anchors: list[Anchor] | None = None) -> list[tuple[int, int, int]]:
    """The differing runs, found one byte at a time (the obviously right way)."""
    runs: list[tuple[int, int, int]] = []
    for segment in plan_segments(len(a), len(b), anchors):
        for i in range(segment.length):
            pa, pb = segment.a + i, segment.b + i
            if a[pa] == b[pb]:
                continue
            if runs and runs[-1][0] + runs[-1][2] == pa and runs[-1][1] + runs[-1][2] == pb:
                runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
            else:
                runs.append((pa, pb, 1))
    return runs


def as_tuples(ranges: list[DiffRange]) -> list[tuple[int, int, int]]:
    return [(r.a, r.b, r.length) for r in ranges]


@pytest.fixture
def pair(tmp_path):
    """Write two byte strings, open them with small windows; closes what it opened."""
    opened: list[Document] = []

    def make(a: bytes, b: bytes, **options: int) -> tuple[Document, Document]:
        for name, data in (("a.bin", a), ("b.bin", b)):
            (tmp_path / name).write_bytes(data)
        options.setdefault("window_size", WINDOW)
        docs = (
            Document.open(str(tmp_path / "a.bin"), **options),
            Document.open(str(tmp_path / "b.bin"), **options),
        )
        opened.extend(docs)
        return docs

    yield make
    for document in opened:
        document.close()


def scatter(rng: random.Random, data: bytes, count: int, longest: int = 40) -> bytes:
    out = bytearray(data)
    for _ in range(count):
        if not out:
            break
        start = rng.randrange(len(out))
        for i in range(start, min(len(out), start + rng.randint(1, longest))):
            out[i] ^= rng.randint(1, 255)
    return bytes(out)


@pytest.mark.parametrize("use_pread", [True, False])
def test_random_pairs_equal_the_model(pair, use_pread):
    rng = random.Random(14)
    for _ in range(40):
        size = rng.choice([0, 1, 7, 4096, WINDOW - 1, WINDOW, 3 * WINDOW + 5])
        a = rng.randbytes(size)
        b = scatter(rng, a, rng.choice([0, 1, 3, 60, 2000]))
        if rng.random() < 0.3:
            b = b[: rng.randint(0, len(b))] + rng.randbytes(rng.randint(0, 50))
        doc_a, doc_b = pair(a, b)
        chunk = rng.choice([4096, WINDOW])
        result = compare(doc_a, doc_b, chunk_size=chunk, use_pread=use_pread)
        expected = model(a, b)
        assert as_tuples(result.ranges) == expected
        assert result.range_count == len(expected)
        assert result.differing_bytes == sum(run[2] for run in expected)
        assert result.complete and result.compared == min(len(a), len(b))


@settings(max_examples=60, deadline=None)
@given(
    a=st.binary(max_size=3000),
    edits=st.lists(st.tuples(st.integers(0, 2999), st.integers(1, 255)), max_size=30),
    tail=st.binary(max_size=20),
)
def test_piece_runs_equal_the_model(a, edits, tail):
    b = bytearray(a)
    for index, value in edits:
        if index < len(b):
            b[index] ^= value
    runs = piece_runs(memoryview(a), memoryview(bytes(b)))
    assert [(s, s, e - s) for s, e in runs] == model(a, bytes(b))
    with pytest.raises(ValueError):
        piece_runs(memoryview(a), memoryview(bytes(b) + tail + b"x"))


def test_differences_on_both_sides_of_window_and_chunk_edges(pair):
    size = 4 * WINDOW
    a = bytes(size)
    b = bytearray(a)
    for edge in (WINDOW, 2 * WINDOW, 3 * WINDOW):
        b[edge - 1] = 1
        b[edge] = 2  # one run across the edge: must come back merged
    b[size - 1] = 3
    doc_a, doc_b = pair(a, bytes(b))
    result = compare(doc_a, doc_b, chunk_size=WINDOW // 4)
    assert as_tuples(result.ranges) == model(a, bytes(b))
    assert [r.length for r in result.ranges] == [2, 2, 2, 1]


def test_dense_differences_take_the_whole_leaf_path(pair):
    rng = random.Random(3)
    a = rng.randbytes(5 * comparing.LEAF)
    b = bytes(x ^ (i % 3 == 0) for i, x in enumerate(a))  # every third byte
    doc_a, doc_b = pair(a, b)
    result = compare(doc_a, doc_b)
    assert as_tuples(result.ranges) == model(a, b)


@pytest.mark.parametrize(("lease", "use_pread"), [(True, True), (True, False), (False, False)])
def test_unsaved_edits_count(pair, lease, use_pread):
    a = os.urandom(3 * WINDOW)
    doc_a, doc_b = pair(a, a)
    assert compare(doc_a, doc_b, use_lease=lease).range_count == 0
    doc_b.enable_editing()
    doc_b.write(WINDOW + 10, b"\x00\x01\x02")
    b = bytearray(a)
    b[WINDOW + 10 : WINDOW + 13] = b"\x00\x01\x02"
    result = compare(doc_a, doc_b, use_lease=lease, use_pread=use_pread)
    assert as_tuples(result.ranges) == model(a, bytes(b))
    assert result.range_count >= 1


def test_same_file_twice_is_equal_without_reading(pair, monkeypatch, tmp_path):
    data = os.urandom(WINDOW)
    (tmp_path / "x.bin").write_bytes(data)
    doc_a = Document.open(str(tmp_path / "x.bin"))
    doc_b = Document.open(str(tmp_path / "x.bin"))
    try:
        monkeypatch.setattr(comparing, "piece_runs", pytest.fail)
        result = compare(doc_a, doc_b)
        assert result.equal and result.compared == WINDOW
    finally:
        doc_a.close()
        doc_b.close()


def test_resynchronize_after_an_insertion(pair):
    rng = random.Random(5)
    a = rng.randbytes(3000)
    inserted = rng.randbytes(100)
    b = a[:1000] + inserted + a[1000:2500] + b"\xff" + a[2501:]
    doc_a, doc_b = pair(a, b)
    plain = compare(doc_a, doc_b)
    assert plain.differing_bytes > 1500  # everything after the insertion looks different
    anchors = [Anchor(1000, 1100)]
    shifted = compare(doc_a, doc_b, anchors)
    assert as_tuples(shifted.ranges) == model(a, b, anchors)
    assert [r.a for r in shifted.ranges if r.a >= 1000] == [2500]
    assert shifted.ranges[-1].b == 2600


def test_segments_and_summary():
    assert plan_segments(10, 12) == [comparing.Segment(0, 0, 10)]
    assert plan_segments(10, 12, [Anchor(4, 8)]) == [
        comparing.Segment(0, 0, 4),
        comparing.Segment(4, 8, 4),
    ]
    with pytest.raises(ValueError):
        plan_segments(10, 10, [Anchor(-1, 0)])
    result = comparing.CompareResult(10, 14, plan_segments(10, 14), complete=True)
    result.range_count, result.differing_bytes = 3, 1234
    assert result.summary() == "3 ranges differ, 1,234 bytes; B is 4 bytes longer"
    result.size_b = 10
    assert result.summary() == "3 ranges differ, 1,234 bytes; sizes equal"
    result.range_count = 0
    assert result.summary() == "No differences; sizes equal"


def test_navigation_and_visible_ranges():
    ranges = [DiffRange(10, 10, 5), DiffRange(40, 40, 1), DiffRange(90, 90, 10)]
    result = comparing.CompareResult(100, 100, plan_segments(100, 100), ranges=ranges)
    assert result.next_range(0) == ranges[0]
    assert result.next_range(10) == ranges[1]
    assert result.next_range(90) is None
    assert result.previous_range(90) == ranges[1]
    assert result.previous_range(10) is None
    assert result.ranges_between(14, 41) == ranges[:2]
    assert result.ranges_between(15, 40) == []
    assert result.ranges_between_b(95, 200) == ranges[2:]


def test_cancel_returns_what_was_found(pair):
    a = bytes(8 * WINDOW)
    b = bytearray(a)
    b[5] = 1
    b[7 * WINDOW] = 1
    doc_a, doc_b = pair(a, bytes(b))
    token = CancelToken()

    def stop_after_first(done: int, total: int) -> None:
        token.cancel()

    progress = Progress(0, stop_after_first, token, interval=0)
    result = compare(doc_a, doc_b, progress=progress, chunk_size=WINDOW)
    assert not result.complete
    assert as_tuples(result.ranges) == [(5, 5, 1)]
    assert "stopped at" in result.summary()


def test_range_list_capped_but_counted(pair):
    a = bytes(1000)
    b = bytes(1 if i % 2 else 0 for i in range(1000))
    doc_a, doc_b = pair(a, b)
    result = compare(doc_a, doc_b, max_ranges=10)
    assert len(result.ranges) == 10 and result.range_count == 500
    assert not result.listed_all


def _sparse(path, size: int, spots: dict[int, bytes]) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, data in spots.items():
            f.seek(offset)
            f.write(data)


def _count_reads(monkeypatch) -> list[int]:
    """The lengths of every read a compare makes (views and preads), as they happen."""
    read: list[int] = []
    for owner, name in ((SafeReader, "view"), (comparing._Side, "_pread")):
        original = getattr(owner, name)

        def counting(self, start, end, original=original):
            read.append(end - start)
            return original(self, start, end)

        monkeypatch.setattr(owner, name, counting)
    return read


def test_sparse_files_skip_common_holes(tmp_path, monkeypatch):
    size = 64 * 1024**3  # 64 GiB of holes: reading them would take minutes
    spots_a = {i * 5 * 1024**3: b"same" for i in range(10)}
    spots_b = dict(spots_a)
    spots_b[3 * 1024**3 + 100] = b"\x01"
    spots_b[9 * 1024**3] = b"diff"
    _sparse(tmp_path / "a", size, spots_a)
    _sparse(tmp_path / "b", size, spots_b)
    read = _count_reads(monkeypatch)
    doc_a, doc_b = Document.open(str(tmp_path / "a")), Document.open(str(tmp_path / "b"))
    try:
        result = compare(doc_a, doc_b)
    finally:
        doc_a.close()
        doc_b.close()
    assert as_tuples(result.ranges) == [
        (3 * 1024**3 + 100, 3 * 1024**3 + 100, 1),
        (9 * 1024**3, 9 * 1024**3, 4),
    ]
    assert result.complete and result.compared == size
    assert sum(read) < 64 * 1024**2  # a few blocks around the data, not gigabytes


def test_edit_inside_a_hole_is_compared(tmp_path):
    _sparse(tmp_path / "a", 10 * 1024**2, {})
    _sparse(tmp_path / "b", 10 * 1024**2, {})
    doc_a, doc_b = Document.open(str(tmp_path / "a")), Document.open(str(tmp_path / "b"))
    try:
        doc_b.enable_editing()
        doc_b.write(5 * 1024**2, b"\x07\x07")
        result = compare(doc_a, doc_b)
        assert as_tuples(result.ranges) == [(5 * 1024**2, 5 * 1024**2, 2)]
    finally:
        doc_a.close()
        doc_b.close()


def test_hole_against_data_compares_with_zeros(pair, tmp_path):
    _sparse(tmp_path / "h", 3 * WINDOW, {})
    data = bytearray(3 * WINDOW)
    data[WINDOW + 3] = 9
    (tmp_path / "d").write_bytes(data)
    doc_a = Document.open(str(tmp_path / "h"), window_size=WINDOW)
    doc_b = Document.open(str(tmp_path / "d"), window_size=WINDOW)
    try:
        result = compare(doc_a, doc_b)
        assert as_tuples(result.ranges) == [(WINDOW + 3, WINDOW + 3, 1)]
    finally:
        doc_a.close()
        doc_b.close()


def test_block_device_against_its_image(loop_device, tmp_path):  # noqa: F811
    device, data = loop_device
    changed = bytearray(data)
    changed[1024 * 1024 - 1 : 1024 * 1024 + 1] = b"\xaa\xbb"
    (tmp_path / "copy.img").write_bytes(changed)
    doc_a = Document.open(device, window_size=1024 * 1024)
    doc_b = Document.open(str(tmp_path / "copy.img"), window_size=1024 * 1024)
    try:
        result = compare(doc_a, doc_b)
        assert as_tuples(result.ranges) == model(data, bytes(changed))
        assert result.size_relation() == "sizes equal"
    finally:
        doc_a.close()
        doc_b.close()


def test_recompare_span_after_edits_equals_a_full_compare(pair):
    rng = random.Random(9)
    a = rng.randbytes(5 * WINDOW)
    b = scatter(rng, a, 40)
    doc_a, doc_b = pair(a, b)
    result = compare(doc_a, doc_b)
    doc_a.enable_editing()
    doc_b.enable_editing()
    for _ in range(30):
        side = rng.choice((doc_a, doc_b))
        offset = rng.randrange(len(a) - 10)
        # Write the other side's bytes (closing a range) or noise (opening or joining one).
        other = doc_b if side is doc_a else doc_a
        data = other.read(offset, 5) if rng.random() < 0.5 else rng.randbytes(5)
        side.write(offset, data)
        if side is doc_a:
            span = (offset, offset + 5)
        else:
            span = comparing.a_span_of_b(result.segments, offset, offset + 5)
        result = comparing.recompare_span(result, doc_a, doc_b, *span)
        full = compare(doc_a, doc_b)
        assert result.ranges == full.ranges
        assert (result.range_count, result.differing_bytes) == (
            full.range_count,
            full.differing_bytes,
        )


def test_clip_and_map_segments():
    segments = plan_segments(100, 120, [Anchor(50, 70)])
    assert comparing.clip_segments(segments, 40, 60) == [
        comparing.Segment(40, 40, 10),
        comparing.Segment(50, 70, 10),
    ]
    assert comparing.a_span_of_b(segments, 45, 75) == (45, 55)
    assert comparing.a_span_of_b(segments, 200, 300) is None


def test_offsets_map_through_the_shift_of_their_segment():
    segments = plan_segments(100, 120, [Anchor(50, 70)])
    assert [comparing.a_to_b(segments, a) for a in (0, 49, 50, 99)] == [0, 49, 70, 119]
    assert [comparing.b_to_a(segments, b) for b in (0, 49, 69, 70, 119)] == [0, 49, 69, 50, 99]


def test_uncompared_ranges_are_tails_and_skipped_insertions():
    segments = plan_segments(3000, 3108, [Anchor(1000, 1100)])
    assert comparing.uncompared(segments, 3000, "a") == []
    assert comparing.uncompared(segments, 3108, "b") == [(1000, 1100), (3100, 3108)]
    assert comparing.uncompared(plan_segments(10, 4), 10, "a") == [(4, 10)]
    assert comparing.uncompared(plan_segments(0, 4), 4, "b") == [(0, 4)]


def test_large_pieces_narrow_through_every_level(pair):
    """Default 16 MiB windows: 4 MiB pieces, 256 KiB blocks split down to 4 KiB screens."""
    rng = random.Random(21)
    a = rng.randbytes(5 * 1024 * 1024 + 3)
    b = scatter(rng, a, 300, longest=3000)
    doc_a, doc_b = pair(a, b, window_size=16 * 1024 * 1024)
    for use_pread in (True, False):
        result = compare(doc_a, doc_b, use_pread=use_pread)
        assert as_tuples(result.ranges) == model(a, b)


def test_inserted_documents_over_sparse_files_compare_in_document_offsets(tmp_path, monkeypatch):
    """After inserts and deletes, offsets are document offsets: the file's holes move with their
    pieces (and are still skipped), inserted bytes are compared like any other."""
    size = 8 * 1024**3  # holes: reading them would take tens of seconds
    mib = 1024**2
    spots = {i * 1024**3: bytes(range(1, 200)) for i in range(8)}
    _sparse(tmp_path / "a", size, spots)
    _sparse(tmp_path / "b", size, spots)
    read = _count_reads(monkeypatch)
    doc_a, doc_b = Document.open(str(tmp_path / "a")), Document.open(str(tmp_path / "b"))
    try:
        for document in (doc_a, doc_b):
            document.enable_editing()
            document.insert(0, b"\x05" * mib)  # the file's bytes all move by 1 MiB
        doc_b.insert(2 * 1024**3 + mib + 10, b"\x09\x09")  # B's data from there on moves by 2
        doc_b.delete(2 * 1024**3 + mib + 12, 2)  # ... and back: two bytes of data go
        doc_a.insert_fill(5 * 1024**3, 3 * mib, b"\x00")  # a hole inserted in A (a zero fill)
        doc_b.insert_fill(5 * 1024**3, 3 * mib, b"\x00")
        doc_b.write(7 * 1024**3 + 4 * mib, b"\x77")  # an overwrite of a (shifted) data byte
        result = compare(doc_a, doc_b)
        assert doc_a.size == doc_b.size
        want = []
        for start in (2 * 1024**3 + mib + 10, 7 * 1024**3 + 4 * mib):
            lo, hi = max(0, start - 300), start + 300
            got = model(doc_a.read(lo, hi - lo), doc_b.read(lo, hi - lo))
            want += [(a + lo, b + lo, n) for a, b, n in got]
        assert as_tuples(result.ranges) == want
        assert want and want[0] == (2 * 1024**3 + mib + 10, 2 * 1024**3 + mib + 10, 2)
        assert result.complete and result.compared == doc_a.size
        assert sum(read) < 64 * mib  # the data runs and the inserted bytes, not gigabytes
    finally:
        doc_a.close()
        doc_b.close()


@settings(max_examples=25, deadline=None)
@given(
    base=st.binary(min_size=1, max_size=3000),
    edits_a=st.lists(
        st.tuples(st.booleans(), st.integers(0, 4000), st.binary(min_size=1, max_size=50)),
        max_size=4,
    ),
    edits_b=st.lists(
        st.tuples(st.booleans(), st.integers(0, 4000), st.binary(min_size=1, max_size=50)),
        max_size=4,
    ),
    use_pread=st.booleans(),
)
def test_edited_documents_equal_the_model(tmp_path_factory, base, edits_a, edits_b, use_pread):
    folder = tmp_path_factory.mktemp("edited")
    docs = []
    try:
        for name, edits in (("a", edits_a), ("b", edits_b)):
            (folder / name).write_bytes(base)
            document = Document.open(str(folder / name), window_size=4096)
            docs.append(document)
            document.enable_editing()
            for insert, where, data in edits:
                offset = where % (document.size + 1)
                if insert:
                    document.insert(offset, data)
                elif offset < document.size:
                    document.delete(offset, min(len(data), document.size - offset))
        a, b = (d.read(0, d.size) for d in docs)
        result = compare(docs[0], docs[1], use_pread=use_pread)
        assert as_tuples(result.ranges) == model(a, b)
    finally:
        for document in docs:
            document.close()
