"""Viewer benchmark: start-up, memory and paint time; the default window against a bare one.

Prints, as ratios of medians over several runs:
  1. time from process start to the first painted frame of the default window (every feature,
     panels as a new user sees them), 1 TiB sparse file vs 1 MiB file (goal <= 1.2), and the
     1 MiB figure against the 350 ms goal;
  2. resident memory after that first frame, 1 TiB minus 1 MiB (goal <= 5 MiB);
  3. time to paint one full viewport at the start, middle and end of the 1 TiB file, each after
     scrolling to rows not yet read (goal <= 4 ms, against a 16.7 ms frame at 60 Hz); then the
     same file laid out as a process is (16,384 regions, a separator row between each two).
  4. the DEFAULT window (residency panel, inspector ... as `mmhex FILE` opens them) on a 1 GiB
     cached file beside the same window with every dock hidden: CPU ms (mean) per one-row and
     one-page scroll (the scroll, then every paint it causes), frames painted during a scripted
     scrollbar drag of fixed length, and idle CPU per minute (measured over --idle seconds and
     scaled to a minute; all threads of the process). Goals: scroll <= 1.3x hidden; idle <= 0.2
     s/min.
Start-up runs `python -m mmhex FILE` in fresh processes with MMHEX_EXIT_AFTER_FIRST_PAINT=1,
which prints a CLOCK_MONOTONIC timestamp and the RSS right after the first paint.

Usage: python bench/bench_viewer.py [--runs N] [--idle SECONDS] [--only default]
(offscreen unless QT_QPA_PLATFORM is set)
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
TIB = 1 << 40
FRAME_MS = 1000 / 60
PAINT_GOAL_MS = 4.0
STARTUP_GOAL_S = 0.350
GIB = 1 << 30
SCROLL_GOAL = 1.3
IDLE_GOAL_S_PER_MIN = 0.2
DRAG_SECONDS = 2.0
SEGMENT = 64 * MIB  # region size of the process-like layout of the 1 TiB file


def make_files(folder: Path) -> tuple[Path, Path]:
    small = folder / "one-mib.bin"
    small.write_bytes(os.urandom(MIB))
    huge = folder / "one-tib.bin"
    with open(huge, "wb") as handle:
        handle.truncate(TIB)
        handle.seek(TIB - 16)
        handle.write(b"last sixteen b.!")
    return small, huge


CPU_SECONDS: list[float] = []  # CPU time of each start-up measured (user + system)


def start_once(path: Path, settings: Path) -> tuple[float, float]:
    """Seconds from spawning to the first painted frame, and RSS (MiB) at that moment."""
    # Bytecode written and used, as an installed package has it: with PYTHONDONTWRITEBYTECODE
    # set (as in some shells), every start compiled ~50 modules again (~120 ms).
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = dict(
        inherited,
        PYTHONPATH=str(ROOT),
        MMHEX_SETTINGS=str(settings),
        MMHEX_EXIT_AFTER_FIRST_PAINT="1",
    )
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic_ns()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The process quits right after its first frame: its whole CPU time is the start-up's.
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return (int(fields["monotonic_ns"]) - started) / 1e9, int(fields["rss_kib"]) / 1024


def bench_startup(small: Path, huge: Path, settings: Path, runs: int) -> None:
    timings: dict[Path, list[float]] = {small: [], huge: []}
    memory: dict[Path, list[float]] = {small: [], huge: []}
    start_once(small, settings)  # warm the page cache for Python and Qt
    small_cpu: list[float] = []
    for _ in range(runs):
        for path in (small, huge):  # interleaved, so drift hits both alike
            seconds, rss = start_once(path, settings)
            timings[path].append(seconds)
            memory[path].append(rss)
            if path == small:
                small_cpu.append(CPU_SECONDS[-1])
    t_small, t_huge = statistics.median(timings[small]), statistics.median(timings[huge])
    m_small, m_huge = statistics.median(memory[small]), statistics.median(memory[huge])
    ratio = t_huge / t_small
    print(f"start-up to first paint (median of {runs}):")
    print(f"  1 MiB file {t_small * 1000:8.1f} ms")
    print(f"  1 TiB file {t_huge * 1000:8.1f} ms")
    print(
        f"  ratio 1 TiB / 1 MiB = {ratio:.3f}   (goal <= 1.2: {'ok' if ratio <= 1.2 else 'MISSED'})"
    )
    verdict = "ok" if t_small <= STARTUP_GOAL_S else "MISSED"
    print(
        f"  default window, 1 MiB file: {t_small * 1000:.0f} ms, fastest "
        f"{min(timings[small]) * 1000:.0f} ms, CPU {statistics.median(small_cpu) * 1000:.0f} ms"
        f"   (goal <= 350 ms: {verdict}; load average now {os.getloadavg()[0]:.1f})"
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

    from mmhex.core.row_layout import Segment
    from mmhex.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    assert window.open_path(str(huge)) is None
    app.processEvents()
    view = window.view
    total = view.model.total_rows
    rows = view.page_rows
    samples_per_position = max(runs, 50)
    print(
        f"paint of one full viewport ({rows} rows x 16 bytes, 1280x800 window,"
        f" median of {samples_per_position}; 'cpu' is this process's CPU time, which other"
        " busy processes do not inflate):"
    )
    paint_positions(view, total, rows, samples_per_position)
    # The same file laid out the way a process is: regions that each start a row, one
    # separator row between each two (every lookup is a bisection over the segments).
    count = TIB // SEGMENT
    segments = [
        Segment(index * SEGMENT, SEGMENT, f"… gap {index:,}" if index else None)
        for index in range(count)
    ]
    view.set_segments(lambda: segments)
    total = view.model.total_rows
    print(f"  the same, as {count:,} regions with a separator row between each two:")
    paint_positions(view, total, rows, samples_per_position)
    window.close()


def paint_positions(view, total: int, rows: int, samples_per_position: int) -> None:
    viewport = view.viewport()
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


class PaintCounter:
    """Counts paint events of a widget (frames) through an event filter."""

    def __init__(self, widget) -> None:
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class Filter(QObject):
            def eventFilter(self, _watched, event) -> bool:
                if event.type() == QEvent.Type.Paint:
                    counter.frames += 1
                return False

        self.frames = 0
        self._filter = Filter()
        widget.installEventFilter(self._filter)


def default_window(app, path: Path):
    """The window `mmhex FILE` shows: every feature installed, docks as a new user sees them."""
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow

    window = MainWindow()
    install_features(window)
    window.resize(1280, 800)
    window.show()
    assert window.open_path(str(path)) is None
    for _ in range(20):
        app.processEvents()
    return window


def set_docks_visible(app, window, visible: bool) -> None:
    from PySide6.QtWidgets import QDockWidget

    for dock in window.findChildren(QDockWidget):
        if dock.property("bench_default_visible") is None:
            dock.setProperty("bench_default_visible", dock.isVisible())
        dock.setVisible(visible and bool(dock.property("bench_default_visible")))
    for _ in range(10):
        app.processEvents()


def settle_events(app, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()


def scroll_ms(app, window, rows: int, steps: int) -> float:
    """Median CPU ms of one scroll by ``rows`` plus every paint it causes (processEvents).

    CPU time of this process (all threads), not wall time: the machine is shared, and other
    processes' load would otherwise decide the ratio.
    """
    view = window.view
    view.set_top_row(0)
    app.processEvents()
    samples = []
    for _ in range(steps):
        began = time.process_time()
        view.set_top_row(view.top_row + rows)
        app.processEvents()
        samples.append((time.process_time() - began) * 1000)
    return statistics.mean(samples)


def drag_frames(app, window) -> tuple[int, float]:
    """Frames the grid paints while the scrollbar is dragged for DRAG_SECONDS (scripted), and
    the CPU milliseconds the process spent per frame.

    The slider moves one position further each time the event loop has processed the last
    move, as a mouse drag delivers its motion events: a slow paint means fewer frames. On a
    shared machine the frame count also depends on other processes; the CPU per frame does not.
    """
    view = window.view
    bar = view.verticalScrollBar()
    counter = PaintCounter(view.viewport())
    bar.setSliderDown(True)
    position = 0
    began_cpu = time.process_time()
    end = time.perf_counter() + DRAG_SECONDS
    while time.perf_counter() < end:
        position = (position + max(1, bar.maximum() // 2000)) % max(1, bar.maximum())
        bar.setSliderPosition(position)
        app.processEvents()
    bar.setSliderDown(False)
    app.processEvents()
    cpu_ms = (time.process_time() - began_cpu) * 1000
    return counter.frames, cpu_ms / max(1, counter.frames)


def idle_cpu_per_minute(app, seconds: float) -> float:
    """CPU seconds (every thread) the idle window uses, over ``seconds``, scaled to a minute."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    began = time.process_time()
    loop.exec()
    return (time.process_time() - began) * 60 / seconds


def bench_default_window(folder: Path, runs: int, idle_seconds: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["MMHEX_SETTINGS"] = str(folder / "default-settings.ini")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    path = folder / "one-gib.bin"
    with open(path, "wb") as handle:
        chunk = os.urandom(16 * MIB)
        for _ in range(GIB // len(chunk)):
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())  # idle means idle: no writeback going on under the panel
    with open(path, "rb") as handle:  # cached, as after any search
        while handle.read(16 * MIB):
            pass
    app = QApplication.instance() or QApplication([])
    window = default_window(app, path)
    settle_events(app, 1.0)
    results: dict[str, dict[bool, list[float]]] = {
        name: {True: [], False: []} for name in ("row", "page", "drag", "frame")
    }
    steps = max(runs, 5) * 40
    for _ in range(max(1, runs // 2)):
        for visible in (True, False):  # interleaved, so drift hits both alike
            set_docks_visible(app, window, visible)
            settle_events(app)
            results["row"][visible].append(scroll_ms(app, window, 1, steps))
            results["page"][visible].append(scroll_ms(app, window, window.view.page_rows, steps))
            frames, frame_cpu = drag_frames(app, window)
            results["drag"][visible].append(frames)
            results["frame"][visible].append(frame_cpu)
    print(f"default window vs docks hidden (1 GiB cached file, 1280x800, {steps} steps each):")
    for name, label, unit in (
        ("row", "one-row scroll (cpu)", "ms"),
        ("page", "one-page scroll (cpu)", "ms"),
        ("drag", f"frames in a {DRAG_SECONDS:g} s drag", "frames"),
        ("frame", "cpu per frame while dragging", "ms"),
    ):
        shown = statistics.median(results[name][True])
        hidden = statistics.median(results[name][False])
        ratio = shown / hidden if name != "drag" else hidden / max(shown, 1)
        goal = (
            f"(goal <= {SCROLL_GOAL}: {'ok' if ratio <= SCROLL_GOAL else 'MISSED'})"
            if name != "drag"
            else "(hidden/shown; 1.0 = the panels cost no frames)"
        )
        print(
            f"  {label:<32} default {shown:8.2f} {unit}, hidden {hidden:8.2f} {unit}, "
            f"ratio {ratio:.2f}   {goal}"
        )
    idle: dict[bool, float] = {}
    for visible in (False, True):
        set_docks_visible(app, window, visible)
        settle_events(app, 1.0)
        idle[visible] = idle_cpu_per_minute(app, idle_seconds)
    verdict = "ok" if idle[True] <= IDLE_GOAL_S_PER_MIN else "MISSED"
    print(
        f"  idle CPU (over {idle_seconds:g} s, scaled to a minute): default "
        f"{idle[True]:.3f} s/min, hidden {idle[False]:.3f} s/min, ratio "
        f"{idle[True] / max(idle[False], 1e-3):.1f}   (goal default <= "
        f"{IDLE_GOAL_S_PER_MIN} s/min: {verdict})"
    )
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    parser.add_argument("--only", choices=("default",), help="only the default-window part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as folder:
        if args.only != "default":
            small, huge = make_files(Path(folder))
            settings = Path(folder) / "settings.ini"
            bench_startup(small, huge, settings, args.runs)
            bench_paint(huge, args.runs)
        bench_default_window(Path(folder), args.runs, args.idle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
