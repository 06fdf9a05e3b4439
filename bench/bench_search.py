"""Search and dump speed as ratios to grep, ripgrep, xxd and hexdump on one cached file.

    python bench/bench_search.py [--size 1G] [--runs 5] [--dir /tmp]

Every comparison runs whole processes on the same cached file, interleaved, and reports medians:
- literal:  `mmhex find F needle --count` vs `LC_ALL=C grep -c -F -a needle F` and `rg -c -F -a`
- regex:    `mmhex find F --regex RE --count` vs `LC_ALL=C grep -c -a -P RE F`
- wildcard: `mmhex find F --hex 'DE AD ?? EF 12 34' --count` vs `grep -c -a -P` of the same bytes
- dump:     `mmhex dump F -n N` vs `xxd -l N F`; `--format canonical` vs `hexdump -C -v -n N F`
grep -c counts matching *lines*; each planted needle is written between two newlines, one per
slot of the file, so the counts agree, and the script checks that they do.
It also times, in-process, what each way of surviving truncation costs (see mmhex/core/scan.py).
--kernels times one process's count of the cached file with StringZilla's widest kernels and with
the AVX-512 ones left out (what searches use, see search.AVX512_KERNELS), beside ripgrep.
The file is created under --dir and removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmhex.core.document import Document  # noqa: E402
from mmhex.core.expressions import parse_offset  # noqa: E402
from mmhex.core.search import (  # noqa: E402
    PatternKind,
    SearchOptions,
    SearchPattern,
    accelerators,
    count_matches,
)

NEEDLE = b"needle-XYZ-123"
REGEX = "needle-[A-Z]{3}-[0-9]+"
WILDCARD_HEX = "DE AD ?? EF 12 34"
WILDCARD_PCRE = r"\xde\xad.\xef\x12\x34"
PLANTS = 1000


def make_file(path: Path, size: int) -> None:
    """Random bytes with needles planted at known places, then read once so it is cached."""
    rng = random.Random(1)
    block = 64 * 1024 * 1024
    with open(path, "wb") as f:
        written = 0
        while written < size:
            f.write(os.urandom(min(block, size - written)))
            written = min(size, written + block)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mm:
        # One needle per slot, each on a line of its own, so grep's line count equals ours.
        slot = size // PLANTS
        for i in range(PLANTS):
            at = i * slot + rng.randrange(slot - 64)
            mm[at : at + len(NEEDLE) + 2] = b"\n" + NEEDLE + b"\n"
            if i % 10 == 0:
                mm[at + 20 : at + 26] = b"\xde\xad\x77\xef\x12\x34"
    with open(path, "rb") as f:
        while f.read(16 * 1024 * 1024):
            pass


def timed(cmd: list[str] | str, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    result = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"failed: {cmd}\n{result.stderr.decode(errors='replace')}")
    return elapsed, result.stdout


def compare(
    name: str, ours: list[str] | str, theirs: dict[str, list[str] | str], runs: int, env: dict
) -> dict[str, float]:
    times: dict[str, list[float]] = {"mmhex": []} | {k: [] for k in theirs}
    outputs: dict[str, bytes] = {}
    for _ in range(runs):
        for label, cmd in [("mmhex", ours), *theirs.items()]:
            elapsed, out = timed(cmd, env)
            times[label].append(elapsed)
            outputs[label] = out
    medians = {k: statistics.median(v) for k, v in times.items()}
    first = outputs["mmhex"]
    agree = all(out.strip() == first.strip() for out in outputs.values())
    print(f"\n{name}: outputs {'agree' if agree else 'DIFFER'} ({first[:40]!r})")
    if not agree:
        for label, out in outputs.items():
            print(f"  output of {label}: {out[:60]!r}")
    for label, value in medians.items():
        print(f"  {label:24s} {value:8.3f} s (median of {runs})")
    return medians


def ratio_line(label: str, ours: float, theirs: float, goal: float) -> str:
    ratio = ours / theirs
    verdict = "meets" if ratio <= goal else "MISSES"
    return f"  {label:44s} {ratio:6.2f}   goal <= {goal:<5} {verdict}"


def in_process(path: Path, runs: int) -> dict[str, float]:
    """Median seconds of count_matches on an already open document (what the window does)."""
    doc = Document.open(str(path))
    patterns = {
        "literal": SearchPattern(PatternKind.TEXT, NEEDLE),
        "regex": SearchPattern(PatternKind.REGEX, REGEX),
        "wildcard": SearchPattern(PatternKind.HEX, WILDCARD_HEX),
    }
    times: dict[str, list[float]] = {k: [] for k in patterns}
    for _ in range(runs):
        for label, pattern in patterns.items():
            start = time.perf_counter()
            count_matches(doc, pattern)
            times[label].append(time.perf_counter() - start)
    doc.close()
    medians = {k: statistics.median(v) for k, v in times.items()}
    print("\nIn-process search of an open document (count_matches, as the window runs it):")
    for label, value in medians.items():
        print(f"  {label:10s} {value:7.3f} s  {path.stat().st_size / value / 2**30:5.2f} GiB/s")
    return medians


def safety_costs(path: Path, runs: int) -> None:
    """In-process: the same literal count read four ways (see scan.py for the choice)."""
    import stringzilla as sz

    doc = Document.open(str(path))
    pattern = SearchPattern(PatternKind.TEXT, NEEDLE)
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    window = 16 * 1024 * 1024

    def unprotected() -> int:
        total = 0
        for off in range(0, size, window):
            with mmap.mmap(fd, min(window, size - off), prot=mmap.PROT_READ, offset=off) as mm:
                view = memoryview(mm)
                total += sz.count(view, NEEDLE, allowoverlap=True)
                view.release()
        return total

    def forked_child() -> int:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            os.write(write_end, str(unprotected()).encode())
            os._exit(0)
        os.close(write_end)
        result = os.read(read_end, 64)
        os.close(read_end)
        os.waitpid(pid, 0)
        return int(result)

    ways = {
        "unprotected mapping (can SIGBUS)": unprotected,
        "forked child scans (child may die)": forked_child,
        "in place under a read lease (chosen)": lambda: count_matches(doc, pattern),
        "fault-free copies (no lease)": lambda: count_matches(
            doc, pattern, options=SearchOptions(use_lease=False)
        ),
        "pure Python engines, leased": lambda: count_matches(
            doc, pattern, options=SearchOptions(accelerated=False)
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in ways}
    counts = {}
    for _ in range(runs):
        for label, way in ways.items():
            start = time.perf_counter()
            counts[label] = way()
            times[label].append(time.perf_counter() - start)
    print(f"\nIn-process literal count ({len(set(counts.values()))} distinct result(s)):")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"  {label:40s} {median:7.3f} s  {size / median / 2**30:5.2f} GiB/s")
    os.close(fd)
    doc.close()


def edited_search(path: Path, runs: int, inserts: int = 1000) -> None:
    """In-process: each search on the open document, unedited and then after ``inserts``
    scattered one-byte inserts (the scan walks the pieces; FILE pieces are viewed in place).
    Goal: ≤ 1.3× the unedited time."""
    doc = Document.open(str(path))
    patterns = {
        "literal": SearchPattern(PatternKind.TEXT, NEEDLE),
        "regex": SearchPattern(PatternKind.REGEX, REGEX),
        "wildcard": SearchPattern(PatternKind.HEX, WILDCARD_HEX),
    }

    def medians() -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
        wall: dict[str, list[float]] = {k: [] for k in patterns}
        cpu: dict[str, list[float]] = {k: [] for k in patterns}
        counts = {}
        for _ in range(runs):
            for label, pattern in patterns.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                counts[label] = count_matches(doc, pattern)
                wall[label].append(time.perf_counter() - start)
                cpu[label].append(time.process_time() - start_cpu)
        return (
            {k: statistics.median(v) for k, v in wall.items()},
            {k: statistics.median(v) for k, v in cpu.items()},
            counts,
        )

    try:
        plain, plain_cpu, plain_counts = medians()
        doc.enable_editing()
        rng = random.Random(7)
        for _ in range(inserts):
            doc.insert(rng.randrange(doc.size), b"\x00")
        pieces = len(doc.pieces_in(0, doc.size))
        edited, edited_cpu, edited_counts = medians()
    finally:
        doc.close()
    print(f"\nIn-process search after {inserts:,} scattered one-byte inserts ({pieces:,} pieces):")
    for label in patterns:
        print(
            f"  {label:10s} unedited {plain[label]:7.3f} s (CPU {plain_cpu[label]:.3f} s, "
            f"{plain_counts[label]} hits)   edited {edited[label]:7.3f} s "
            f"(CPU {edited_cpu[label]:.3f} s, {edited_counts[label]} hits)"
        )
    print("Ratios (edited / unedited, medians, in-process; CPU time is steadier on a busy host):")
    for label in patterns:
        print(ratio_line(f"{label} after {inserts:,} inserts", edited[label], plain[label], 1.3))
        print(ratio_line("  same, CPU time", edited_cpu[label], plain_cpu[label], 1.3))


def kernel_choice(path: Path, runs: int) -> None:
    """One core's count of the cached file per StringZilla kernel set, beside ripgrep's."""
    import stringzilla

    from mmhex.core import search
    from mmhex.core.mapping import MappedFile

    chosen = tuple(stringzilla.__capabilities__)
    widest = chosen + tuple(k for k in search.AVX512_KERNELS if k not in chosen)
    pattern = SearchPattern(PatternKind.TEXT, NEEDLE.decode())
    sets = {"AVX-512 left out (used)": chosen, "all kernels": widest}
    times: dict[str, list[float]] = {name: [] for name in [*sets, "rg -c -F -a"]}
    for _ in range(runs):
        for name, kernels in sets.items():
            try:
                stringzilla.reset_capabilities(kernels)
            except (ValueError, RuntimeError) as exc:  # a CPU without those kernels
                print(f"  {name}: not available here ({exc})")
                times.pop(name, None)
                continue
            with MappedFile(str(path), window_size=256 << 20) as mapped:
                start = time.perf_counter()
                count_matches(mapped, pattern, workers=1)
                times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["rg", "-c", "-F", "-a", NEEDLE.decode(), str(path)], capture_output=True)
        times["rg -c -F -a"].append(time.perf_counter() - start)
    stringzilla.reset_capabilities(chosen)
    reference = statistics.median(times["rg -c -F -a"])
    print(f"one core's count of {path.stat().st_size:,} cached bytes (median of {runs}):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:28} {median * 1000:7.1f} ms  {median / reference:5.2f}x rg (whole process)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1G", help="file size (default 1G)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dump-length", default="32M", help="bytes dumped (default 32M)")
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument(
        "--edited-only",
        action="store_true",
        help="only the in-process search of a document with 1,000 scattered inserts",
    )
    parser.add_argument(
        "--kernels",
        action="store_true",
        help="only one core's count with StringZilla's widest kernels and with the ones used",
    )
    args = parser.parse_args()
    size = parse_offset(args.size)
    dump_length = parse_offset(args.dump_length)
    for tool in ("grep", "rg", "xxd", "hexdump"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (see scripts/setup.sh test_pkgs)")
    if shutil.disk_usage(args.dir).free < size * 2:
        raise SystemExit(f"not enough free space in {args.dir} for a {size:,}-byte file")
    path = Path(args.dir) / f"mmhex-bench-{os.getpid()}.bin"
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    # As installed: byte-code cached (the first run below writes it), stdout buffered.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONUNBUFFERED", None)
    mmhex = [sys.executable, "-m", "mmhex"]
    print(f"accelerators: {accelerators()}; file {size:,} bytes at {path}")
    try:
        make_file(path, size)
        if args.edited_only:
            edited_search(path, args.runs)
            return 0
        if args.kernels:
            kernel_choice(path, args.runs)
            return 0
        f = str(path)
        empty = Path(args.dir) / f"mmhex-bench-{os.getpid()}.empty"
        empty.write_bytes(b"")
        startup = compare(
            "start-up (find in an empty file)",
            [*mmhex, "find", str(empty), "x"],
            {},
            args.runs,
            env,
        )
        empty.unlink()
        literal = compare(
            "literal search",
            [*mmhex, "find", f, NEEDLE.decode(), "--count"],
            {
                "grep -c -F -a": ["grep", "-c", "-F", "-a", NEEDLE.decode(), f],
                "rg -c -F -a": ["rg", "-c", "-F", "-a", NEEDLE.decode(), f],
            },
            args.runs,
            env,
        )
        regex = compare(
            "regex search",
            [*mmhex, "find", f, "--regex", REGEX, "--count"],
            {"grep -c -a -P": ["grep", "-c", "-a", "-P", REGEX, f]},
            args.runs,
            env,
        )
        wildcard = compare(
            "wildcard search",
            [*mmhex, "find", f, "--hex", WILDCARD_HEX, "--count"],
            {"grep -c -a -P": ["grep", "-c", "-a", "-P", WILDCARD_PCRE, f]},
            args.runs,
            env,
        )
        n = str(dump_length)
        dump_xxd = compare(
            f"dump of {dump_length:,} bytes, xxd format (to /dev/null)",
            f"{sys.executable} -m mmhex dump {f} -n {n} > /dev/null",
            {"xxd": f"xxd -l {n} {f} > /dev/null"},
            args.runs,
            env,
        )
        dump_canonical = compare(
            f"dump of {dump_length:,} bytes, hexdump -C format (to /dev/null)",
            f"{sys.executable} -m mmhex dump {f} -n {n} --format canonical > /dev/null",
            {"hexdump -C -v": f"hexdump -C -v -n {n} {f} > /dev/null"},
            max(1, args.runs // 2),
            env,
        )
        same = []
        for fmt, tool in (
            ("xxd", f"xxd -l 1000003 {f}"),
            ("canonical", f"hexdump -C -v -n 1000003 {f}"),
        ):
            ours = subprocess.run(
                f"{sys.executable} -m mmhex dump {f} -n 1000003 --format {fmt}",
                shell=True,
                capture_output=True,
                env=env,
            ).stdout
            theirs = subprocess.run(tool, shell=True, capture_output=True, env=env).stdout
            same.append(hashlib.sha256(ours).digest() == hashlib.sha256(theirs).digest())
        print(f"\ndump outputs byte-identical on a 1,000,003-byte sample: {all(same)}")
        inside = in_process(path, args.runs)
        safety_costs(path, max(3, args.runs // 2))
        print("\nRatios (mmhex time / reference time, medians, whole processes):")
        print(
            ratio_line("literal vs grep -c -F -a", literal["mmhex"], literal["grep -c -F -a"], 0.35)
        )
        print(ratio_line("literal vs rg -c -F -a", literal["mmhex"], literal["rg -c -F -a"], 1.25))
        print(ratio_line("regex vs grep -P", regex["mmhex"], regex["grep -c -a -P"], 0.7))
        print(ratio_line("wildcard vs grep -P", wildcard["mmhex"], wildcard["grep -c -a -P"], 0.7))
        print(ratio_line("dump vs xxd", dump_xxd["mmhex"], dump_xxd["xxd"], 1.0))
        print(
            ratio_line(
                "dump --format canonical vs hexdump -C",
                dump_canonical["mmhex"],
                dump_canonical["hexdump -C -v"],
                0.2,
            )
        )
        print(f"  (mmhex process start-up alone: {startup['mmhex']:.3f} s of each mmhex figure)")
        print("Ratios with mmhex searching an open document (the window), reference processes:")
        grep_f, rg = literal["grep -c -F -a"], literal["rg -c -F -a"]
        print(ratio_line("literal vs grep -c -F -a", inside["literal"], grep_f, 0.35))
        print(ratio_line("literal vs rg -c -F -a", inside["literal"], rg, 1.25))
        print(ratio_line("regex vs grep -P", inside["regex"], regex["grep -c -a -P"], 0.7))
        print(ratio_line("wildcard vs grep -P", inside["wildcard"], wildcard["grep -c -a -P"], 0.7))
        edited_search(path, args.runs)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
