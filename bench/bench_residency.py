"""Residency counting speed against util-linux fincore (and vmtouch), as ratios, median of runs.

    python bench/bench_residency.py [--runs 5] [--dir /var/tmp] [--keep]

Cases: a 1 GiB file about a quarter resident, and a 1 TiB sparse file. Each tool counts the
resident pages of the same file; the counts must agree. Our figures: the core in-process
(cachestat where the kernel has it, and the forced windowed mincore walk), the overview summary
the panel asks for (4096 buckets), and the whole `mmhex residency` process (Python start-up
included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmhex.core.residency import PAGE_SIZE, ResidencyProbe  # noqa: E402

GIB = 1 << 30
TIB = 1 << 40


def run_tool(command: list[str]) -> Callable[[], str]:
    def action() -> str:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    return action


def fincore_count(output: str) -> int:
    return int(output.split()[0])


def vmtouch_count(output: str) -> int:
    for line in output.splitlines():
        if "Resident Pages:" in line:
            return int(line.split()[2].split("/")[0])
    raise ValueError(f"unexpected vmtouch output: {output!r}")


def probe_count(path: Path, *, force_mincore: bool) -> Callable[[], int]:
    def action() -> int:
        with ResidencyProbe.open(str(path), force_mincore=force_mincore) as probe:
            resident = probe.counts().resident
            assert resident is not None
            return resident

    return action


def probe_buckets(path: Path, *, force_mincore: bool) -> Callable[[], int]:
    def action() -> int:
        with ResidencyProbe.open(str(path), force_mincore=force_mincore) as probe:
            return sum(probe.buckets(0, None, 4096).resident or ())

    return action


def make_partly_resident(path: Path) -> int:
    """1 GiB written, synced, evicted, then every fourth 64 KiB block read back."""
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for _ in range(GIB >> 20):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for offset in range(0, GIB, 4 << 16):
            os.pread(fd, 1 << 16, offset)
    finally:
        os.close(fd)
    return GIB // PAGE_SIZE


def make_sparse(path: Path) -> int:
    with open(path, "wb") as handle:
        handle.truncate(TIB)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for offset in (0, TIB // 3, TIB - PAGE_SIZE):
            os.pread(fd, 1, offset)  # a few cached pages (of zeros) spread over the file
    finally:
        os.close(fd)
    return TIB // PAGE_SIZE


def bench_case(title: str, path: Path, runs: int, goal: str) -> None:
    """Every tool once per round, then again: load drifting on a busy machine hits all alike."""
    print(f"\n{title}  ({path.stat().st_size:,} bytes; goal {goal})")
    # As installed: bytecode cached (this environment may set PYTHONDONTWRITEBYTECODE, which
    # would make every run compile the sources again).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)

    def cli() -> int:
        command = [sys.executable, "-m", "mmhex", "residency", "--bytes", str(path)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        return int(output.stdout.split()[5])

    fincore = run_tool(["fincore", "--raw", "--noheadings", "--bytes", "-o", "PAGES", str(path)])
    tools: list[tuple[str, Callable[[], int]]] = [
        ("fincore (util-linux)", lambda: fincore_count(fincore())),
    ]
    if shutil.which("vmtouch"):
        vmtouch = run_tool(["vmtouch", str(path)])
        tools.append(("vmtouch", lambda: vmtouch_count(vmtouch())))
    tools += [
        ("mmhex core, whole-file count (cachestat)", probe_count(path, force_mincore=False)),
        ("mmhex core, whole-file count (mincore walk)", probe_count(path, force_mincore=True)),
        ("mmhex core, 4096 buckets (cachestat)", probe_buckets(path, force_mincore=False)),
        ("mmhex core, 4096 buckets (mincore walk)", probe_buckets(path, force_mincore=True)),
        ("mmhex residency (whole process)", cli),
    ]
    cli()  # writes the bytecode cache
    times: dict[str, list[float]] = {label: [] for label, _ in tools}
    counts: dict[str, int] = {}
    for _ in range(runs):
        for label, action in tools:
            began = time.perf_counter()
            counts[label] = action()
            times[label].append(time.perf_counter() - began)
    with ResidencyProbe.open(str(path)) as probe:
        method = probe.method
    fincore_time = statistics.median(times["fincore (util-linux)"])
    print(f"  {'tool':<44} {'median':>10} {'vs fincore':>11}  resident pages")
    for label, _ in tools:
        seconds = statistics.median(times[label])
        shown = label
        if "cachestat" in label and method != "cachestat":
            shown = label.replace("cachestat", "no cachestat: mincore")
        ratio = seconds / fincore_time if fincore_time else float("nan")
        print(f"  {shown:<44} {seconds * 1000:>8.2f}ms {ratio:>10.4f}x  {counts[label]:,}")
    distinct = set(counts.values())
    print(f"  counts agree: {'yes' if len(distinct) == 1 else 'NO: ' + str(sorted(distinct))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default="/var/tmp", help="a folder on a disk file system")
    parser.add_argument("--keep", action="store_true", help="keep the test files")
    args = parser.parse_args()
    if shutil.which("fincore") is None:
        print("fincore (util-linux-extra) is needed as the reference", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="mmhex-bench-residency-", dir=args.dir))
    try:
        partly = directory / "partly-1g.bin"
        make_partly_resident(partly)
        bench_case("1 GiB, a quarter resident", partly, args.runs, "<= 1.0x fincore")
        partly.unlink()
        sparse = directory / "sparse-1t.bin"
        make_sparse(sparse)
        bench_case(
            "1 TiB sparse", sparse, args.runs, "<= 0.01x fincore with cachestat, else <= 1.0x"
        )
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
