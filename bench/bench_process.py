"""Search speed over a running process's memory (read through /proc/PID/mem) beside grep.

    python bench/bench_process.py [--size 256M] [--runs 5]

A child Python process holds --size of random bytes with a 16-byte needle planted (between
newlines) every MiB. mmhex counts the needle over the child's whole readable memory through
ProcessDocument (search's read-through path: chunks copied with os.pread, overlapping at the
seams); the references are `LC_ALL=C grep -c -F -a` over a snapshot of those bytes in a cached
file (written by Save As of the process), and a plain pread of every readable byte (the floor any
/proc/PID/mem reader pays). Medians of --runs; the count must equal the snapshot's bytes.count.

Then the residency panel's cost on that process: a full snapshot (every page of the folded space
into 1,500 buckets, plus the per-page map around the view) and a view-only one (what most
refreshes are) beside the floor, one pread of the process's whole pagemap; and what following the
process costs per minute at the panel's default 500 ms (the whole map at most every 2 s, and
at most 1 % of the time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmhex.core.expressions import parse_offset  # noqa: E402
from mmhex.core.process_document import ProcessDocument  # noqa: E402
from mmhex.core.process_residency import (  # noqa: E402
    OVERVIEW_COST_SHARE,
    OVERVIEW_MIN_S,
    ProcessResidency,
)
from mmhex.core.residency import PAGE_SIZE, BucketLayout  # noqa: E402
from mmhex.core.search import PatternKind, SearchPattern, count_matches  # noqa: E402

NEEDLE = b"mmhex-needle-16b"
CHILD = """
import os, sys
size = int(sys.argv[1])
data = bytearray(os.urandom(size))
for at in range(4096, size - 64, 1 << 20):
    data[at : at + 18] = b"\\n" + NEEDLE + b"\\n"
print("ready", flush=True)
sys.stdin.readline()
""".replace("NEEDLE", repr(NEEDLE))


def median_seconds(work, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def panel_cost(document: ProcessDocument, runs: int) -> None:
    """The residency panel following the process (see the module docstring)."""
    tracker = ProcessResidency(document)
    view = BucketLayout(0, 1200 * PAGE_SIZE, 1)  # about the per-page map's cells
    full, _ = median_seconds(
        lambda: tracker.snapshot(overview_buckets=1500, detail=view, full=True), runs
    )
    tracker.snapshot(overview_buckets=1500, detail=view, full=True)
    near, _ = median_seconds(lambda: tracker.snapshot(overview_buckets=1500, detail=view), runs)

    def pagemap_floor() -> int:
        fd = os.open(f"/proc/{document.pid}/pagemap", os.O_RDONLY)
        try:
            return sum(
                len(os.pread(fd, r.size // PAGE_SIZE * 8, r.start // PAGE_SIZE * 8))
                for r in document.space.readable
            )
        finally:
            os.close(fd)

    floor, _ = median_seconds(pagemap_floor, runs)
    wholes = 60 / max(OVERVIEW_MIN_S, OVERVIEW_COST_SHARE * full, 0.5)
    per_minute = wholes * full + (120 - wholes) * near
    pages = document.size // PAGE_SIZE
    print(f"residency panel on the process ({pages:,} pages):")
    print(f"  full snapshot (whole map + view) : {full * 1000:.1f} ms")
    print(f"  view-only snapshot               : {near * 1000:.2f} ms")
    print(f"  one pread of the whole pagemap   : {floor * 1000:.1f} ms")
    print(f"  ratio full / pread floor         : {full / floor:.2f}")
    print(f"  following it at 500 ms           : {per_minute:.2f} s of CPU per minute (computed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256M")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = parse_offset(args.size)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdin is not None
    child.stdout.readline()
    document = ProcessDocument.open(child.pid)
    snapshot = Path(tempfile.mkdtemp()) / "snapshot.bin"
    try:
        job = document.prepare_save_as(str(snapshot))
        job.finish(job.run(None, None))
        total = document.size
        pattern = SearchPattern(PatternKind.TEXT, NEEDLE.decode())
        ours, count = median_seconds(lambda: count_matches(document, pattern), args.runs)

        def grep() -> int:
            out = subprocess.run(
                ["grep", "-c", "-F", "-a", NEEDLE.decode(), str(snapshot)],
                env=dict(os.environ, LC_ALL="C"),
                capture_output=True,
                text=True,
            ).stdout
            return int(out.strip() or 0)

        def pread_all() -> int:
            pos = 0
            while pos < total:
                pos += len(document.read(pos, min(1 << 20, total - pos)))
            return pos

        grep_time, grep_count = median_seconds(grep, args.runs)
        floor, _ = median_seconds(pread_all, args.runs)
        # grep counts lines (the needle also lies in the child's own objects, beside others);
        # the reference count is the snapshot's, by bytes.count.
        expected = snapshot.read_bytes().count(NEEDLE)
        if count != expected:
            print(f"COUNTS DIFFER: mmhex {count}, snapshot {expected}", file=sys.stderr)
            return 1
        mib = total / (1 << 20)
        print(
            f"process memory: {mib:,.0f} MiB readable, {count} needles "
            f"(the snapshot has {expected}; grep -c counts {grep_count} lines)"
        )
        print(f"mmhex count over /proc/PID/mem : {ours:.3f} s  ({mib / ours:,.0f} MiB/s)")
        print(f"grep -c -F on a cached snapshot: {grep_time:.3f} s  ({mib / grep_time:,.0f} MiB/s)")
        print(f"pread of every readable byte   : {floor:.3f} s  ({mib / floor:,.0f} MiB/s)")
        print(
            f"ratio mmhex / grep: {ours / grep_time:.2f}   mmhex / pread floor: {ours / floor:.2f}"
        )
        panel_cost(document, args.runs)
    finally:
        document.close()
        snapshot.unlink(missing_ok=True)
        snapshot.parent.rmdir()
        child.stdin.write(b"\n")
        child.stdin.flush()
        child.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
