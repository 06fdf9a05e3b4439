"""Benchmark: a save costs what was changed, never the size of the file.

Prints two ratios, each from medians of several runs in this one invocation:

1. saving 100 scattered one-byte edits in a 4 GiB file with mmhex, against rewriting the same
   file with ``dd conv=notrunc,fsync`` (what a save that writes the whole file costs); goal ≤ 0.01;
2. saving the same 100 one-byte edits (same offsets and values, within the first MiB) in a
   1 TiB sparse file and in a 1 MiB file with the same first MiB; goal ≤ 2 (the cost follows the
   edits, not the size). Also, informative: 100 edits scattered over each whole file, beside
   plain ``pwrite`` + ``fdatasync`` of such edits, whose own 1 TiB/1 MiB ratio shows what the file
   system charges for allocating blocks inside holes.

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


def timed_save(path: Path, offsets: list[int], *, cold: bool = True) -> tuple[float, int]:
    """Seconds for Document.save of one-byte edits (each byte inverted) at ``offsets``, and the
    bytes it caused to be written."""
    if cold:
        drop_cache(path)
    document = Document.open(str(path))
    try:
        document.enable_editing()
        for offset in offsets:
            document.write(offset, bytes([document.read(offset, 1)[0] ^ 0xFF]))
        before = written_bytes()
        started = time.perf_counter()
        document.save()
        return time.perf_counter() - started, written_bytes() - before
    finally:
        document.close()


def timed_pwrite(path: Path, offsets: list[int]) -> tuple[float, int]:
    """The reference for the same edits: plain pwrite of each byte, then one fdatasync.

    It pays what the file system charges for the edits themselves (allocating blocks inside
    holes, extent updates), with no journal and no mapping: what is left is mmhex's own cost.
    """
    drop_cache(path)
    fd = os.open(path, os.O_RDWR)
    try:
        old = [os.pread(fd, 1, offset) for offset in offsets]
        before = written_bytes()
        started = time.perf_counter()
        for offset, byte in zip(offsets, old, strict=True):
            os.pwrite(fd, bytes([byte[0] ^ 0xFF]), offset)
        os.fdatasync(fd)
        return time.perf_counter() - started, written_bytes() - before
    finally:
        os.close(fd)


def scattered(rng: random.Random, size: int) -> list[int]:
    return [rng.randrange(size) for _ in range(EDITS)]


def timed_dd(path: Path) -> float:
    drop_cache(path)
    started = time.perf_counter()
    subprocess.run(
        ["dd", f"if={path}", f"of={path}", "bs=16M", "conv=notrunc,fsync", "status=none"],
        check=True,
    )
    return time.perf_counter() - started


def median_seconds(runs: list[tuple[float, int]]) -> float:
    return statistics.median(t for t, _ in runs)


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
        warm = [timed_save(big, scattered(rng, big_size), cold=False) for _ in range(args.runs)]
        ours = [timed_save(big, scattered(rng, big_size)) for _ in range(args.runs)]
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
            handle.write(small.read_bytes())  # the same first MiB, then 1 TiB of hole
        # (a) The same edits (offsets and values) in both files: only the size differs.
        same_small: list[tuple[float, int]] = []
        same_tera: list[tuple[float, int]] = []
        for _ in range(args.size_runs):
            offsets = scattered(rng, 1 << 20)
            same_small.append(timed_save(small, offsets))
            same_tera.append(timed_save(tera, offsets))
        ratio_same = median_seconds(same_tera) / median_seconds(same_small)
        print(f"the same {EDITS} one-byte edits (first MiB), 1 MiB file: {summary(same_small)}")
        print(f"the same {EDITS} one-byte edits (first MiB), 1 TiB sparse: {summary(same_tera)}")
        print(f"RATIO 1TiB/1MiB, same edits = {ratio_same:.2f}  (goal <= 2)")
        # (b) Edits scattered over each whole file: in the 1 TiB file they land in holes, where
        # the file system must allocate blocks; plain pwrite of the same edits pays that too.
        spread: dict[str, list[tuple[float, int]]] = {
            key: [] for key in ("mmhex 1M", "mmhex 1T", "pwrite 1M", "pwrite 1T")
        }
        for _ in range(args.size_runs):
            for label, path, size in (("1M", small, 1 << 20), ("1T", tera, 1 << 40)):
                offsets = scattered(rng, size)
                spread[f"mmhex {label}"].append(timed_save(path, offsets))
                spread[f"pwrite {label}"].append(timed_pwrite(path, scattered(rng, size)))
        for label, runs in spread.items():
            print(f"  scattered over the whole file, {label}: {summary(runs)}")
        ours_spread = median_seconds(spread["mmhex 1T"]) / median_seconds(spread["mmhex 1M"])
        ref_spread = median_seconds(spread["pwrite 1T"]) / median_seconds(spread["pwrite 1M"])
        print(
            f"RATIO 1TiB/1MiB, scattered over each file = {ours_spread:.2f}; "
            f"plain pwrite+fdatasync of such edits = {ref_spread:.2f} (the file system's "
            "own cost of writing into holes)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
