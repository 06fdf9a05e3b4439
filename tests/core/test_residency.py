"""Residency core against independent references: util-linux fincore, the set of pages the test
read itself, /proc/self/status (VmLck), /proc/self/stat (fault counters), and the user nobody."""

from __future__ import annotations

import errno
import json
import os
import random
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmhex.core import _libc, residency
from mmhex.core.document import Document
from mmhex.core.errors import describe_error
from mmhex.core.mapping import OpenMode
from mmhex.core.progress import Progress
from mmhex.core.residency import (
    BucketLayout,
    DocumentResidency,
    FaultCounters,
    MemoryLockError,
    ResidencyProbe,
)
from tests.residency_support import (
    PAGE,
    disk_dir,  # noqa: F401  (fixture)
    evict,
    fincore_pages,
    make_resident,
    nobody,  # noqa: F401  (fixture)
    run_as_nobody,
    shared_dir,  # noqa: F401  (fixture)
    write_random_file,
)

PAGES = 300
SIZE = PAGES * PAGE - 123  # the last page is partial: it still counts as a page
CHOSEN = sorted({0, 1, 2, 17, 64, 65, 66, 67, 150, 151, 255, PAGES - 1} | set(range(200, 230)))


@pytest.fixture
def partly_resident(disk_dir: Path) -> Path:  # noqa: F811
    path = disk_dir / "partly.bin"
    write_random_file(path, SIZE)
    make_resident(path, CHOSEN)
    return path


def model_counts(start: int, end: int, resident: set[int]) -> int:
    """Pages of [start, end) (page-aligned down, partial last page included) in ``resident``."""
    first, last = start // PAGE, -(-end // PAGE)
    return sum(1 for page in range(first, last) if page in resident)


def both_methods(path: Path) -> list[ResidencyProbe]:
    return [ResidencyProbe.open(str(path)), ResidencyProbe.open(str(path), force_mincore=True)]


# ----------------------------------------------------------------- counts and maps
def test_counts_equal_fincore_on_partly_resident_file(partly_resident: Path) -> None:
    reference = fincore_pages(partly_resident)
    assert reference == len(CHOSEN)
    for probe in both_methods(partly_resident):
        with probe:
            counts = probe.counts()
            assert counts.pages == PAGES
            assert counts.resident == reference, probe.method


def test_cachestat_is_used_where_the_kernel_has_it(partly_resident: Path) -> None:
    try:
        _libc.cachestat(os.open(partly_resident, os.O_RDONLY), 0, 0)
    except OSError as exc:
        assert exc.errno == errno.ENOSYS
        pytest.skip("this kernel has no cachestat")
    with ResidencyProbe.open(str(partly_resident)) as probe:
        assert probe.method == residency.METHOD_CACHESTAT
        assert probe.counts().dirty == 0


def test_page_map_matches_pages_read(partly_resident: Path) -> None:
    with ResidencyProbe.open(str(partly_resident)) as probe:
        page_map = probe.page_map(0)
        assert page_map is not None and len(page_map) == PAGES
        assert [page for page, flag in enumerate(page_map) if flag] == CHOSEN
        # an unaligned sub-range starts at its page and ends after its last partial page
        part = probe.page_map(60 * PAGE + 5, 152 * PAGE - 1)
        assert part is not None and len(part) == 92
        assert [60 + i for i, flag in enumerate(part) if flag] == [
            p for p in CHOSEN if 60 <= p < 152
        ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(0, SIZE),
    length=st.integers(0, SIZE),
    wanted=st.integers(1, 400),
)
def test_cachestat_and_mincore_buckets_agree_with_the_pages_read(
    partly_resident: Path, start: int, length: int, wanted: int
) -> None:
    end = min(SIZE, start + length)
    with (
        ResidencyProbe.open(str(partly_resident)) as fast,
        ResidencyProbe.open(str(partly_resident), force_mincore=True) as walk,
    ):
        by_cachestat = fast.buckets(start, end, wanted)
        by_mincore = walk.buckets(start, end, wanted)
    assert by_cachestat.layout == by_mincore.layout
    assert by_cachestat.resident == by_mincore.resident
    layout = by_mincore.layout
    resident = set(CHOSEN)
    expected = tuple(model_counts(*layout.bucket_range(i), resident) for i in range(len(layout)))
    assert by_mincore.resident == expected


def test_mincore_walk_is_windowed(partly_resident: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never one vector for the whole file: each mincore call covers at most one window."""
    monkeypatch.setattr(residency, "MINCORE_WINDOW", 16 * PAGE)
    lengths: list[int] = []
    real = _libc.mincore

    def spy(address: int, length: int, vector: bytearray) -> None:
        lengths.append(length)
        assert len(vector) <= 16
        real(address, length, vector)

    monkeypatch.setattr(_libc, "mincore", spy)
    with ResidencyProbe.open(str(partly_resident), force_mincore=True) as probe:
        assert probe.counts().resident == len(CHOSEN)
        assert probe.page_map(0) == bytes(int(p in set(CHOSEN)) for p in range(PAGES))
    assert max(lengths) == 16 * PAGE and len(lengths) == -(-PAGES // 16) * 2


def test_mincore_reserved_bits_are_ignored(
    partly_resident: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only bit 0 means resident: a kernel setting other bits must not change the counts."""
    real = _libc.mincore

    def noisy(address: int, length: int, vector: bytearray) -> None:
        real(address, length, vector)
        pages = -(-length // PAGE)
        vector[:pages] = bytes(value | 0x06 for value in vector[:pages])

    monkeypatch.setattr(_libc, "mincore", noisy)
    with ResidencyProbe.open(str(partly_resident), force_mincore=True) as probe:
        assert probe.counts().resident == len(CHOSEN)
        assert probe.page_map(0) == bytes(int(p in set(CHOSEN)) for p in range(PAGES))


def test_sparse_file_paths_agree(disk_dir: Path) -> None:  # noqa: F811
    path = disk_dir / "sparse.bin"
    size = 4 << 30
    with open(path, "wb") as handle:
        handle.truncate(size)
    try:
        pages = [5, 1 << 19, (size // PAGE) - 1]
        make_resident(path, pages)
        for probe in both_methods(path):
            with probe:
                assert probe.counts().resident == 3
                buckets = probe.buckets(0, None, 4096)
                assert len(buckets) == 4096 and sum(buckets.resident or ()) == 3
                assert buckets.resident[0] == 1 and buckets.resident[2048] == 1
                assert buckets.resident[4095] == 1
        assert fincore_pages(path) == 3
    finally:
        path.unlink()


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 1 << 45),
    length=st.integers(0, 1 << 45),
    wanted=st.integers(1, 5000),
)
def test_bucket_layout_partitions_the_pages(start: int, length: int, wanted: int) -> None:
    layout = BucketLayout.covering(start, start + length, wanted)
    assert layout.start % PAGE == 0 and layout.start <= start
    assert layout.count <= wanted
    pages = layout.end_page - layout.first_page
    assert sum(layout.page_count(i) for i in range(layout.count)) == pages
    if layout.count:
        assert layout.bucket_range(0)[0] == layout.start
        assert layout.bucket_range(layout.count - 1)[1] == layout.end
        probe = random.Random(start).randrange(layout.start, max(layout.start + 1, layout.end))
        first, last = layout.bucket_range(layout.bucket_of(probe))
        assert first <= probe < max(last, first + 1)


def test_empty_file(disk_dir: Path) -> None:  # noqa: F811
    path = disk_dir / "empty.bin"
    path.write_bytes(b"")
    for probe in both_methods(path):
        with probe:
            assert probe.counts().pages == 0 and probe.counts().resident == 0
            assert len(probe.buckets(0, None, 10)) == 0
            assert probe.page_map(0) == b""


# ----------------------------------------------------------------- cachestat extras
def test_dirty_then_clean_after_sync(disk_dir: Path) -> None:  # noqa: F811
    path = disk_dir / "dirty.bin"
    write_random_file(path, 64 * PAGE)
    evict(path)  # small writes into an uncached file dirty single pages, not large folios
    with ResidencyProbe.open(str(path)) as probe:
        if probe.method != residency.METHOD_CACHESTAT:
            pytest.skip("dirty/writeback counts need cachestat")
        fd = os.open(path, os.O_WRONLY)
        try:
            for page in (3, 4, 40):
                os.pwrite(fd, b"x" * 10, page * PAGE)
            dirty = probe.buckets(0, None, 64)
            assert dirty.dirty is not None
            assert [i for i, n in enumerate(dirty.dirty) if n] == [3, 4, 40]
            os.fsync(fd)
        finally:
            os.close(fd)
        clean = probe.counts()
        assert clean.dirty == 0 and clean.writeback == 0


# ----------------------------------------------------------------- actions
def test_touch_then_evict(partly_resident: Path) -> None:
    with ResidencyProbe.open(str(partly_resident)) as probe:
        touched = probe.touch(10 * PAGE, 50 * PAGE + 1)
        assert touched.before.resident == model_counts(10 * PAGE, 50 * PAGE + 1, set(CHOSEN))
        assert touched.after.resident == touched.after.pages == 41
        assert fincore_pages(partly_resident) == len(set(CHOSEN) | set(range(10, 51)))
        whole = probe.touch()
        assert whole.after.resident == PAGES == fincore_pages(partly_resident)
        assert "touch" in whole.describe().lower() and "→ 300 of 300" in whole.describe()
        gone = probe.evict()
        assert gone.before.resident == PAGES
        assert gone.after.resident == 0 == fincore_pages(partly_resident)


def _sparse_with_data(path: Path, runs: list[tuple[int, int]], size: int) -> None:
    """A file of ``size`` bytes whose data is only the page ``runs`` [first, end); holes else."""
    with open(path, "wb") as handle:
        handle.truncate(size)
        for first, last in runs:
            handle.seek(first * PAGE)
            handle.write(random.Random(first).randbytes((last - first) * PAGE))
        handle.flush()
        os.fsync(handle.fileno())


def _data_ranges(fd: int, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) less its holes, by lseek(SEEK_DATA/SEEK_HOLE) (the reference)."""
    ranges, position = [], start
    while position < end:
        try:
            data = os.lseek(fd, position, os.SEEK_DATA)
        except OSError:
            break
        if data >= end:
            break
        hole = min(end, os.lseek(fd, data, os.SEEK_HOLE))
        ranges.append((data, hole))
        position = hole
    return ranges


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def test_read_ahead_advises_every_data_chunk_of_the_range(
    disk_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What our code controls, with no waiting on the device: which advice, over which bytes.

    The kernel reads at most its read-ahead size per advice (read_ahead_kb) and drops the rest,
    so the range must arrive in chunks no larger than READ_AHEAD_CHUNK, and holes (nothing to
    read) are left out.
    """
    path = disk_dir / "sparse-ahead.bin"
    chunk_pages = residency.READ_AHEAD_CHUNK // PAGE
    runs = [(0, 3 * chunk_pages + 5), (6 * chunk_pages, 9 * chunk_pages + 1)]
    _sparse_with_data(path, runs, 10 * chunk_pages * PAGE + 77)
    real = os.posix_fadvise
    calls: list[tuple[int, int, int, int]] = []

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((fd, offset, length, advice))
        real(fd, offset, length, advice)

    with ResidencyProbe.open(str(path)) as probe:
        fd = os.open(path, os.O_RDONLY)
        try:
            for start, end in ((5 * PAGE + 100, 9 * chunk_pages * PAGE + 7), (0, None)):
                calls.clear()
                lo, hi = probe.clip(start, end)
                progress = Progress(hi - lo)
                monkeypatch.setattr(os, "posix_fadvise", spy)
                try:
                    probe.read_ahead(start, end, progress=progress)
                finally:
                    monkeypatch.setattr(os, "posix_fadvise", real)
                expected = _data_ranges(fd, lo, hi)
                assert len(expected) == 2, "the file system kept the hole"
                assert {(call[0], call[3]) for call in calls} == {
                    (probe.fd, os.POSIX_FADV_WILLNEED)
                }
                spans = [(offset, offset + length) for _fd, offset, length, _a in calls]
                assert all(0 < hi_ - lo_ <= residency.READ_AHEAD_CHUNK for lo_, hi_ in spans)
                assert spans == sorted(spans) and _merged(spans) == expected
                assert sum(hi_ - lo_ for lo_, hi_ in spans) == sum(b - a for a, b in expected)
                assert progress.done == hi - lo
        finally:
            os.close(fd)


def test_read_ahead_puts_the_whole_range_in_the_cache_before_returning(
    disk_dir: Path,  # noqa: F811
) -> None:
    """Each advice inserts its pages into the cache before the call returns (the reads then
    complete in the background): cachestat counts them at once, with no wait. 16 MiB is more
    than one advice brings in on a usual device (read_ahead_kb 128 KiB to 8 MiB)."""
    path = disk_dir / "ahead.bin"
    pages = 4096
    write_random_file(path, pages * PAGE)
    evict(path)
    with ResidencyProbe.open(str(path)) as probe:
        if probe.method != residency.METHOD_CACHESTAT:
            pytest.skip("mincore counts a page only once its read has completed")
        assert probe.counts().resident == 0
        result = probe.read_ahead(0, None)
        assert result.before.resident == 0
        assert result.after.resident == pages
        # The raw syscall on a descriptor of our own (fincore, through mincore, would count
        # only the pages whose reads have completed: that is the device's timing, not ours).
        fd = os.open(path, os.O_RDONLY)
        try:
            assert _libc.cachestat(fd, 0, pages * PAGE)[0] == pages
        finally:
            os.close(fd)


def _locked_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    raise AssertionError("no VmLck line")


def test_lock_keeps_pages_resident_until_unlock(partly_resident: Path) -> None:
    locked_before = _locked_kib()
    with ResidencyProbe.open(str(partly_resident)) as probe:
        try:
            result = probe.lock(0, 100 * PAGE)
        except MemoryLockError as exc:
            pytest.skip(f"mlock refused here: {exc}")
        assert result.after.resident == 100
        assert _locked_kib() - locked_before == 100 * PAGE // 1024
        assert probe.locked_ranges() == [(0, 100 * PAGE)]
        probe.evict()
        # locked pages survive eviction (with their whole folio: a few neighbours may stay too)
        assert probe.page_map(0, 100 * PAGE) == b"\x01" * 100
        unlocked = probe.unlock(50 * PAGE, 51 * PAGE)  # any overlap releases the lock
        assert "409,600" in unlocked.describe()
        assert _locked_kib() == locked_before and probe.locked_bytes() == 0
        assert probe.evict().after.resident == 0 == fincore_pages(partly_resident)
    assert _locked_kib() == locked_before


def test_close_releases_locks(partly_resident: Path) -> None:
    locked_before = _locked_kib()
    probe = ResidencyProbe.open(str(partly_resident))
    try:
        probe.lock(0, 8 * PAGE)
    except MemoryLockError as exc:
        probe.close()
        pytest.skip(f"mlock refused here: {exc}")
    assert _locked_kib() > locked_before
    probe.close()
    assert _locked_kib() == locked_before


def test_lock_refusal_explains_rlimit_memlock(
    nobody: tuple[str, Path],  # noqa: F811
    shared_dir: Path,  # noqa: F811
) -> None:
    python, package = nobody
    path = shared_dir / "lock.bin"
    write_random_file(path, 64 << 20)
    path.chmod(0o644)
    script = (
        "import json, resource, sys\n"
        "from mmhex.core.residency import ResidencyProbe, MemoryLockError\n"
        "soft = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]\n"
        "want = 2 * soft if soft not in (0, resource.RLIM_INFINITY) else 1 << 20\n"
        "with ResidencyProbe.open(sys.argv[1]) as probe:\n"
        "    try:\n"
        "        probe.lock(0, want)\n"
        "        print(json.dumps({'soft': soft, 'error': None}))\n"
        "    except MemoryLockError as exc:\n"
        "        print(json.dumps({'soft': soft, 'error': str(exc)}))\n"
    )
    result = run_as_nobody(python, package, "-c", script, str(path))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    if outcome["soft"] == -1:
        pytest.skip("RLIMIT_MEMLOCK is unlimited here")
    assert outcome["error"] is not None
    assert "RLIMIT_MEMLOCK" in outcome["error"] and "ulimit -l" in outcome["error"]
    limit = outcome["soft"]
    assert residency.human_bytes(limit) in outcome["error"] or limit == 0


def test_lock_refuses_more_than_half_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(residency, "_memory_available", lambda: 100 << 20)
    with pytest.raises(MemoryLockError, match="only 100 MiB is available"):
        residency._refuse_lock_beyond_memory(60 << 20)
    residency._refuse_lock_beyond_memory(40 << 20)


def test_describe_mentions_unknown(partly_resident: Path) -> None:
    unknown = residency.PageCounts(10, None)
    result = residency.ActionResult("evict", 0, 4096, unknown, unknown, 0.002)
    assert result.describe() == "Evict 0x0–0x1000: 10 pages, residency unknown (2.0 ms)."


# ----------------------------------------------------------------- honesty (user nobody)
_NOBODY_SCRIPT = """
import json, subprocess, sys
from mmhex.core import _libc
from mmhex.core.document import Document
from mmhex.core.residency import BucketLayout, DocumentResidency, ResidencyProbe
path, pages = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
if sys.argv[3] == "no-cachestat":
    _libc._CACHESTAT = None  # as on kernels before 6.5: the permission rule must decide
out = {}
with ResidencyProbe.open(path) as probe:
    out["method"], out["known"] = probe.method, probe.known
    out["reason"], out["resident"] = probe.unknown_reason, probe.counts().resident
    out["page_map"] = probe.page_map(0)
document = Document.open(path)
for page in pages:
    document.read(page * 4096, 1)
detail = BucketLayout(0, 1 << 20, 1)
snapshot = DocumentResidency(document).snapshot(overview_buckets=8, detail=detail)
out["snapshot_known"] = snapshot.known
out["snapshot_resident"] = snapshot.totals.resident
out["touched_pages"] = snapshot.touched_pages
out["detail_touched"] = [i for i, n in enumerate(snapshot.detail.touched) if n]
out["fincore"] = subprocess.run(["fincore", "-rnb", "-o", "PAGES", path],
                                capture_output=True, text=True).stdout.strip()
print(json.dumps(out))
"""


@pytest.mark.parametrize("cachestat", ["cachestat", "no-cachestat"])
def test_unknown_for_a_file_nobody_can_write_or_own(
    nobody: tuple[str, Path],  # noqa: F811
    shared_dir: Path,  # noqa: F811
    cachestat: str,
) -> None:
    python, package = nobody
    path = shared_dir / "root-owned.bin"
    write_random_file(path, 8192 * PAGE)
    path.chmod(0o644)  # readable, not writable, owned by root
    evict(path)
    result = run_as_nobody(python, package, "-c", _NOBODY_SCRIPT, str(path), "40,200", cachestat)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["known"] is False and out["method"] == "none"
    assert out["resident"] is None and out["page_map"] is None
    assert "neither write nor own" in out["reason"]
    assert out["snapshot_known"] is False and out["snapshot_resident"] is None
    # what the process itself mapped and touched is known (fault-around may add neighbours)
    assert {40, 200} <= set(out["detail_touched"])
    assert out["touched_pages"] == len(out["detail_touched"])
    assert out["touched_pages"] < 256
    # the lie mmhex refuses to repeat: fincore claims every page although most are not cached
    assert int(out["fincore"]) == 8192
    assert fincore_pages(path) < 8192  # root sees the truth


def test_known_for_a_file_nobody_owns(
    nobody: tuple[str, Path],  # noqa: F811
    shared_dir: Path,  # noqa: F811
) -> None:
    python, package = nobody
    path = shared_dir / "nobody-owned.bin"
    write_random_file(path, 64 * PAGE)
    os.chown(path, *_nobody_ids())
    make_resident(path, [3, 9])
    script = (
        "import sys\nfrom mmhex.core.residency import ResidencyProbe\n"
        "with ResidencyProbe.open(sys.argv[1]) as p: print(p.known, p.counts().resident)"
    )
    result = run_as_nobody(python, package, "-c", script, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "2"]


def _nobody_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


# ----------------------------------------------------------------- documents
def test_private_copies_in_private_edit_mode(partly_resident: Path) -> None:
    document = Document.open(str(partly_resident))
    document.mapped.set_mode(OpenMode.PRIVATE)
    tracker = DocumentResidency(document)
    try:
        for page in (3, 9, 130):
            window = document.mapped.pin(page * PAGE)
            offset = page * PAGE - window.start
            window.mm[offset : offset + 2] = b"ZZ"
        document.read(50 * PAGE, 1)  # read, not written: shared with the cache, not a copy
        snapshot = tracker.snapshot(overview_buckets=PAGES, detail=BucketLayout(0, 160 * PAGE, 1))
        assert snapshot.private_pages == 3
        assert snapshot.detail is not None and snapshot.detail.private is not None
        assert [i for i, n in enumerate(snapshot.detail.private) if n] == [3, 9, 130]
        assert snapshot.overview.private is not None and sum(snapshot.overview.private) == 3
        assert snapshot.detail.touched is not None and snapshot.detail.touched[50] == 1
        # the edits are private: the disk still has the old bytes
        assert document.read(3 * PAGE, 2) == b"ZZ" != document.read_original(3 * PAGE, 2)
    finally:
        tracker.close()
        document.close()


def test_read_only_mode_has_no_private_count(partly_resident: Path) -> None:
    document = Document.open(str(partly_resident))
    tracker = DocumentResidency(document)
    try:
        snapshot = tracker.snapshot(overview_buckets=10)
        assert snapshot.private_pages is None and snapshot.overview.private is None
        assert snapshot.totals.resident == len(CHOSEN)
        assert snapshot.known and snapshot.size == SIZE
    finally:
        tracker.close()
        document.close()


def test_evict_never_drops_private_edits(partly_resident: Path) -> None:
    document = Document.open(str(partly_resident))
    document.mapped.set_mode(OpenMode.PRIVATE)
    tracker = DocumentResidency(document)
    try:
        window = document.mapped.pin(5 * PAGE)
        window.mm[5 * PAGE - window.start] = 0x41
        document.read(100 * PAGE, 1)
        tracker.evict(0, SIZE)
        assert document.read(5 * PAGE, 1) == b"A"
        assert tracker.snapshot().private_pages == 1
    finally:
        tracker.close()
        document.close()


def test_detail_layout_is_clipped_to_the_file(partly_resident: Path) -> None:
    document = Document.open(str(partly_resident))
    tracker = DocumentResidency(document)
    try:
        layout = BucketLayout(64 * PAGE, 64 * PAGE + 1000 * 4 * PAGE, 4)  # far past the end
        snapshot = tracker.snapshot(overview_buckets=7, detail=layout)
        detail = snapshot.detail
        assert detail is not None and detail.resident is not None
        assert detail.layout.bucket_pages == 4 and detail.layout.end == SIZE
        assert len(detail) == -(-(PAGES - 64) // 4)
        resident = set(CHOSEN)
        assert detail.resident == tuple(
            model_counts(*detail.layout.bucket_range(i), resident) for i in range(len(detail))
        )
        assert len(snapshot.overview) == 7 and sum(snapshot.overview.resident or ()) == len(CHOSEN)
    finally:
        tracker.close()
        document.close()


def test_fault_counters_match_proc_stat() -> None:
    def from_proc() -> tuple[int, int]:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[9]), int(fields[7])  # majflt, minflt (fields 12 and 10)

    major_before, minor_before = from_proc()
    counters = FaultCounters.now()
    major_after, minor_after = from_proc()
    assert major_before <= counters.major <= major_after
    assert minor_before <= counters.minor <= minor_after


def test_fault_delta_shows_cold_reads(partly_resident: Path) -> None:
    document = Document.open(str(partly_resident))
    tracker = DocumentResidency(document)
    try:
        assert tracker.snapshot().fault_delta is None
        evict(partly_resident)
        for page in (20, 120, 280):
            document.read(page * PAGE, 1)
        snapshot = tracker.snapshot()
        assert snapshot.fault_delta is not None and snapshot.fault_delta.major >= 1
    finally:
        tracker.close()
        document.close()


def test_replaced_file_gets_a_new_probe(partly_resident: Path) -> None:
    document = Document.open(str(partly_resident))
    tracker = DocumentResidency(document)
    try:
        first = tracker.probe
        replacement = partly_resident.with_name("replacement.bin")
        write_random_file(replacement, 10 * PAGE)
        os.replace(replacement, partly_resident)
        document.check_outside_change()
        assert tracker.probe is not first
        assert tracker.snapshot().size == 10 * PAGE
    finally:
        tracker.close()
        document.close()


def test_snapshots_while_windows_are_dropped_concurrently(partly_resident: Path) -> None:
    """Probing never reads an address the viewer may be unmapping on another thread."""
    document = Document.open(str(partly_resident), window_size=64 * 1024, max_windows=2)
    tracker = DocumentResidency(document)
    stop = threading.Event()

    def churn() -> None:
        rng = random.Random(3)
        while not stop.is_set():
            document.read(rng.randrange(SIZE), 1)
            document.mapped.drop_windows()

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(300):
            snapshot = tracker.snapshot(overview_buckets=64, detail=BucketLayout(0, SIZE, 1))
            assert snapshot.touched_pages is not None and snapshot.touched_pages <= 32
    finally:
        stop.set()
        worker.join()
        tracker.close()
        document.close()


# ----------------------------------------------------------------- errors
def test_open_errors_are_sentences(tmp_path: Path) -> None:
    with pytest.raises(OSError) as missing:
        ResidencyProbe.open(str(tmp_path / "absent"))
    assert describe_error(missing.value) == "The file does not exist."
    with pytest.raises(OSError) as directory:
        ResidencyProbe.open(str(tmp_path))
    assert "directory" in describe_error(directory.value)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as pipe:
        ResidencyProbe.open(str(fifo))
    assert "FIFO" in describe_error(pipe.value)


def test_syscall_errors_name_the_call() -> None:
    vector = bytearray(1)
    with pytest.raises(OSError) as unmapped:
        _libc.mincore(PAGE, PAGE, vector)  # page 1 is never mapped
    assert unmapped.value.errno == errno.ENOMEM
    assert describe_error(unmapped.value).endswith("[mincore]")
    with pytest.raises(OSError) as bad_fd:
        _libc.cachestat(987654, 0, 0)
    assert bad_fd.value.errno in (errno.EBADF, errno.ENOSYS)
    assert describe_error(bad_fd.value).endswith("[cachestat]")
    with pytest.raises(OSError) as bad_map:
        _libc.map_readonly(987654, 0, PAGE)
    assert describe_error(bad_map.value).endswith("[mmap]")
    with pytest.raises(ValueError):
        _libc.mincore(PAGE, 2 * PAGE, vector)


def test_probe_subprocess_headless(partly_resident: Path) -> None:
    """The core never needs Qt: import it with PySide6 blocked."""
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "from mmhex.core.residency import ResidencyProbe\n"
        f"print(ResidencyProbe.open({str(partly_resident)!r}).counts().resident)"
    )
    result = subprocess.run(
        [os.sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(CHOSEN)


def test_an_unchanged_file_is_measured_with_one_call_and_a_change_is_seen(
    disk_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Idle refreshes reuse the last buckets (one whole-file cachestat); any change is measured."""
    path = disk_dir / "reuse.bin"
    write_random_file(path, 64 * PAGE)
    evict(path)
    document = Document.open(str(path))
    tracker = DocumentResidency(document)
    if tracker.probe.method != residency.METHOD_CACHESTAT:
        pytest.skip("no cachestat here: every refresh measures every bucket")
    calls: list[int] = []
    real = _libc.cachestat_ranges
    monkeypatch.setattr(
        _libc, "cachestat_ranges", lambda fd, r: calls.append(len(r)) or real(fd, r)
    )
    first = tracker.snapshot(overview_buckets=16)
    calls.clear()
    again = tracker.snapshot(overview_buckets=16)
    assert calls == [1], "an unchanged file costs one whole-file call"
    assert again.overview is first.overview and again is not first
    make_resident(path, [5, 6, 7, 40])  # another process reads: the totals change
    changed = tracker.snapshot(overview_buckets=16)
    assert changed.overview is not first.overview
    assert changed.totals.resident == fincore_pages(path)  # the kernel's own count
    per_bucket = [changed.overview.counts(i).resident for i in range(len(changed.overview))]
    assert per_bucket[1] == 3 and per_bucket[10] == 1  # 4 pages per bucket
    calls.clear()
    again = tracker.snapshot(overview_buckets=16, full=True)  # measured anew on request ...
    assert calls[-1] == 16
    assert again.overview is changed.overview  # ... but equal values keep their objects
    calls.clear()
    monkeypatch.setattr(residency, "FULL_REFRESH_S", 0.0)  # and at least every FULL_REFRESH_S
    tracker.snapshot(overview_buckets=16)
    assert calls[-1] == 16
    calls.clear()
    document.read(40 * PAGE, 1)  # this process maps a cached page: only its own are re-read
    monkeypatch.setattr(residency, "FULL_REFRESH_S", 10.0)
    moved = tracker.snapshot(overview_buckets=16, visible=(40 * PAGE, 41 * PAGE))
    assert calls == [1] and moved.overview.touched is not None
    assert moved.overview.touched[10] >= 1 and moved.overview.resident == changed.overview.resident
    tracker.close()
    document.close()
