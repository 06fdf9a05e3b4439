"""Long regex matches: the issue's `xy+z` over x, 70,000 y and z, planted in random bytes.

    python bench/bench_regex_long.py [--size 256M] [--runs 5] [--dir /tmp]

Whole processes on the same cached file, interleaved, medians:
- `mmhex find F --regex 'xy+z'` vs `LC_ALL=C grep -obUaP 'xy+z' F` (offsets, as ours);
- the same with a 1,000,000-byte run (grown to, 16 times the 64 KiB window);
- `mmhex find F --regex '[0-9]+;'` with a 200,000-digit run vs grep -obUaP.
Both outputs are compared: the offsets must be equal. The file is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmhex.core.expressions import parse_offset  # noqa: E402

CASES = (
    ("xy+z, 70,000 y", b"xy+z", b"x" + b"y" * 70_000 + b"z"),
    ("xy+z, 1,000,000 y", b"xy+z", b"x" + b"y" * 1_000_000 + b"z"),
    ("[0-9]+; 200,000 digits", rb"[0-9]+;", b"7" * 200_000 + b";"),
)


def make_file(path: Path, size: int, plant: bytes) -> None:
    with open(path, "wb") as f:
        written = 0
        while written < size:
            chunk = os.urandom(min(64 << 20, size - written))
            # No accidental matches: keep the random bytes free of the pattern's letters.
            f.write(chunk.translate(bytes.maketrans(b"xyz0123456789;", b"--------------")))
            written += len(chunk)
        f.seek(size // 2)
        f.write(plant)
    with open(path, "rb") as f:  # cached
        while f.read(64 << 20):
            pass


def timed(command: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, env=env, check=False)
    return time.perf_counter() - started, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256M")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    size = parse_offset(args.size.replace("M", "*1024*1024").replace("G", "*1024*1024*1024"))
    if shutil.which("grep") is None:
        print("grep is not installed")
        return 1
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    path = Path(args.dir) / f"bench-regex-long-{os.getpid()}.bin"
    try:
        for name, pattern, plant in CASES:
            make_file(path, size, plant)
            ours_cmd = [sys.executable, "-m", "mmhex", "find", str(path), "--regex", pattern]
            grep_cmd = ["grep", "-obUaP", pattern.decode(), str(path)]
            ours, theirs = [], []
            for _ in range(args.runs):
                t, out = timed([*ours_cmd], env)
                ours.append(t)
                t, grep_out = timed(grep_cmd, env)
                theirs.append(t)
            offsets = out.split()
            grep_offsets = [line.split(b":", 1)[0] for line in grep_out.splitlines()]
            same = "same offsets" if offsets == grep_offsets else "DIFFERENT OFFSETS"
            a, b = statistics.median(ours), statistics.median(theirs)
            print(
                f"{name:26} mmhex {a * 1000:8.0f} ms   grep -P {b * 1000:8.0f} ms   "
                f"ratio {a / b:5.2f}   {same} ({len(offsets)} match)"
            )
    finally:
        path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
