"""Scans walk an edited document piece by piece: after inserts, deletes, fills and overwrites of
a sparse file, search (literal, wildcard, regex; patterns that can and cannot match zeros) and
checksums equal brute force over ``bytes(document)``, the file's holes are still skipped (shifted
to where their pieces now sit), and FILE pieces are viewed in place, not copied."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmhex.core import holes, piece_map, scan
from mmhex.core.checksums import compute_checksums
from mmhex.core.document import Document
from mmhex.core.search import (
    PatternKind,
    SearchOptions,
    SearchPattern,
    compile_pattern,
    count_matches,
    find_all,
    find_next,
    iter_matches,
)

PAGE = 4096
FILE_SIZE = 48 * PAGE + 100
ALPHABET = b"\x00\x01ab"

PATTERNS = [
    SearchPattern(PatternKind.HEX, "00 00"),
    SearchPattern(PatternKind.HEX, "??"),
    SearchPattern(PatternKind.HEX, "61 ?? 62"),
    SearchPattern(PatternKind.HEX, "00 ?? 01"),
    SearchPattern(PatternKind.TEXT, b"ab"),
    SearchPattern(PatternKind.TEXT, b"b\x00a"),
    SearchPattern(PatternKind.REGEX, r"ab[\x00-\x02]{0,3}b"),
    SearchPattern(PatternKind.REGEX, r"\x00{2,5}"),
]


def _make_file(folder: str, chunks: list[tuple[int, bytes]]) -> tuple[str, bytearray]:
    path = os.path.join(folder, "sparse.bin")
    model = bytearray(FILE_SIZE)
    with open(path, "wb") as f:
        f.truncate(FILE_SIZE)
        for page, data in chunks:
            offset = page * PAGE + PAGE - len(data) // 2  # straddles a page boundary
            data = data[: FILE_SIZE - offset]
            os.pwrite(f.fileno(), data, offset)
            model[offset : offset + len(data)] = data
    return path, model


def _apply(document: Document, model: bytearray, op: tuple) -> None:
    kind, where, length, data = op
    size = len(model)
    offset = where % (size + 1)
    if kind == "insert":
        document.insert(offset, data)
        model[offset:offset] = data
    elif kind == "insert_fill":
        document.insert_fill(offset, length, data)
        model[offset:offset] = (data * length)[:length]
    elif kind == "delete":
        length = min(length, size - offset)
        if length:
            document.delete(offset, length)
            del model[offset : offset + length]
    elif kind == "fill":
        length = min(length, size - offset)
        if length:
            document.fill(offset, length, data)
            model[offset : offset + length] = (data * length)[:length]
    else:  # overwrite
        data = data[: size - offset]
        if data:
            document.write(offset, data)
            model[offset : offset + len(data)] = data


def _brute(compiled, model: bytes) -> list[tuple[int, int]]:
    if compiled.length is None:
        return [(m.start(), m.end()) for m in compiled.regex.finditer(model)]
    length = compiled.length
    starts = [
        s for s in range(len(model) - length + 1) if compiled.regex.match(model, s) is not None
    ]
    return [(s, s + length) for s in starts]


operations = st.tuples(
    st.sampled_from(["insert", "insert_fill", "delete", "fill", "overwrite"]),
    st.integers(0, 1 << 30),
    st.integers(1, 3 * PAGE),
    st.one_of(
        st.binary(min_size=1, max_size=40).map(lambda b: bytes(ALPHABET[x % 4] for x in b)),
        st.sampled_from([b"\x00", b"\x00\x00", b"ab", b"\x01"]),
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(
        st.tuples(
            st.integers(0, 46),
            st.binary(min_size=1, max_size=400).map(lambda b: bytes(ALPHABET[x % 4] for x in b)),
        ),
        max_size=5,
    ),
    ops=st.lists(operations, min_size=1, max_size=8),
    pattern=st.sampled_from(PATTERNS),
    window_pages=st.sampled_from([4, 16]),
    lease=st.booleans(),
)
def test_search_and_checksums_through_pieces_equal_brute_force(
    chunks, ops, pattern, window_pages, lease
):
    with tempfile.TemporaryDirectory() as folder:
        path, model = _make_file(folder, chunks)
        document = Document.open(path, window_size=window_pages * PAGE)
        try:
            document.enable_editing()
            for op in ops:
                _apply(document, model, op)
            edited = bytes(model)
            assert document.read(0, document.size) == edited
            options = SearchOptions(chunk_size=5000, use_lease=lease)
            compiled = compile_pattern(pattern)
            expected = _brute(compiled, edited)
            got = [(m.start, m.end) for m in iter_matches(document, compiled, options=options)]
            assert got == expected
            if compiled.length is not None:
                assert count_matches(document, compiled, options=options) == len(expected)
                found = find_all(document, compiled, limit=50, options=options)
                assert [(m.start, m.end) for m in found.matches] == expected[:50]
                last = find_next(document, compiled, len(edited), backward=True, options=options)
                assert (last and last.match.start) == (expected[-1][0] if expected else None)
                middle = len(edited) // 2
                ahead = find_next(document, compiled, middle, options=options)
                want = next((s for s, _e in expected if s >= middle), None)
                assert (ahead and ahead.match.start) == want
            sums = compute_checksums(
                document, algorithms=("SHA-256", "MD5"), use_lease=lease, chunk_size=7000
            )
            assert sums["SHA-256"] == hashlib.sha256(edited).hexdigest()
            assert sums["MD5"] == hashlib.md5(edited).hexdigest()
            lo, hi = len(edited) // 3, 2 * len(edited) // 3
            part = compute_checksums(document, lo, hi, algorithms=("SHA-1",))
            assert part["SHA-1"] == hashlib.sha1(edited[lo:hi]).hexdigest()
            # What the scans skip really is zeros, and every non-zero byte is in a data run.
            runs = holes.readable_runs(document, 0, len(edited))
            for s, e in holes.complement(runs, 0, len(edited)):
                assert not any(edited[s:e])
        finally:
            document.close()


@pytest.fixture
def sparse_doc(tmp_path):
    path = tmp_path / "holes.bin"
    size = 64 * PAGE
    with open(path, "wb") as f:
        f.truncate(size)
        os.pwrite(f.fileno(), b"needle" * 100, 10 * PAGE)
        os.pwrite(f.fileno(), b"needle" * 100, 40 * PAGE)
    document = Document.open(str(path), window_size=16 * PAGE)
    document.enable_editing()
    yield document
    document.close()


def test_holes_stay_holes_after_an_insert_and_zero_fills_are_holes(sparse_doc):
    document = sparse_doc
    document.insert(5 * PAGE, b"xyz")
    document.insert_fill(0, 7 * PAGE, b"\x00")
    document.insert_fill(1, 100, b"\xff\x00")
    document.delete(60 * PAGE, PAGE)
    runs = holes.readable_runs(document, 0, document.size)
    shift = 7 * PAGE + 100  # the fills before the file's bytes
    file_data = holes.hole_map(document.mapped).data
    # The non-zero fill, the inserted bytes and the file's two data runs shifted (+3 past xyz).
    want = holes.union(
        [(1, 101), (shift + 5 * PAGE, shift + 5 * PAGE + 3)]
        + [(s + shift + 3, e + shift + 3) for s, e in file_data]
    )
    assert runs == want
    data = document.read(0, document.size)
    for s, e in holes.complement(runs, 0, document.size):
        assert not any(data[s:e])


def test_hole_bytes_are_not_read_after_inserts(sparse_doc, monkeypatch):
    """A pattern that cannot match zeros reads only the data near each piece, not the holes."""
    document = sparse_doc
    for k in range(20):
        document.insert(k * 3 * PAGE + 17, b"\x01")
    read: list[int] = []
    for name in ("view", "copy"):  # every byte a scan looks at passes through one of these
        original = getattr(scan.SafeReader, name)

        def spy(self, start, end, original=original):
            read.append(end - start)
            return original(self, start, end)

        monkeypatch.setattr(scan.SafeReader, name, spy)
    assert count_matches(document, SearchPattern(PatternKind.TEXT, b"needle")) == 200
    assert sum(read) < 4 * PAGE  # the data is 2 × 600 bytes; the file 64 pages


def test_file_pieces_are_viewed_in_place(tmp_path):
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * (64 * PAGE // 256)
    path.write_bytes(data)
    document = Document.open(str(path), window_size=16 * PAGE)
    try:
        document.enable_editing()
        for k in range(8):
            document.insert(k * 7 * PAGE + 5, b"\xfe\xfd\xfc")
        model = bytes(document.read(0, document.size))
        view = document.scan_source
        reader = scan.SafeReader(view)
        try:
            copied_before = reader.stats.copied
            pos = 0
            while pos < document.size:
                lo, hi = scan.view_region(view, pos)
                assert lo <= pos < hi
                with reader.view(pos, hi) as buf:
                    assert bytes(buf) == model[pos:hi]
                pos = hi
            assert reader.stats.copied == copied_before  # every view was in place
            # A view across a piece boundary is a copy, and still right.
            with reader.view(5 * PAGE, 9 * PAGE) as buf:
                assert bytes(buf) == model[5 * PAGE : 9 * PAGE]
            assert reader.stats.copied == copied_before + 1
        finally:
            reader.close()
    finally:
        document.close()


def test_to_document_maps_file_ranges_through_the_pieces(sparse_doc):
    document = sparse_doc
    document.insert(0, b"\x01" * PAGE)
    document.delete(2 * PAGE, PAGE)  # file bytes [PAGE, 2 PAGE) go
    document.insert(5 * PAGE, b"ab")
    got = piece_map.to_document(document, [(0, 3 * PAGE), (10 * PAGE, 11 * PAGE)])
    # file [0, PAGE) → doc [PAGE, 2 PAGE); file [2P, 3P) → doc [2P, 3P);
    # file [10P, 11P) → doc 10P + 2 (insert of 2 at doc 5P = file 5P) → [10P + 2, 11P + 2)
    assert got == [(PAGE, 3 * PAGE), (10 * PAGE + 2, 11 * PAGE + 2)]
    assert piece_map.not_in_file(document, 0, document.size) == [
        (0, PAGE),
        (5 * PAGE, 5 * PAGE + 2),
    ]
    with open(document.path, "rb") as f:
        on_disk = f.read()
    assert document.read(10 * PAGE + 2, PAGE) == on_disk[10 * PAGE : 11 * PAGE]


def _writer_would_wait(path: str) -> bool:
    """Whether opening ``path`` for writing must wait for a lease to be given up."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except BlockingIOError:
        return True
    os.close(fd)
    return False


def test_a_hold_keeps_one_lease_and_a_paused_search_keeps_none(tmp_path):
    path = tmp_path / "needles.bin"
    path.write_bytes((b"needle" + bytes(4090)) * 64)
    document = Document.open(str(path), window_size=16 * PAGE)
    try:
        document.enable_editing()
        for k in range(10):
            document.insert(k * 5 * PAGE + 3, b"\x01\x02")
        reader = scan.SafeReader(document.scan_source)
        try:
            if not reader.leasing:
                pytest.skip("no read leases here (not the owner, or leases disabled)")
            with reader.holding():
                with reader.view(100, 200):  # inside the first FILE piece
                    pass
                assert _writer_would_wait(str(path))  # the hold keeps its lease between views
                with reader.view(200, 300) as data:
                    assert bytes(data) == document.read(200, 100)
            assert not _writer_would_wait(str(path))  # given up at the end of the block
        finally:
            reader.close()
        matches = iter_matches(document, SearchPattern(PatternKind.TEXT, b"needle"))
        first = next(matches)
        edited = document.read(0, document.size)
        want = [m.start() for m in re.finditer(b"needle", edited)]
        assert first.start == want[0]
        assert not _writer_would_wait(str(path))  # a search paused by its caller holds nothing
        assert [first.start] + [m.start for m in matches] == want
    finally:
        document.close()


def test_a_search_after_inserts_leaves_the_holes_out_of_the_cache(tmp_path):
    """Bytes inserted into holes are searched without reading the holes around them: the
    page cache holds no more of the holes than after the same search of the unedited file
    (the kernel's read-around of the data's own pages)."""
    from mmhex.core import _libc

    path = tmp_path / "sparse.bin"
    mib = 1 << 20
    with open(path, "wb") as f:
        f.truncate(64 * mib)
        os.pwrite(f.fileno(), b"needle" * 1000, 33 * mib)  # inside a window, holes around it
        os.fsync(f.fileno())
    pattern = SearchPattern(PatternKind.TEXT, b"needle")
    cached = []
    for edited in (False, True):
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        document = Document.open(str(path))
        try:
            if edited:
                document.enable_editing()
                for k in range(1, 20):
                    document.insert(k * 3 * mib + 7, b"\x01needle\x01")
            assert count_matches(document, pattern) == 1000 + 19 * edited
            try:
                cached.append(_libc.cachestat(document.mapped.fd, 0, 64 * mib)[0])
            except OSError as exc:
                pytest.skip(f"cachestat unavailable: {exc}")
        finally:
            document.close()
    unedited, after_inserts = cached
    assert after_inserts <= unedited + 2  # (a page either side of the data at most)


def test_long_fills_are_scanned_as_their_pattern(sparse_doc):
    """A long non-zero fill is scanned (rendered chunk by chunk, the last chunk kept); a long
    zero fill is a hole: both equal brute force, across chunk and piece boundaries."""
    document = sparse_doc
    document.insert_fill(7 * PAGE + 3, 300_001, b"xyz")
    document.insert_fill(2 * PAGE, 1 << 20, b"\x00")
    document.fill(20 * PAGE, 200_000, b"yzx")  # an overwrite fill over file bytes
    edited = document.read(0, document.size)
    options = SearchOptions(chunk_size=100_000)
    for pattern in (
        SearchPattern(PatternKind.TEXT, b"zx"),
        SearchPattern(PatternKind.HEX, "00 78"),
        SearchPattern(PatternKind.HEX, "?? 00"),
        SearchPattern(PatternKind.REGEX, r"z(xyz){2,3}"),
    ):
        compiled = compile_pattern(pattern)
        got = [(m.start, m.end) for m in iter_matches(document, compiled, options=options)]
        assert got == _brute(compiled, edited), pattern
    sums = compute_checksums(document, algorithms=("SHA-256",), chunk_size=100_000)
    assert sums["SHA-256"] == hashlib.sha256(edited).hexdigest()
