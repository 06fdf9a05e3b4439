"""Sparse files: what skipping holes buys, as ratios against the same work on data, median of runs.

    python bench/bench_sparse.py [--runs 5] [--dir /var/tmp]

1. find a literal (absent: the whole file is scanned) in a 1 TiB sparse file holding 1 MiB of
   random data, against the same find in a 1 MiB file of the same data (goal ≤ 5);
2. SHA-256 of a 4 GiB sparse file holding 1 MiB of data, against ``sha256sum`` (goal ≤ 1.0);
3. the overview bar's layers for the 1 TiB file at 1000 rows, in milliseconds (goal ≤ 100 ms).
Each finding is checked (no match, digests equal) before it is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmhex.core.checksums import compute_checksums  # noqa: E402
from mmhex.core.document import Document  # noqa: E402
from mmhex.core.overview import Layer, compute  # noqa: E402
from mmhex.core.search import PatternKind, SearchPattern, count_matches  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30
TIB = 1 << 40
NEEDLE = SearchPattern(PatternKind.TEXT, b"hello, sparse world")


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def make_file(path: Path, size: int, data: bytes, at: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        os.pwrite(f.fileno(), data, at)
        os.fsync(f.fileno())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to create the files (default: /tmp)")
    args = parser.parse_args()
    data = os.urandom(MIB).replace(b"hello", b"jello")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        huge, small, four = Path(tmp, "1tib.bin"), Path(tmp, "1mib.bin"), Path(tmp, "4gib.bin")
        make_file(huge, TIB, data, TIB // 2)
        make_file(small, MIB, data, 0)
        make_file(four, 4 * GIB, data, 2 * GIB)
        results = []

        # 1. find in 1 TiB sparse vs 1 MiB
        big_doc, small_doc = Document.open(str(huge)), Document.open(str(small))
        try:
            assert count_matches(big_doc, NEEDLE) == 0 == count_matches(small_doc, NEEDLE)
            ours = median_seconds(lambda: count_matches(big_doc, NEEDLE), args.runs)
            base = median_seconds(lambda: count_matches(small_doc, NEEDLE), args.runs)
            results.append(("find, 1 TiB sparse vs 1 MiB", ours, base, ours / base, "≤ 5"))

            # 3. overview layers for 1 TiB
            for layer in Layer:
                compute(big_doc, layer, 1000)  # warm
                took = median_seconds(lambda layer=layer: compute(big_doc, layer, 1000), args.runs)
                results.append((f"overview {layer.value}, 1 TiB", took, 0.1, took / 0.1, "≤ 1"))
        finally:
            big_doc.close()
            small_doc.close()

        # 2. sha256 of 4 GiB sparse vs sha256sum
        reference = subprocess.run(["sha256sum", str(four)], capture_output=True, text=True)
        doc = Document.open(str(four))
        try:
            digest = compute_checksums(doc, algorithms=("SHA-256",))["SHA-256"]
            assert digest == reference.stdout.split()[0], "digests differ"
            ours = median_seconds(
                lambda: compute_checksums(doc, algorithms=("SHA-256",)), args.runs
            )
        finally:
            doc.close()
        base = median_seconds(
            lambda: subprocess.run(["sha256sum", str(four)], check=True, capture_output=True),
            args.runs,
        )
        results.append(("sha256, 4 GiB sparse vs sha256sum", ours, base, ours / base, "≤ 1.0"))

    print(f"{'case':<40} {'ours':>10} {'reference':>10} {'ratio':>8}  goal")
    for name, ours, base, ratio, goal in results:
        print(f"{name:<40} {ours * 1000:>8.1f}ms {base * 1000:>8.1f}ms {ratio:>8.2f}  {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
