"""Benchmark: a large fill inserted near the start of a file, saved in place (issue 11).

Prints the save journal's size, the free space the save asks for, and the save's time against
``cp`` of the saved file (the tail move's physical cost), median of ``--runs``; with
``--sparse-gib`` also a sparse file (data at its start and end only) with the fill inserted
near its start: time and the blocks the saved file takes (holes must stay holes).

Usage: ``python bench/bench_fill_save.py [--dir /dev/shm] [--size-mib 1024] [--fill-mib 1024]
[--pattern ab] [--runs 3] [--sparse-gib 0] [--sparse-only]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # PYTHONPATH first: the same script measures another tree

from mmhex.core import tail_move  # noqa: E402
from mmhex.core.document import Document  # noqa: E402

MIB = 1 << 20


def one_save(path: Path, at: int, fill: int, pattern: bytes) -> tuple[float, int, int]:
    """Insert the fill, save in place: (seconds, journal bytes, bytes the save asks free)."""
    document = Document.open(str(path))
    try:
        document.enable_editing()
        document.insert_fill(at, fill, pattern)
        plan = document.plan_layout_save()
        fd = os.open(path, os.O_RDONLY)
        try:
            chunk = tail_move.chunk_for(fd)
        finally:
            os.close(fd)
        journal = tail_move.move_plan(plan, chunk).size
        needed = tail_move.space_needed(plan, chunk)
        started = time.perf_counter()
        tail_move.save_in_place(str(path), plan, document.read, None)
        return time.perf_counter() - started, journal, needed
    finally:
        document.close()


def cp_time(path: Path) -> float:
    copy = path.with_suffix(".cp")
    started = time.perf_counter()
    subprocess.run(["cp", str(path), str(copy)], check=True)
    fd = os.open(copy, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    took = time.perf_counter() - started
    copy.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/dev/shm")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--fill-mib", type=int, default=1024)
    parser.add_argument("--pattern", default="ab", help="hex bytes of the fill pattern")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sparse-gib", type=int, default=0)
    parser.add_argument("--sparse-only", action="store_true")
    args = parser.parse_args()
    pattern = bytes.fromhex(args.pattern)
    path = Path(args.dir) / f"mmhex-bench-fill-{os.getpid()}.bin"
    fill = args.fill_mib * MIB
    data = os.urandom(MIB)
    try:
        times, cps = [], []
        journal = needed = 0
        for _ in range(0 if args.sparse_only else args.runs):
            with open(path, "wb") as f:
                for _ in range(args.size_mib):
                    f.write(data)
            took, journal, needed = one_save(path, 16, fill, pattern)
            times.append(took)
            cps.append(cp_time(path))
            path.unlink()
        if times:
            save, cp = statistics.median(times or [0]), statistics.median(cps or [1])
            print(
                f"{args.fill_mib} MiB fill ({args.pattern}) inserted at 16 of {args.size_mib} MiB "
                f"in {args.dir}: journal {journal:,} B, asks {needed:,} B free; save {save:.2f} s, "
                f"cp of the result {cp:.2f} s: {save / cp:.2f}x cp"
            )
        if args.sparse_gib:
            size = args.sparse_gib << 30
            with open(path, "wb") as f:
                f.write(data)
                f.seek(size - MIB)
                f.write(data)
            took, journal, needed = one_save(path, 4096 + 5, fill, pattern)
            blocks = os.stat(path).st_blocks * 512
            print(
                f"sparse {args.sparse_gib} GiB (2 MiB of data) + {args.fill_mib} MiB fill at "
                f"0x1005: save {took:.2f} s, journal {journal:,} B; the saved file takes "
                f"{blocks / MIB:,.1f} MiB of {os.stat(path).st_size / MIB:,.0f} MiB"
            )
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
