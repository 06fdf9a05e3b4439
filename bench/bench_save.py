"""Benchmark: a save costs what was changed, never the size of the file.

Prints two ratios, each from medians of several runs in this one invocation:

1. saving 100 scattered one-byte edits in a 4 GiB file with mmhex, against rewriting the same
   file with ``dd conv=notrunc,fsync`` (what a save that writes the whole file costs); goal ≤ 0.01;
2. saving 100 scattered one-byte edits in a 1 TiB sparse file against the same in a 1 MiB file;
   goal ≤ 2 (the cost follows the edits, not the size).

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


def timed_save(path: Path, rng: random.Random) -> float:
    """Seconds for Document.save of EDITS one-byte edits at fresh random offsets."""
    document = Document.open(str(path))
    try:
        document.enable_editing()
        size = document.size
        for _ in range(EDITS):
            offset = rng.randrange(size)
            document.write(offset, bytes([document.read(offset, 1)[0] ^ 0xFF]))
        started = time.perf_counter()
        document.save()
        return time.perf_counter() - started
    finally:
        document.close()


def timed_dd(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["dd", f"if={path}", f"of={path}", "bs=16M", "conv=notrunc,fsync", "status=none"],
        check=True,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="where to create the test files (default: /work or /tmp)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--dd-runs", type=int, default=3, help="dd runs (median)")
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
        ours = [timed_save(big, rng) for _ in range(args.runs)]
        dd = [timed_dd(big) for _ in range(args.dd_runs)]
        big.unlink()
        ratio_dd = statistics.median(ours) / statistics.median(dd)
        print(
            f"{EDITS} scattered 1-byte edits in {big_size / GIB:g} GiB: mmhex save "
            f"{statistics.median(ours) * 1000:.1f} ms (runs: "
            f"{', '.join(f'{t * 1000:.1f}' for t in ours)}) vs dd conv=fsync rewrite "
            f"{statistics.median(dd):.2f} s (runs: {', '.join(f'{t:.2f}' for t in dd)})"
        )
        print(f"RATIO save/dd = {ratio_dd:.4f}  (goal <= 0.01)")

        small = folder / "small.bin"
        fill(small, 1 << 20)
        tera = folder / "tera.bin"
        with open(tera, "wb") as handle:
            handle.truncate(1 << 40)
        # alternate so that drift in the machine's state hits both alike
        small_times: list[float] = []
        tera_times: list[float] = []
        for _ in range(args.runs):
            small_times.append(timed_save(small, rng))
            tera_times.append(timed_save(tera, rng))
        ratio_size = statistics.median(tera_times) / statistics.median(small_times)
        small_ms = statistics.median(small_times) * 1000
        tera_ms = statistics.median(tera_times) * 1000
        print(
            f"{EDITS} scattered 1-byte edits: 1 MiB file {small_ms:.1f} ms, 1 TiB sparse file "
            f"{tera_ms:.1f} ms"
        )
        print(f"RATIO 1TiB/1MiB = {ratio_size:.2f}  (goal <= 2)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
