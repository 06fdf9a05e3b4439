"""Time to the first structure tree, in process, beside the reference tools on the same input.

    python bench/bench_structure.py [--runs 7] [--dir /var/tmp]

Cases: /usr/bin/python3 (its real file) as ELF beside `readelf -h -l -S`, and a 1 TiB sparse
disk image with a GPT made by sgdisk beside `sgdisk -p`. "First tree" is what the Structure dock
shows first: open the document, detect the file type (libmagic), load the format, parse, and
render the top level (plus, for the GPT, the primary header and its 128 partition entries).
Each run starts from a fresh format registry (the format module is loaded again). Goals: ≤ 200 ms
for each, and RSS + ≤ 10 MiB for the 1 TiB image.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmhex.core.document import Document  # noqa: E402
from mmhex.core.structure import Node, parse  # noqa: E402
from mmhex.core.structure_detect import detect  # noqa: E402
from mmhex.core.structure_formats import FormatRegistry  # noqa: E402

PYTHON = os.path.realpath("/usr/bin/python3")


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def show(node: Node, depth: int) -> int:
    """Render ``node`` and its children down to ``depth``, as the dock does; count the rows."""
    node.evaluate()
    _ = (node.name, node.offset, node.size, node.type_name, node.text)
    count = 1
    if depth > 0 and node.has_children:
        for child in node.children():
            count += show(child, depth - 1)
    return count


def first_tree(path: str, depth: int) -> Callable[[], int]:
    def action() -> int:
        registry = FormatRegistry()
        document = Document.open(path, readonly=True)
        try:
            found = detect(document, path, known=set(registry.names()))
            assert found.format is not None, found
            result = parse(document, found.format, registry)
            assert result.complete, result.stop
            return show(result.root, depth)
        finally:
            document.close()

    return action


def tool(command: list[str]) -> Callable[[], int]:
    def action() -> int:
        return len(subprocess.run(command, check=True, capture_output=True).stdout)

    return action


def median_ms(action: Callable[[], int], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def compare(
    label: str, ours: Callable[[], int], reference: Callable[[], int], name: str, runs: int
):
    ours()  # warm the page cache and the .pyc of the format module
    reference()
    mine, theirs = [], []
    for _ in range(runs):  # interleaved, so load on the shared machine hits both alike
        mine.append(median_ms(ours, 1))
        theirs.append(median_ms(reference, 1))
    ms, ref = statistics.median(mine), statistics.median(theirs)
    print(
        f"{label}: first tree {ms:.1f} ms (goal ≤ 200 ms); "
        f"{name} {ref:.1f} ms; ratio {ms / ref:.2f}"
    )
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()

    compare(
        f"ELF {PYTHON} ({os.path.getsize(PYTHON):,} bytes)",
        first_tree(PYTHON, 2),
        tool(["readelf", "-W", "-h", "-l", "-S", PYTHON]),
        "readelf -h -l -S",
        args.runs,
    )

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        image = os.path.join(folder, "disk.img")
        subprocess.run(["truncate", "-s", "1T", image], check=True)
        subprocess.run(
            ["sgdisk", "-n", "1:2048:+1G", "-c", "1:data", "-n", "2:0:+4G", image],
            check=True,
            capture_output=True,
        )
        before = rss_kib()
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        compare(
            "GPT 1 TiB sparse image",
            first_tree(image, 4),
            tool(["sgdisk", "-p", image]),
            "sgdisk -p",
            args.runs,
        )
        after = rss_kib()
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"GPT 1 TiB: RSS +{(after - before) / 1024:.1f} MiB after {args.runs + 1} parses, "
            f"peak +{(peak_after - peak_before) / 1024:.1f} MiB (goal ≤ 10 MiB)"
        )


if __name__ == "__main__":
    main()
