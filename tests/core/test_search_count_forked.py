"""count_matches(workers=2): this process and a forked child take parts of the bytes to read from
one queue; the total must equal a brute-force count (window boundaries, overlaps, holes, the cuts
between parts), every part is counted once by one of the two, a failing child must change nothing
but speed, and a truncated file is still reported."""

from __future__ import annotations

import os
import random
import time

import pytest

from mmhex.core import search
from mmhex.core.document import Document
from mmhex.core.errors import FileTruncatedError
from mmhex.core.mapping import MappedFile
from mmhex.core.search import PatternKind, SearchOptions, SearchPattern, count_matches

PAGE = 4096
WINDOW = 16 * PAGE


def brute_force(data: bytes, needle: bytes) -> int:
    found, pos = 0, data.find(needle)
    while pos >= 0:
        found += 1
        pos = data.find(needle, pos + 1)
    return found


@pytest.fixture
def forks(monkeypatch):
    """Fork for any size, cut it into parts of 5 pages (not a divisor of the window), and count
    the forks made."""
    monkeypatch.setattr(search, "_FORK_MIN_BYTES", 0)
    monkeypatch.setattr(search, "_COUNT_PART", 5 * PAGE)
    made = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return made


def planted(size: int, needle: bytes, every: int, seed: int) -> bytearray:
    data = bytearray(random.Random(seed).randbytes(size))
    for offset in range(every // 3, size - len(needle), every):
        data[offset : offset + len(needle)] = needle
    return data


@pytest.mark.parametrize("lease", [True, False])
@pytest.mark.parametrize("accelerated", [True, False])
def test_forked_count_equals_brute_force(tmp_path, forks, lease, accelerated):
    needle = b"abcab"
    data = planted(10 * WINDOW + 123, needle, 997, seed=5)
    # Matches on every window boundary (and so on the boundary between the two halves).
    for boundary in range(WINDOW, len(data), WINDOW):
        data[boundary - 3 : boundary + 2] = needle
    data[100:120] = b"ab" * 10  # overlapping "abab..." does not match "abcab"; "aaaa" below does
    data[200:300] = b"a" * 100
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    options = SearchOptions(accelerated=accelerated, use_lease=lease, chunk_size=3 * PAGE)
    with MappedFile(str(path), window_size=WINDOW, max_windows=4) as mapped:
        for text in ("abcab", "aaa", "a"):
            pattern = SearchPattern(PatternKind.TEXT, text)
            expected = brute_force(bytes(data), text.encode())
            assert count_matches(mapped, pattern, options=options, workers=2) == expected, text
            assert count_matches(mapped, pattern, options=options) == expected, text
        hexed = SearchPattern(PatternKind.HEX, "61 ?? 63")
        expected = sum(1 for i in range(len(data) - 2) if data[i] == 0x61 and data[i + 2] == 0x63)
        assert count_matches(mapped, hexed, options=options, workers=2) == expected
    assert len(forks) == 4


def test_forked_count_of_a_sparse_file_and_of_edits(tmp_path, forks):
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as handle:
        handle.truncate(12 * WINDOW)
        for offset in (5, WINDOW - 2, 7 * WINDOW + 9, 12 * WINDOW - 4):
            handle.seek(offset)
            handle.write(b"zzz")
    doc = Document.open(str(path), window_size=WINDOW, max_windows=4)
    try:
        zeros = SearchPattern(PatternKind.HEX, "00 00")
        assert count_matches(doc, zeros, workers=2) == brute_force(path.read_bytes(), b"\0\0")
        doc.enable_editing()
        doc.write(3 * WINDOW, b"zzzz")  # an unsaved edit is counted too
        expected = brute_force(doc.read(0, doc.size), b"zz")
        assert count_matches(doc, SearchPattern(PatternKind.TEXT, "zz"), workers=2) == expected
    finally:
        doc.close()
    assert len(forks) == 2


def test_each_part_is_counted_once_by_one_of_the_two_processes(tmp_path, forks, monkeypatch):
    """The parts are a partition of the range; a parent slowed down leaves parts to the child,
    and the child's parts are in the total (no part is counted twice or dropped)."""
    data = planted(40 * WINDOW + 77, b"needle", 1234, seed=9)
    for cut in range(0, len(data) - 6, 5 * PAGE):  # matches across every cut between parts
        data[cut + 5 * PAGE - 3 : cut + 5 * PAGE + 3] = b"needle"
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    log = tmp_path / "parts.log"
    parent = os.getpid()
    real_count = search._Scan.count

    def count(self, lo, hi, workers=1):
        if workers == 1:
            if os.getpid() == parent:
                time.sleep(0.005)  # a busy core: the child should take most parts
            with open(log, "a") as handle:
                handle.write(f"{os.getpid()} {lo} {hi}\n")
        return real_count(self, lo, hi, workers)

    monkeypatch.setattr(search._Scan, "count", count)
    with MappedFile(str(path), window_size=WINDOW) as mapped:
        found = count_matches(mapped, SearchPattern(PatternKind.TEXT, "needle"), workers=2)
    assert found == brute_force(bytes(data), b"needle")
    calls = sorted(
        (int(lo), int(hi), int(pid)) for pid, lo, hi in map(str.split, log.read_text().splitlines())
    )
    assert [lo for lo, _hi, _pid in calls] == [0] + [hi for _lo, hi, _pid in calls[:-1]]
    assert calls[-1][1] == len(data) and len(calls) > 10
    pids = [pid for _lo, _hi, pid in calls]
    assert pids.count(forks[0]) > pids.count(parent) > 0


def test_a_failing_child_changes_nothing_but_speed(tmp_path, forks, monkeypatch):
    data = planted(8 * WINDOW, b"xyz", 1000, seed=2)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    parent = os.getpid()
    real_reader = search.SafeReader

    def reader(*args, **kwargs):
        if os.getpid() != parent:
            raise OSError("the child cannot read")
        return real_reader(*args, **kwargs)

    monkeypatch.setattr(search, "SafeReader", reader)
    with MappedFile(str(path), window_size=WINDOW) as mapped:
        pattern = SearchPattern(PatternKind.TEXT, "xyz")
        assert count_matches(mapped, pattern, workers=2) == brute_force(bytes(data), b"xyz")
    assert len(forks) == 1


def test_a_child_dying_after_taking_parts_loses_none_of_them(tmp_path, forks, monkeypatch):
    """The child takes parts off the queue and dies before answering: the parts it took are in
    no process's answer, and this process counts them again."""
    data = planted(12 * WINDOW, b"xyz", 777, seed=4)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    parent = os.getpid()
    real_count = search._Scan.count
    taken = []

    def count(self, lo, hi, workers=1):
        if workers == 1 and os.getpid() != parent:
            taken.append(lo)
            if len(taken) == 3:
                os._exit(9)  # killed mid-count, after counting two parts
        elif workers == 1:
            time.sleep(0.005)  # leave the child time to take its parts
        return real_count(self, lo, hi, workers)

    monkeypatch.setattr(search._Scan, "count", count)
    with MappedFile(str(path), window_size=WINDOW) as mapped:
        pattern = SearchPattern(PatternKind.TEXT, "xyz")
        assert count_matches(mapped, pattern, workers=2) == brute_force(bytes(data), b"xyz")
    assert len(forks) == 1


def test_a_file_truncated_under_the_child_is_reported(tmp_path, forks):
    path = tmp_path / "data.bin"
    path.write_bytes(planted(8 * WINDOW, b"xyz", 1000, seed=3))
    with MappedFile(str(path), window_size=WINDOW) as mapped:
        os.truncate(path, 3 * WINDOW)  # the second half (the child's) is gone
        with pytest.raises(FileTruncatedError):
            count_matches(mapped, SearchPattern(PatternKind.TEXT, "xyz"), workers=2)
    assert len(forks) == 1
    with pytest.raises(ChildProcessError):  # every child was reaped
        os.waitpid(forks[0], os.WNOHANG)


def test_small_ranges_are_counted_in_one_process(tmp_path, monkeypatch):
    path = tmp_path / "small.bin"
    path.write_bytes(b"ab" * 5000)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked for 10 kB"))
    with MappedFile(str(path)) as mapped:
        assert count_matches(mapped, SearchPattern(PatternKind.TEXT, "ab"), workers=2) == 5000


def test_more_parts_than_the_queue_holds_are_counted_in_one_process(tmp_path, forks, monkeypatch):
    """The part numbers are written before anyone reads them; where they would not fit the pipe
    (here 20,000 parts, 80 kB, past a 64 KiB pipe) the write must not block: one process counts."""
    monkeypatch.setattr(search, "_COUNT_PART", 1)
    monkeypatch.setattr(search, "_MAX_COUNT_PARTS", 1 << 30)
    data = planted(20_000, b"xyz", 97, seed=6)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    with MappedFile(str(path), window_size=WINDOW) as mapped:
        pattern = SearchPattern(PatternKind.TEXT, "xyz")
        assert count_matches(mapped, pattern, workers=2) == brute_force(bytes(data), b"xyz")
    assert forks == []
    queue = search._part_queue(1024)  # the most the smallest pipe (one page) must hold
    assert queue is not None
    try:
        numbers = [int.from_bytes(os.read(queue, 4), "little") for _ in range(1024)]
        assert numbers == list(range(1024)) and os.read(queue, 4) == b""
    finally:
        os.close(queue)
