"""Scans skip holes: search over sparse files equals brute force over the bytes (patterns that
match zeros included), checksums equal sha256sum, and holes are neither read nor faulted in."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmhex.core import scan
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
from tests.core.sparse_support import MIB, SIZE, WRITES, make_sparse

OPTIONS = [
    pytest.param(SearchOptions(accelerated=True, chunk_size=300_000), id="accelerated"),
    pytest.param(SearchOptions(accelerated=False, chunk_size=300_000), id="plain"),
]


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    path = tmp_path_factory.mktemp("sparse") / "sparse.bin"
    model = make_sparse(path)
    return str(path), model


def _edge_literal(model: bytes) -> bytes:
    """The last 3 data bytes of a write followed by 2 hole zeros: a match across the edge."""
    offset, length = WRITES[1]
    return model[offset + length - 3 : offset + length + 2]


def _patterns(model: bytes):
    offset, _ = WRITES[3]
    text = PatternKind.TEXT
    hexa = PatternKind.HEX
    factor = re.escape(model[offset + 20 : offset + 23]).decode("latin-1")
    return [
        ("literal", SearchPattern(text, model[offset + 10 : offset + 16]), False),
        ("edge", SearchPattern(hexa, _edge_literal(model).hex(" ")), False),
        ("hex 00 00", SearchPattern(hexa, "00 00"), True),
        ("hex ??", SearchPattern(hexa, "??"), True),
        ("hex 00 ?? 00", SearchPattern(hexa, "00 ?? 00"), True),
        ("hex 00 ?? 01", SearchPattern(hexa, "00 ?? 01"), False),
        ("regex with data", SearchPattern(PatternKind.REGEX, factor + r"[\x00-\xff]{0,3}"), False),
        # No byte it must contain: treated as able to match zeros, so holes are read.
        ("regex no factor", SearchPattern(PatternKind.REGEX, r"\x00[\x01-\xff]{2}"), True),
        ("regex zeros", SearchPattern(PatternKind.REGEX, r"\x00{2,5}"), True),
    ]


def _brute_starts(pattern: SearchPattern, compiled, model: bytes) -> np.ndarray:
    """Match starts over the whole model: numpy compares for hex, re.finditer for the rest."""
    if pattern.kind is PatternKind.HEX:
        tokens = pattern.text.split()
        data = np.frombuffer(model, np.uint8)
        count = len(data) - len(tokens) + 1
        ok = np.ones(max(count, 0), dtype=bool)
        for k, token in enumerate(tokens):
            if token != "??":
                ok &= data[k : k + count] == int(token, 16)
        return np.nonzero(ok)[0]
    return np.array([m.start() for m in compiled.regex.finditer(model)], dtype=np.int64)


def _brute(pattern, compiled, model: bytes, lo: int, hi: int) -> list[tuple[int, int]]:
    """Every match inside model[lo:hi] (overlapping for fixed shapes, finditer for regexes)."""
    if compiled.length is None:
        return [(lo + m.start(), lo + m.end()) for m in compiled.regex.finditer(model[lo:hi])]
    starts = _brute_starts(pattern, compiled, model)
    starts = starts[(starts >= lo) & (starts + compiled.length <= hi)]
    return [(int(s), int(s) + compiled.length) for s in starts]


@pytest.mark.parametrize("options", OPTIONS)
def test_search_over_holes_equals_brute_force(sparse, options):
    path, model = sparse
    document = Document.open(path, window_size=1 * MIB)
    try:
        for name, pattern, zeros in _patterns(model):
            compiled = compile_pattern(pattern)
            assert _zero_match(compiled) is zeros, name
            scope = (1 * MIB - 20_000, 1 * MIB + 40_000)  # a hole, data, a hole
            if not zeros:
                scope = (1 * MIB - 70_000, 4 * MIB + 70_000)
            got = iter_matches(document, compiled, scope=scope, options=options)
            assert [(m.start, m.end) for m in got] == _brute(pattern, compiled, model, *scope), name
            if compiled.length is None:
                continue
            starts = _brute_starts(pattern, compiled, model)
            assert count_matches(document, compiled, options=options) == len(starts), name
            found = find_all(document, compiled, limit=1000, options=options)
            assert [m.start for m in found.matches] == starts[:1000].tolist(), name
            assert found.truncated is (len(starts) > 1000)
            for position in (0, 2 * MIB, 4 * MIB - 3, 9 * MIB + 70_000, SIZE):
                index = int(np.searchsorted(starts, position))
                ahead = find_next(document, compiled, position, options=options)
                behind = find_next(document, compiled, position, backward=True, options=options)
                want_ahead = int(starts[index]) if index < len(starts) else None
                want_behind = int(starts[index - 1]) if index > 0 else None
                assert (ahead and ahead.match.start) == want_ahead, (name, position)
                assert (behind and behind.match.start) == want_behind, (name, position)
    finally:
        document.close()


def _zero_match(compiled) -> bool:
    return scan.matches_zeros(
        compiled.regex,
        fixed_length=compiled.length,
        literal=compiled.literal,
        factor=compiled.factor[0] if compiled.factor else None,
    )


def test_holes_are_not_read_when_the_pattern_cannot_match_zeros(sparse, monkeypatch):
    path, _model = sparse
    document = Document.open(path, window_size=1 * MIB)
    read: list[tuple[int, int]] = []
    original = scan.SafeReader.copy

    def spy_copy(self, start, end):
        read.append((start, end))
        return original(self, start, end)

    monkeypatch.setattr(scan.SafeReader, "copy", spy_copy)
    try:
        options = SearchOptions(use_lease=False)  # every view goes through copy()
        pattern = SearchPattern(PatternKind.TEXT, b"not there at all")
        assert count_matches(document, pattern, options=options) == 0
        data = scan.holes.hole_map(document.mapped).data
        pattern_reach = len(b"not there at all")
        for start, end in read:  # each read is a data run plus at most the pattern's reach
            assert any(s - pattern_reach <= start and end <= e + pattern_reach for s, e in data)
        total = sum(e - s for s, e in read)
        assert (
            total <= sum(e - s for s, e in data) + len(data) * 4 * pattern_reach
        )  # + window seams
        assert total < SIZE // 10
    finally:
        document.close()


def test_an_edit_in_a_hole_is_searched(sparse):
    path, model = sparse
    document = Document.open(path, window_size=1 * MIB)
    try:
        document.enable_editing()
        document.write(5 * MIB + 11, b"needle")
        hits = [m.start for m in iter_matches(document, SearchPattern(PatternKind.TEXT, b"needle"))]
        assert hits == [5 * MIB + 11]
        zeros = count_matches(document, SearchPattern(PatternKind.HEX, "00 00"))
        edited = bytearray(model)
        edited[5 * MIB + 11 : 5 * MIB + 17] = b"needle"
        assert zeros == len(re.findall(b"(?=\x00\x00)", bytes(edited)))
    finally:
        document.close()


def test_checksums_of_a_sparse_file_equal_sha256sum(sparse):
    path, model = sparse
    reference = subprocess.run(["sha256sum", path], capture_output=True, text=True, check=True)
    document = Document.open(path, window_size=1 * MIB)
    try:
        got = compute_checksums(document, chunk_size=200_000)
        part = compute_checksums(document, 1 * MIB - 7, 4 * MIB + 9)
    finally:
        document.close()
    assert got["SHA-256"] == reference.stdout.split()[0]
    assert got["MD5"] == hashlib.md5(model).hexdigest()
    assert got["CRC-32"] == f"{zlib.crc32(model):08x}"
    assert part["SHA-1"] == hashlib.sha1(model[1 * MIB - 7 : 4 * MIB + 9]).hexdigest()


def test_start_spans_model():
    """Every start outside READ spans is decided right, against a byte model."""
    import random

    rng = random.Random(3)
    for _ in range(300):
        size = rng.randrange(1, 120)
        data = sorted({rng.randrange(size) for _ in range(rng.randrange(0, 6))})
        runs = scan.holes.union([(d, d + rng.randrange(1, 5)) for d in data])
        runs = [(s, min(e, size)) for s, e in runs]
        before, after = rng.randrange(0, 4), rng.randrange(0, 4)
        fixed = after + 1 if before == 0 and rng.random() < 0.5 else None
        zero_match = rng.random() < 0.5
        lo = rng.randrange(0, size)
        hi = rng.randrange(lo, size + 1)

        class Source:
            pass

        spans = _spans_with(runs, size, lo, hi, before, after, zero_match, fixed)
        covered = [s for a, b, _ in spans for s in range(a, b)]
        assert covered == list(range(lo, hi))
        for a, b, kind in spans:
            for s in range(a, b):
                reach = range(max(0, s - before), min(size, s + after + 1))
                has_data = any(rs <= r < re_ for r in reach for rs, re_ in runs)
                if kind is scan.SpanKind.NONE:
                    assert not has_data or (fixed and s + fixed > size)
                    assert not zero_match or fixed is None or s + fixed > size
                if kind is scan.SpanKind.EVERY:
                    assert zero_match and fixed and not has_data and s + fixed <= size


def _spans_with(runs, size, lo, hi, before, after, zero_match, fixed):
    from unittest import mock

    with mock.patch.object(
        scan.holes, "readable_runs", lambda _s, a, b: scan.holes.clip(runs, a, b)
    ):
        return scan.start_spans(
            None,
            lo,
            hi,
            scope=(0, size),
            before=before,
            after=after,
            zero_match=zero_match,
            fixed_length=fixed,
        )


def test_touch_reads_the_data_and_leaves_holes_out_of_the_cache(tmp_path):
    from mmhex.core import _libc
    from mmhex.core.progress import Progress
    from mmhex.core.residency import ResidencyProbe

    path = tmp_path / "sparse.bin"
    size = 256 * MIB
    with open(path, "wb") as f:
        f.truncate(size)
        os.pwrite(f.fileno(), os.urandom(MIB), 100 * MIB)
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    probe = ResidencyProbe.open(str(path))
    try:
        progress = Progress(size)
        probe.touch(0, size, progress=progress)
        assert progress.done == size  # the bar reaches the end though holes were skipped
        fd = os.open(path, os.O_RDONLY)
        try:
            cached_data = _libc.cachestat(fd, 100 * MIB, MIB)[0]
            cached_holes = _libc.cachestat(fd, 0, 100 * MIB)[0]
            cached_holes += _libc.cachestat(fd, 101 * MIB + 16 * MIB, size - 117 * MIB)[0]
        except OSError as exc:
            pytest.skip(f"cachestat unavailable: {exc}")
        finally:
            os.close(fd)
        assert cached_data == MIB // 4096
        assert cached_holes == 0
    finally:
        probe.close()


def test_a_terabyte_sparse_file_is_searched_in_well_under_a_second(tmp_path):
    import time

    path = tmp_path / "huge.bin"
    size = 1 << 40
    data = bytes(range(1, 256)) * 4112  # ~1 MiB, no zero byte, "hello" absent
    at = size // 2
    with open(path, "wb") as f:
        f.truncate(size)
        os.pwrite(f.fileno(), data, at)
        os.pwrite(f.fileno(), b"hello", size - 100)
    document = Document.open(str(path))
    try:
        began = time.perf_counter()
        found = find_next(document, SearchPattern(PatternKind.TEXT, b"hello"), 0)
        assert time.perf_counter() - began < 1.0
        assert found is not None and found.match.start == size - 100
        # `00 00` starts: every pair of neighbours both zero (the data and "hello" have none).
        expected = (at - 1) + (size - 100 - (at + len(data)) - 1) + (100 - 5 - 1)
        began = time.perf_counter()
        assert count_matches(document, SearchPattern(PatternKind.HEX, "00 00")) == expected
        assert time.perf_counter() - began < 1.0
    finally:
        document.close()


HYPOTHESIS_PATTERNS = ["00 00", "?? 00 ??", "00 ?? 01", "01 00", "07", "00"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pages=st.lists(st.tuples(st.integers(0, 40), st.binary(min_size=1, max_size=300)), max_size=5),
    tail=st.integers(0, 4095),
    pattern=st.sampled_from(HYPOTHESIS_PATTERNS),
    window_pages=st.sampled_from([4, 16]),
)
def test_random_sparse_files_equal_brute_force(tmp_path, pages, tail, pattern, window_pages):
    path = tmp_path / "random-sparse.bin"
    size = 41 * 4096 + tail
    model = bytearray(size)
    with open(path, "wb") as f:
        f.truncate(size)
        for page, data in pages:
            offset = page * 4096 + 4096 - len(data) // 2  # straddles a page boundary
            data = data[: size - offset]
            os.pwrite(f.fileno(), data, offset)
            model[offset : offset + len(data)] = data
    compiled = compile_pattern(SearchPattern(PatternKind.HEX, pattern))
    starts = _brute_starts(SearchPattern(PatternKind.HEX, pattern), compiled, bytes(model))
    document = Document.open(str(path), window_size=window_pages * 4096)
    try:
        options = SearchOptions(chunk_size=5000)
        got = [m.start for m in iter_matches(document, compiled, options=options)]
        assert got == starts.tolist()
        assert count_matches(document, compiled, options=options) == len(starts)
        last = find_next(document, compiled, size, backward=True, options=options)
        assert (last and last.match.start) == (int(starts[-1]) if len(starts) else None)
    finally:
        document.close()


def test_after_an_insert_the_shifted_holes_are_still_searched_right(sparse):
    """Insert/delete shift the file's holes in the document: the scan walks the pieces, with
    each piece's holes shifted to where it sits (tests/core/test_piece_scan.py goes further)."""
    path, model = sparse
    document = Document.open(path, window_size=1 * MIB)
    try:
        document.enable_editing()
        document.insert(2 * MIB, b"\x05needle\x05")
        document.delete(5 * MIB, 3)
        edited = bytearray(model)
        edited[2 * MIB : 2 * MIB] = b"\x05needle\x05"
        del edited[5 * MIB : 5 * MIB + 3]
        assert document.size == len(edited)
        hits = [m.start for m in iter_matches(document, SearchPattern(PatternKind.TEXT, b"needle"))]
        assert hits == [2 * MIB + 1]
        pattern = SearchPattern(PatternKind.HEX, "01 00")
        compiled = compile_pattern(pattern)
        expected = _brute_starts(pattern, compiled, bytes(edited))
        assert count_matches(document, compiled) == len(expected)
        digest = compute_checksums(document, algorithms=("SHA-256",))["SHA-256"]
        assert digest == hashlib.sha256(bytes(edited)).hexdigest()
    finally:
        document.close()
