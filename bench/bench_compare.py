"""Compare speed against GNU cmp: identical 4 GiB files, 1,000 scattered differences, 1 TiB sparse.

Usage: python bench/bench_compare.py [--dir /tmp] [--size-gib 4] [--runs 3] [--sparse-tib 1]

1. Two identical cached files of SIZE: `mmhex cmp A B` against `cmp A B` (goal ≤ 1.0×).
2. The same pair with 1,000 single bytes changed in B: `mmhex cmp A B | wc -l` against
   `cmp -l A B | wc -l` (goal ≤ 0.1×); both must count 1,000 lines.
3. Two sparse files of SPARSE TiB with data at the same 10 places, differing in each:
   `mmhex cmp` (goal: seconds: the holes are skipped). cmp would read every hole; its time is
   extrapolated from `cmp -n 8GiB` (said so in the output) unless --cmp-sparse-full.
Both programs run as commands (Python's start-up, ~0.3 s here, counted), median of RUNS
interleaved runs each; the files are read once before timing so both find them cached. Files are
deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3
MMHEX = [sys.executable, "-m", "mmhex", "cmp"]


def timed(command: str | list[str], *, shell: bool = False) -> tuple[float, bytes, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C"}
    start = time.perf_counter()
    done = subprocess.run(command, shell=shell, capture_output=True, env=env, check=False)
    return time.perf_counter() - start, done.stdout, done.returncode


def median_of(runs: int, command: str | list[str], *, shell: bool = False) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(runs):
        seconds, out, _code = timed(command, shell=shell)
        times.append(seconds)
    return statistics.median(times), out


def paired(
    runs: int, ours: str | list[str], theirs: str | list[str], *, shell: bool = False
) -> tuple[float, bytes, float, bytes]:
    """Medians of ``runs`` interleaved runs of both commands (load drifts hit both alike)."""
    ours_times, theirs_times = [], []
    ours_out = theirs_out = b""
    for _ in range(runs):
        seconds, theirs_out, _code = timed(theirs, shell=shell)
        theirs_times.append(seconds)
        seconds, ours_out, _code = timed(ours, shell=shell)
        ours_times.append(seconds)
    return (
        statistics.median(ours_times),
        ours_out,
        statistics.median(theirs_times),
        theirs_out,
    )


def write_file(path: Path, size: int) -> None:
    """SIZE bytes: a 64 MiB random block repeated (random enough for memcmp and cmp)."""
    block = random.Random(1).randbytes(64 * 1024 * 1024)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            written += f.write(block[: size - written])


def warm(*paths: Path) -> None:
    for path in paths:
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


def report(name: str, ours: float, theirs: float, goal: str, what: str) -> None:
    print(f"{name}: mmhex {ours:.2f} s, {what} {theirs:.2f} s, ratio {ours / theirs:.2f}× ({goal})")


def bench_dense(directory: Path, size: int, runs: int) -> None:
    a, b = directory / "bench-cmp-a.bin", directory / "bench-cmp-b.bin"
    try:
        write_file(a, size)
        write_file(b, size)
        warm(a, b)
        ours_s, out, cmp_s, _ = paired(runs, [*MMHEX, str(a), str(b)], ["cmp", str(a), str(b)])
        assert out == b"", out[:200]
        report(f"identical {size / GIB:g} GiB", ours_s, cmp_s, "goal ≤ 1.0×", "cmp")

        rng = random.Random(1000)
        with open(b, "r+b") as f:
            for offset in rng.sample(range(size), 1000):
                f.seek(offset)
                old = f.read(1)
                f.seek(offset)
                f.write(bytes([old[0] ^ 0xA5]))
        os.sync()  # no writeback of the changed pages during the timed runs
        warm(a, b)
        pipeline = f"cmp -l {a} {b} | wc -l"
        ours_cmd = f"{' '.join(MMHEX)} {a} {b} | wc -l"
        ours_s, ours_out, cmp_s, cmp_out = paired(runs, ours_cmd, pipeline, shell=True)
        assert int(cmp_out) == int(ours_out) == 1000, (cmp_out, ours_out)
        assert timed([*MMHEX, str(a), str(b)])[1] == timed(["cmp", "-l", str(a), str(b)])[1]
        report("1,000 scattered differences", ours_s, cmp_s, "goal ≤ 0.1×", "cmp -l | wc -l")
    finally:
        for path in (a, b):
            path.unlink(missing_ok=True)


def bench_sparse(directory: Path, size: int, runs: int, cmp_full: bool) -> None:
    a, b = directory / "bench-cmp-sparse-a.bin", directory / "bench-cmp-sparse-b.bin"
    places = [int(size * (i + 0.5) / 10) // 4096 * 4096 for i in range(10)]
    try:
        for path, fill in ((a, b"A" * 4096), (b, b"A" * 2048 + b"B" + b"A" * 2047)):
            with open(path, "wb") as f:
                f.truncate(size)
                for offset in places:
                    os.pwrite(f.fileno(), fill, offset)
        ours_s, out = median_of(runs, [*MMHEX, "--ranges", str(a), str(b)])
        assert len(out.splitlines()) == 10, out
        if cmp_full:
            cmp_s, _ = median_of(1, ["cmp", str(a), str(b)])
            how = "cmp"
        else:
            sample = min(8 * GIB, size)
            part, _ = median_of(1, ["cmp", "-n", str(sample), str(a), str(b)])
            cmp_s = part * size / sample
            how = f"cmp (extrapolated from {sample // GIB} GiB: {part:.2f} s)"
        print(
            f"sparse {size / 1024**4:g} TiB, 10 differences: mmhex {ours_s:.2f} s "
            f"(goal: seconds); {how} ≈ {cmp_s:,.0f} s, ratio {ours_s / cmp_s:.5f}×"
        )
    finally:
        for path in (a, b):
            path.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--size-gib", type=float, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sparse-tib", type=float, default=1)
    parser.add_argument("--cmp-sparse-full", action="store_true")
    args = parser.parse_args()
    directory = Path(args.dir)
    bench_dense(directory, int(args.size_gib * GIB), args.runs)
    bench_sparse(directory, int(args.sparse_tib * 1024**4), args.runs, args.cmp_sparse_full)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
