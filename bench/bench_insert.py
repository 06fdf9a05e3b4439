"""Benchmark: inserting and deleting bytes, and saving them (issue 11, ratios (a)-(e)).

Prints, in one run (medians of ``--runs`` interleaved runs):

  (a) 16 bytes inserted at offset 16 of a SIZE file, then saved, against ``cp`` of the file
      (+ fsync of the copy, as the save fsyncs); goal <= 1.3 (moving the tail is the physical cost);
  (b) 4096 bytes inserted at offset 0, saved, against the same cp; goal <= 0.01 (on ext4/XFS the
      file system shifts the tail: fallocate INSERT_RANGE). "Warm" is a user's file: synced and
      cached by reading it. INSERT_RANGE drops the page cache past the offset, and that costs
      per cached folio: a file cached by reading sits in folios of up to 2 MiB (~25 ms for
      4 GiB here), one just written by copy_file_range (our copy-and-rename save) in 4 KiB pages
      (~0.6 s). That last case is printed too, for information;
  (c) N scattered one-byte inserts into a 4 GiB document: microseconds per insert, and the
      process's RSS after them (goal for N = 10^6: <= 300 MiB);
  (d) 1 GiB (a quarter of SIZE) deleted from the middle, saved, against cp; goal <= 1.3;
  (a') 16 bytes inserted at offset 16 of a 1 GiB file on tmpfs (/dev/shm), saved in place by the
      chunked tail move (core/tail_move.py: the default when fallocate cannot shift), against cp;
      goal <= 1.3; and, with --ext4-image, the same on an ext4 image mounted through a loop
      device (needs root), where every step's record and bytes are flushed to the image;
  (d') the same files, a quarter and one byte (unaligned: no fallocate) deleted from the
      middle, saved in place, against cp; goal <= 1.3;
  (e) the time to paint one viewport at the end of a 1 TiB file holding 10^5 pieces (goal
      <= 4 ms), offscreen;
  (f) a 512 MiB paste (insert) and a 512 MiB fill: seconds, and the RSS gained beyond the
      pasted bytes themselves (goal: about 512 MiB once for the paste, nothing for the fill).

Usage: ``python bench/bench_insert.py [--dir DIR] [--size-gib 4] [--runs 3] [--inserts 1000000]``.
The file is written once (real data, not sparse) in DIR (default /work or the temp folder).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_save import drop_cache, fill  # noqa: E402  (as bench_save does them)

from mmhex.core import shift_save, tail_move  # noqa: E402
from mmhex.core.document import Document  # noqa: E402

GIB = 1 << 30


def pick_folder(wanted: str | None, needed: int) -> Path:
    for candidate in [wanted] if wanted else ["/work", tempfile.gettempdir()]:
        writable = candidate and os.access(candidate, os.W_OK)
        if writable and shutil.disk_usage(candidate).free > needed:
            return Path(candidate)
    sys.exit("no folder with enough free space; pass --dir or a smaller --size-gib")


def time_cp(source: Path, target: Path) -> float:
    """cp of the file, and fsync of the copy (the saves fsync too); the copy stays."""
    began = time.perf_counter()
    subprocess.run(["cp", "--reflink=never", str(source), str(target)], check=True)
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - began


def cache_by_reading(path: Path) -> None:
    """A user's file: nothing dirty, its pages cached by reading it (as opening and paging
    through it, or any earlier read, leaves them)."""
    os.sync()
    drop_cache(path)
    with open(path, "rb") as handle:
        while handle.read(64 << 20):
            pass


def time_kernel_insert(path: Path) -> float:
    """What (b) costs the kernel alone: INSERT_RANGE of a block at 0, its bytes, one fsync
    (then collapsed back, untimed); -1 where the file system cannot shift."""
    fd = os.open(path, os.O_RDWR)
    try:
        began = time.perf_counter()
        try:
            shift_save.fallocate(fd, shift_save.FALLOC_FL_INSERT_RANGE, 0, 4096)
        except OSError:
            return -1.0
        os.pwrite(fd, b"\xdd" * 4096, 0)
        os.fsync(fd)
        elapsed = time.perf_counter() - began
        shift_save.fallocate(fd, shift_save.FALLOC_FL_COLLAPSE_RANGE, 0, 4096)
        os.fsync(fd)
        return elapsed
    finally:
        os.close(fd)


def time_save(path: Path, edit) -> float:
    """Open, make ``edit`` on the document, save: the seconds of the save alone."""
    document = Document.open(str(path))
    document.enable_editing()
    edit(document)
    began = time.perf_counter()
    document.save()
    elapsed = time.perf_counter() - began
    document.close()
    return elapsed


def ratio_line(name: str, ours: list[float], cp: list[float], goal: float | None) -> None:
    mine, theirs = statistics.median(ours), statistics.median(cp)
    if goal is None:
        judged = "information, no goal"
    else:
        judged = f"goal <= {goal}; {'ok' if mine / theirs <= goal else 'MISSED'}"
    print(
        f"  {name}: mmhex {mine:7.3f} s, cp {theirs:7.3f} s, ratio {mine / theirs:6.3f} ({judged})"
    )


def bench_saves(folder: Path, size: int, runs: int) -> None:
    path = folder / "bench-insert.bin"
    spare = folder / "bench-insert.copy"
    print(f"writing a {size / GIB:.0f} GiB file of real data in {folder} ...")
    fill(path, size)
    quarter = size // 4
    results: dict[str, list[float]] = {
        "a": [],
        "b": [],
        "b-cold": [],
        "b-copied": [],
        "b-kernel": [],
        "d": [],
        "cp": [],
    }
    for _ in range(runs):
        results["cp"].append(time_cp(path, spare))
        # (a) 16 bytes at 16, then the inverse save, so the file is the same for the next run.
        results["a"].append(time_save(path, lambda d: d.insert(16, b"\xee" * 16)))
        time_save(path, lambda d: d.delete(16, 16))
        # (b) a block at 0: fallocate where the file system can. First right after the copy
        # save above wrote the file (its cache in 4 KiB pages), then as a user's file is.
        results["b-copied"].append(time_save(path, lambda d: d.insert(0, b"\xdd" * 4096)))
        time_save(path, lambda d: d.delete(0, 4096))
        cache_by_reading(path)
        results["b"].append(time_save(path, lambda d: d.insert(0, b"\xdd" * 4096)))
        time_save(path, lambda d: d.delete(0, 4096))
        cache_by_reading(path)
        results["b-kernel"].append(time_kernel_insert(path))
        # ... and with the file's pages not in the page cache (INSERT_RANGE writes back and
        # drops the cached tail, which is most of the warm figure).
        results["b-cold"].append(
            time_save(path, lambda d: (drop_cache(path), d.insert(0, b"\xdd" * 4096)))
        )
        time_save(path, lambda d: d.delete(0, 4096))
        # (d) a quarter deleted from the middle of the copy cp just made.
        results["d"].append(time_save(spare, lambda d: d.delete(quarter + quarter // 2, quarter)))
        spare.unlink()
    print(f"saves of a {size / GIB:.0f} GiB file (median of {runs}; cp's source cached):")
    ratio_line("(a) 16 B inserted at 16 ", results["a"], results["cp"], 1.3)
    ratio_line("(b) 4 KiB inserted at 0 ", results["b"], results["cp"], 0.01)
    ratio_line("(b) the same, cache cold", results["b-cold"], results["cp"], 0.01)
    ratio_line(
        "(b) right after a copy save wrote the file", results["b-copied"], results["cp"], None
    )
    if all(t >= 0 for t in results["b-kernel"]):
        ratio_line(
            "(b) the kernel alone (fallocate, pwrite, fsync)",
            results["b-kernel"],
            results["cp"],
            None,
        )
    ratio_line("(d) 1/4 deleted, middle ", results["d"], results["cp"], 1.3)
    path.unlink()


def time_in_place(path: Path, edit) -> float:
    """Like time_save, but forced through the chunked in-place tail move."""
    document = Document.open(str(path))
    document.enable_editing()
    edit(document)
    plan = document.plan_layout_save()
    began = time.perf_counter()
    tail_move.save_in_place(str(path), plan, document.read, None)
    elapsed = time.perf_counter() - began
    document.close()
    return elapsed


def bench_in_place(size: int, runs: int, folder: Path = Path("/dev/shm"), label: str = "") -> None:
    label = label or f"tmpfs ({folder})"
    if not os.access(folder, os.W_OK) or shutil.disk_usage(folder).free < 2 * size + (64 << 20):
        print(f"(a') skipped on {label}: missing or too little space")
        return
    path, spare = folder / "bench-tailmove.bin", folder / "bench-tailmove.copy"
    fill(path, size)
    ours: list[float] = []
    deleted: list[float] = []
    cp: list[float] = []
    quarter = size // 4
    for _ in range(runs):
        # os.sync between the timed parts: on a loop device a flush writes back the whole
        # image, so one part's dirty pages would be paid by the next part's flushes.
        os.sync()
        cp.append(time_cp(path, spare))
        # (d') a quarter and one byte (unaligned) deleted from the middle of the copy: the
        # journal also keeps the deleted bytes the move overwrites (for Cancel).
        deleted.append(time_in_place(spare, lambda d: d.delete(quarter * 3 // 2 + 1, quarter)))
        spare.unlink()
        os.sync()
        ours.append(time_in_place(path, lambda d: d.insert(16, b"\xee" * 16)))
        time_in_place(path, lambda d: d.delete(16, 16))
    fd = os.open(path, os.O_RDONLY)
    step = tail_move.chunk_for(fd) >> 20
    os.close(fd)
    print(f"in-place tail move on {label}, {size / GIB:.2f} GiB file (median of {runs}):")
    ratio_line(f"(a') 16 B inserted at 16, {step} MiB steps", ours, cp, 1.3)
    ratio_line("(d') 1/4 + 1 B deleted, middle   ", deleted, cp, 1.3)
    path.unlink()


def bench_in_place_ext4(size: int, runs: int) -> None:
    """(a') on an ext4 image through a loop device (root only): 64 MiB steps, each flushed."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        print("(a') on ext4 skipped: needs root and mkfs.ext4")
        return
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-", dir="/work") as work:
        image, mount = Path(work) / "ext4.img", Path(work) / "mnt"
        mount.mkdir()
        with open(image, "wb") as handle:
            handle.truncate(3 * size + (256 << 20))
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
        if subprocess.run(["mount", "-o", "loop", str(image), str(mount)]).returncode:
            print("(a') on ext4 skipped: cannot mount a loop device here")
            return
        try:
            bench_in_place(size, runs, mount, "ext4 on a loop device")
        finally:
            subprocess.run(["umount", str(mount)], check=False)


def bench_inserts(count: int) -> None:
    """(c): one-byte inserts at random offsets of a 4 GiB sparse document."""
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as folder:
        path = Path(folder) / "sparse.bin"
        with open(path, "wb") as handle:
            handle.truncate(4 * GIB)
        document = Document.open(str(path))
        document.enable_editing()
        rng = random.Random(3)
        began = time.perf_counter()
        for _ in range(count):
            document.insert(rng.randrange(document.size), b"\x01")
        elapsed = time.perf_counter() - began
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        verdict = "ok" if rss <= 300 else "MISSED"
        print(
            f"  (c) {count:,} scattered one-byte inserts: {elapsed / count * 1e6:.1f} µs per "
            f"insert, {len(document.table):,} pieces, max RSS {rss:.0f} MiB (goal <= 300 MiB "
            f"for 10^6; {verdict})"
        )
        document.close()


BIG_EDIT_CHILD = """
import os, resource, sys, time
from mmhex.core.document import Document

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

path, kind, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
document = Document.open(path)
document.enable_editing()
data = os.urandom(size) if kind == "paste" else None
before = rss()
began = time.perf_counter()
if kind == "paste":
    document.insert(document.size // 2, data)
else:
    document.fill(0, size, b"ab")
elapsed = time.perf_counter() - began
print(elapsed, rss() - before)
"""


def bench_big_edits(size: int) -> None:
    """A 512 MiB paste (insert) or fill costs about its size once, or nothing (a fill piece).

    Measured in a child: the RSS it gains over the pasted bytes it already holds."""
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as folder:
        path = Path(folder) / "sparse.bin"
        with open(path, "wb") as handle:
            handle.truncate(4 * GIB)
        for kind in ("paste", "fill"):
            out = subprocess.run(
                [sys.executable, "-c", BIG_EDIT_CHILD, str(path), kind, str(size)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            seconds, grown = float(out[0]), int(out[1])
            print(
                f"  (f) {size / GIB * 1024:.0f} MiB {kind} into a 4 GiB document: {seconds:.2f} s, "
                f"RSS +{grown / (1 << 20):.0f} MiB beyond the input (goal about "
                f"{size / GIB * 1024 if kind == 'paste' else 0:.0f} MiB, once)"
            )


def paint_at_end(window, runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds to paint new rows near the end (a scroll step each)."""
    view, viewport = window.view, window.view.viewport()
    rows, total = view.page_rows, view.model.total_rows
    wall: list[float] = []
    cpu: list[float] = []
    for step in range(max(runs, 50)):
        view.set_top_row(total - rows - step * (rows + 1))
        began, began_cpu = time.perf_counter(), time.process_time()
        viewport.repaint()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def bench_paint(pieces: int, runs: int) -> None:
    """(e): paint one viewport at the end of a 1 TiB file holding ``pieces`` pieces."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from mmhex.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as folder:
        path = Path(folder) / "tib.bin"
        with open(path, "wb") as handle:
            handle.truncate(1 << 40)
        app = QApplication.instance() or QApplication([])
        window = MainWindow()
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        assert window.open_path(str(path)) is None
        document = window.document
        document.enable_editing()
        baseline = paint_at_end(window, runs)
        # 10^5 one-byte pieces spread over the file, the last ones near its end.
        rng = random.Random(5)
        with document.batch():
            for k in range(pieces // 2):
                document.insert(rng.randrange(document.size), bytes([k & 0xFF]))
        assert len(document.table) >= pieces
        app.processEvents()
        ms, cpu = paint_at_end(window, runs)
        verdict = "ok" if ms <= 4 else "MISSED"
        print(
            f"  (e) paint of one viewport at the end of a 1 TiB file with {len(document.table):,} "
            f"pieces: {ms:.2f} ms, cpu {cpu:.2f} ms (goal <= 4 ms; {verdict}); the same file "
            f"without pieces: {baseline[0]:.2f} ms, cpu {baseline[1]:.2f} ms"
        )
        window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir")
    parser.add_argument("--size-gib", type=float, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inserts", type=int, default=1_000_000)
    parser.add_argument("--pieces", type=int, default=100_000)
    parser.add_argument("--skip-saves", action="store_true")
    parser.add_argument("--in-place-gib", type=float, default=1)
    parser.add_argument("--ext4-image", action="store_true", help="(a') on a loop-mounted ext4")
    parser.add_argument("--only-in-place", action="store_true")
    parser.add_argument("--only-big-edits", action="store_true", help="(f) only")
    args = parser.parse_args()
    if args.only_big_edits:
        bench_big_edits(512 << 20)
        return 0
    if args.only_in_place:
        bench_in_place(int(args.in_place_gib * GIB), args.runs)
        if args.ext4_image:
            bench_in_place_ext4(int(args.in_place_gib * GIB), args.runs)
        return 0
    size = int(args.size_gib * GIB)
    if not args.skip_saves:
        folder = pick_folder(args.dir, 2 * size + GIB)
        bench_saves(folder, size, args.runs)
        bench_in_place(int(args.in_place_gib * GIB), args.runs)
        if args.ext4_image:
            bench_in_place_ext4(int(args.in_place_gib * GIB), args.runs)
    bench_paint(args.pieces, args.runs)
    bench_inserts(args.inserts)
    bench_big_edits(512 << 20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
