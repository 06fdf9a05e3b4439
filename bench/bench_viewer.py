"""Viewer benchmark: start-up, memory and paint time are independent of the file size.

Prints, as ratios of medians over several runs:
  1. time from process start to the first painted frame, 1 TiB sparse file vs 1 MiB file
     (goal <= 1.2);
  2. resident memory after that first frame, 1 TiB minus 1 MiB (goal <= 5 MiB);
  3. time to paint one full viewport at the start, middle and end of the 1 TiB file, each after
     scrolling to rows not yet read (goal <= 4 ms, against a 16.7 ms frame at 60 Hz).
Start-up runs `python -m mmhex FILE` in fresh processes with MMHEX_EXIT_AFTER_FIRST_PAINT=1,
which prints a CLOCK_MONOTONIC timestamp and the RSS right after the first paint.

Usage: python bench/bench_viewer.py [--runs N]   (offscreen unless QT_QPA_PLATFORM is set)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
TIB = 1 << 40
FRAME_MS = 1000 / 60
PAINT_GOAL_MS = 4.0


def make_files(folder: Path) -> tuple[Path, Path]:
    small = folder / "one-mib.bin"
    small.write_bytes(os.urandom(MIB))
    huge = folder / "one-tib.bin"
    with open(huge, "wb") as handle:
        handle.truncate(TIB)
        handle.seek(TIB - 16)
        handle.write(b"last sixteen b.!")
    return small, huge


def start_once(path: Path, settings: Path) -> tuple[float, float]:
    """Seconds from spawning to the first painted frame, and RSS (MiB) at that moment."""
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        MMHEX_SETTINGS=str(settings),
        MMHEX_EXIT_AFTER_FIRST_PAINT="1",
    )
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic_ns()
    result = subprocess.run(
        [sys.executable, "-m", "mmhex", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("mmhex-first-paint"))
    fields = dict(field.split("=") for field in line.split()[1:])
    return (int(fields["monotonic_ns"]) - started) / 1e9, int(fields["rss_kib"]) / 1024


def bench_startup(small: Path, huge: Path, settings: Path, runs: int) -> None:
    timings: dict[Path, list[float]] = {small: [], huge: []}
    memory: dict[Path, list[float]] = {small: [], huge: []}
    start_once(small, settings)  # warm the page cache for Python and Qt
    for _ in range(runs):
        for path in (small, huge):  # interleaved, so drift hits both alike
            seconds, rss = start_once(path, settings)
            timings[path].append(seconds)
            memory[path].append(rss)
    t_small, t_huge = statistics.median(timings[small]), statistics.median(timings[huge])
    m_small, m_huge = statistics.median(memory[small]), statistics.median(memory[huge])
    ratio = t_huge / t_small
    print(f"start-up to first paint (median of {runs}):")
    print(f"  1 MiB file {t_small * 1000:8.1f} ms")
    print(f"  1 TiB file {t_huge * 1000:8.1f} ms")
    print(
        f"  ratio 1 TiB / 1 MiB = {ratio:.3f}   (goal <= 1.2: {'ok' if ratio <= 1.2 else 'MISSED'})"
    )
    difference = m_huge - m_small
    print("resident memory after the first paint:")
    print(f"  1 MiB file {m_small:8.1f} MiB")
    print(f"  1 TiB file {m_huge:8.1f} MiB")
    verdict = "ok" if difference <= 5 else "MISSED"
    print(f"  difference 1 TiB - 1 MiB = {difference:+.2f} MiB   (goal <= 5 MiB: {verdict})")


def bench_paint(huge: Path, runs: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from mmhex.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    assert window.open_path(str(huge)) is None
    app.processEvents()
    view = window.view
    viewport = view.viewport()
    total = view.model.total_rows
    rows = view.page_rows
    samples_per_position = max(runs, 50)
    print(
        f"paint of one full viewport ({rows} rows x 16 bytes, 1280x800 window,"
        f" median of {samples_per_position}; 'cpu' is this process's CPU time, which other"
        " busy processes do not inflate):"
    )
    for name, start in (("start", 0), ("middle", total // 2), ("end", total - rows)):
        cold: list[float] = []
        cold_cpu: list[float] = []
        warm: list[float] = []
        for step in range(samples_per_position):
            # A new window of rows each time: the paint reads and formats them (a scroll step).
            top = start + (step * (rows + 1) if name != "end" else -step * (rows + 1))
            view.set_top_row(top)
            began, began_cpu = time.perf_counter(), time.process_time()
            viewport.repaint()
            cold.append((time.perf_counter() - began) * 1000)
            cold_cpu.append((time.process_time() - began_cpu) * 1000)
            began = time.perf_counter()
            viewport.repaint()
            warm.append((time.perf_counter() - began) * 1000)
        cold_ms, cpu_ms = statistics.median(cold), statistics.median(cold_cpu)
        warm_ms = statistics.median(warm)
        verdict = "ok" if cold_ms <= PAINT_GOAL_MS else "MISSED"
        print(
            f"  {name:<6} new rows {cold_ms:5.2f} ms (cpu {cpu_ms:5.2f}), same rows {warm_ms:5.2f}"
            f" ms; ratio to the 4 ms goal {cold_ms / PAINT_GOAL_MS:.2f} ({verdict}),"
            f" to a 60 Hz frame {cold_ms / FRAME_MS:.2f}"
        )
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as folder:
        small, huge = make_files(Path(folder))
        settings = Path(folder) / "settings.ini"
        bench_startup(small, huge, settings, args.runs)
        bench_paint(huge, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
