"""Benchmark: a save costs what was changed, never the size of the file.

Prints two ratios, each from medians of several runs in this one invocation:

1. saving 100 scattered one-byte edits in a 4 GiB file with mmhex, against rewriting the same
   file with ``dd conv=notrunc,fsync`` (what a save that writes the whole file costs); goal ≤ 0.01;
2. saving 100 scattered one-byte edits in a 1 TiB sparse file against the same in a 1 MiB file;
   goal ≤ 2 (the cost follows the edits, not the size).

Before each timed run the file's clean pages are dropped from the page cache (fadvise
DONTNEED), as for a file that was not just written: a freshly written file sits in the cache in
large folios (up to 2 MiB on Linux 6.18 ext4), and a write through a shared mapping dirties and
writes back a whole folio. That case is measured too and printed as a third, informative line,
with the bytes each save caused to be written (/proc/self/io).

Usage: ``python bench/bench_save.py [--dir DIR] [--runs N] [--size-gib 4]``. Needs free disk space
for the big file (checked first) and removes everything it created.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmhex.core.document import Document

GIB = 1 << 30
EDITS = 100


def pick_folder(wanted: str | None, needed: int) -> Path:
    candidates = [wanted] if wanted else ["/work", tempfile.gettempdir(), "."]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            free = shutil.disk_usage(candidate).free
            if free >= needed:
                return Path(candidate)
            print(f"{candidate}: only {free / GIB:.1f} GiB free, need {needed / GIB:.1f} GiB")
    sys.exit("no folder with enough free space; pass --dir or a smaller --size-gib")


def fill(path: Path, size: int) -> None:
    """A file of real (non-sparse) data, so that dd has every byte to rewrite."""
    block = random.Random(1).randbytes(64 << 20)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            chunk = block[: min(len(block), size - written)]
            handle.write(chunk)
            written += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())


def drop_cache(path: Path) -> None:
    """Evict the file's clean pages, as if it had not been read or written lately."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def written_bytes() -> int:
    """Bytes this process caused to be sent to storage so far (/proc/self/io)."""
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def timed_save(path: Path, rng: random.Random, *, cold: bool = True) -> tuple[float, int]:
    """Seconds for Document.save of EDITS one-byte edits at fresh random offsets, and the bytes
    it caused to be written."""
    if cold:
        drop_cache(path)
    document = Document.open(str(path))
    try:
        document.enable_editing()
        size = document.size
        for _ in range(EDITS):
            offset = rng.randrange(size)
            document.write(offset, bytes([document.read(offset, 1)[0] ^ 0xFF]))
        before = written_bytes()
        started = time.perf_counter()
        document.save()
        return time.perf_counter() - started, written_bytes() - before
    finally:
        document.close()


def timed_dd(path: Path) -> float:
    drop_cache(path)
    started = time.perf_counter()
    subprocess.run(
        ["dd", f"if={path}", f"of={path}", "bs=16M", "conv=notrunc,fsync", "status=none"],
        check=True,
    )
    return time.perf_counter() - started


def summary(runs: list[tuple[float, int]]) -> str:
    seconds = statistics.median(t for t, _ in runs)
    written = statistics.median(w for _, w in runs)
    listed = ", ".join(f"{t * 1000:.1f}" for t, _ in runs)
    return f"{seconds * 1000:.1f} ms, {written / 1024:,.0f} KiB written (runs: {listed} ms)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="where to create the test files (default: /work or /tmp)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--dd-runs", type=int, default=3, help="dd runs (median)")
    parser.add_argument(
        "--size-runs", type=int, default=15, help="runs for the 1 MiB / 1 TiB comparison"
    )
    parser.add_argument("--size-gib", type=float, default=4.0, help="size of the big file")
    args = parser.parse_args()
    big_size = int(args.size_gib * GIB)
    folder = Path(
        tempfile.mkdtemp(prefix="mmhex-bench-save-", dir=pick_folder(args.dir, big_size + GIB))
    )
    rng = random.Random(2024)
    try:
        big = folder / "big.bin"
        print(f"creating {big_size / GIB:g} GiB of data in {folder} …", flush=True)
        fill(big, big_size)
        warm = [timed_save(big, rng, cold=False) for _ in range(args.runs)]
        ours = [timed_save(big, rng) for _ in range(args.runs)]
        dd = [timed_dd(big) for _ in range(args.dd_runs)]
        big.unlink()
        dd_seconds = statistics.median(dd)
        ratio_dd = statistics.median(t for t, _ in ours) / dd_seconds
        print(
            f"dd conv=fsync rewrite of {big_size / GIB:g} GiB: {dd_seconds:.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in dd)})"
        )
        print(f"mmhex save of {EDITS} scattered 1-byte edits: {summary(ours)}")
        print(f"RATIO save/dd = {ratio_dd:.4f}  (goal <= 0.01)")
        ratio_warm = statistics.median(t for t, _ in warm) / dd_seconds
        print(
            f"  informative: right after writing the file (cache in large folios): "
            f"{summary(warm)}; ratio {ratio_warm:.4f}"
        )

        small = folder / "small.bin"
        fill(small, 1 << 20)
        tera = folder / "tera.bin"
        with open(tera, "wb") as handle:
            handle.truncate(1 << 40)
        # alternate so that drift in the machine's state hits both alike
        small_runs: list[tuple[float, int]] = []
        tera_runs: list[tuple[float, int]] = []
        for _ in range(args.size_runs):
            small_runs.append(timed_save(small, rng))
            tera_runs.append(timed_save(tera, rng))
        ratio_size = statistics.median(t for t, _ in tera_runs) / statistics.median(
            t for t, _ in small_runs
        )
        print(f"mmhex save of {EDITS} scattered 1-byte edits, 1 MiB file: {summary(small_runs)}")
        print(f"mmhex save of {EDITS} scattered 1-byte edits, 1 TiB sparse: {summary(tera_runs)}")
        print(f"RATIO 1TiB/1MiB = {ratio_size:.2f}  (goal <= 2)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
