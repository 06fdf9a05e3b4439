"""Editing benchmark on the default window (all features installed, as a new user opens it).

Prints, each beside its goal:
  1. typed edits through the grid's own key handling (QTest key clicks on the view): seconds for
     the first and the last block of 10,000 of N (default 100,000); goal last/first <= 1.2;
  2. Replace all of 10^4 and 10^5 places: the window (the search feature's replace-all signal
     through editing's one undo step, until the event loop is idle) against the core alone (the
     same writes on a Document of the same file); goal window/core <= 2.
The Replace all part runs after the typing part in the same process on purpose: what a long
typing session leaves behind (it once left every typed key's undo command alive, and the garbage
collector's full passes over them landed inside Replace all) shows there; --skip-typing runs the
Replace all part alone.
  3. Save (Ctrl+S) after S undo steps (default 100,000) typed through the grid's key handling on
     a 1 MiB file (two hex digits, then Right: each byte its own step), in overwrite and in
     insert mode: the blocking call, the longest the window's thread went without turning its
     event loop (a 1 ms timer's largest gap), the history walks called alone (the controller's
     ``_history_edits``, the document's ``history_copy_bytes``) and the time the window's thread
     spent inside the history walks (those and ``Document._history_to_keep``) during the Save;
     goal: <= 100 ms.
The save-device-bytes measurement is bench/bench_save_bytes.py.

Usage: python bench/bench_editing.py [--typed N] [--runs R] [--skip-typing] [--skip-replace]
       [--save-steps S] [--skip-save]
(offscreen unless QT_QPA_PLATFORM is set)
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
BLOCK = 10_000
TYPING_GOAL = 1.2
REPLACE_GOAL = 2.0
HISTORY_GOAL_MS = 100.0


def default_window(app, settings: Path):
    """The window as `mmhex FILE` builds it (features installed), shown at 1280x800."""
    os.environ["MMHEX_SETTINGS"] = str(settings)
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow

    window = MainWindow()
    install_features(window)
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    return window


def open_editing(app, window, path: Path):
    from mmhex.ui.editing import EditController

    assert window.open_path(str(path)) is None
    editor = window.findChild(EditController)
    assert editor.enable_editing()
    app.processEvents()
    return editor


def close(app, window, editor) -> None:
    editor.stack.clear()
    window.document.revert_all()
    window.setWindowModified(False)
    window.close_guards.clear()
    window.close()
    app.processEvents()


def bench_typing(app, folder: Path, total: int) -> None:
    from PySide6.QtTest import QTest

    path = folder / "typing.bin"
    path.write_bytes(bytes(total))  # two digits per byte: the file has room to spare
    window = default_window(app, folder / "settings.ini")
    editor = open_editing(app, window, path)
    view = window.view
    blocks: list[float] = []
    cpu: list[float] = []
    for block in range(total // BLOCK):
        began, began_cpu = time.perf_counter(), time.process_time()
        for index in range(BLOCK):
            QTest.keyClick(view, "a" if index % 2 else "5")
            if index % 100 == 99:
                app.processEvents()  # a typist's pauses: paints and timers run
        app.processEvents()
        blocks.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        print(
            f"  edits {block * BLOCK + 1:>7,}-{(block + 1) * BLOCK:>7,}: {blocks[-1]:6.2f} s"
            f" (cpu {cpu[-1]:6.2f} s)",
            flush=True,
        )
    written = window.document.read(0, 4)
    assert written == b"\x5a" * 4, written
    ratio = blocks[-1] / blocks[0]
    cpu_ratio = cpu[-1] / cpu[0]
    print(
        f"typing {total:,} edits: first {BLOCK:,} {blocks[0]:.2f} s (cpu {cpu[0]:.2f}), last "
        f"{BLOCK:,} {blocks[-1]:.2f} s (cpu {cpu[-1]:.2f}), ratio {ratio:.2f} (cpu "
        f"{cpu_ratio:.2f})   (goal <= {TYPING_GOAL}: {'ok' if ratio <= TYPING_GOAL else 'MISSED'};"
        f" cpu {'ok' if cpu_ratio <= TYPING_GOAL else 'MISSED'})"
    )
    close(app, window, editor)


def core_replace(path: Path, places: list[int], data: bytes) -> float:
    from mmhex.core.document import Document

    document = Document.open(str(path))
    document.enable_editing()
    began = time.perf_counter()
    for offset in places:
        document.write(offset, data)
    elapsed = time.perf_counter() - began
    document.close()
    return elapsed


def window_replace(app, folder: Path, path: Path, places: list[int], data: bytes) -> float:
    from mmhex.core.search import Match
    from mmhex.ui.search.controller import SearchController

    window = default_window(app, folder / "settings.ini")
    editor = open_editing(app, window, path)
    controller = window.findChild(SearchController)
    matches = [Match(offset, offset + len(data)) for offset in places]
    began = time.perf_counter()
    controller.replace_all_ready.emit(matches, data)
    app.processEvents()
    app.processEvents()
    elapsed = time.perf_counter() - began
    assert window.document.read(places[-1], len(data)) == data
    assert editor.stack.count() == 1
    close(app, window, editor)
    return elapsed


def bench_replace(app, folder: Path, runs: int) -> None:
    path = folder / "replace.bin"
    size = 16 << 20
    path.write_bytes(bytes(size))
    data = b"\xde\xad"
    for count in (10_000, 100_000):
        step = size // count
        places = [index * step for index in range(count)]
        core: list[float] = []
        ui: list[float] = []
        for _ in range(runs):
            core.append(core_replace(path, places, data))
            ui.append(window_replace(app, folder, path, places, data))
        c, w = statistics.median(core), statistics.median(ui)
        print(
            f"Replace all of {count:,} places (median of {runs}): window {w:.3f} s, core "
            f"{c:.3f} s, ratio {w / c:.2f}   (goal <= {REPLACE_GOAL}: "
            f"{'ok' if w / c <= REPLACE_GOAL else 'MISSED'})",
            flush=True,
        )


def type_steps(app, view, steps: int) -> None:
    """``steps`` undo steps through the grid's keys: a byte's two digits, then Right."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    for index in range(steps):
        QTest.keyClick(view, "5")
        QTest.keyClick(view, "a")
        QTest.keyClick(view, Qt.Key.Key_Right)  # a cursor move: the next byte is a new step
        if index % 100 == 99:
            app.processEvents()


def longest_stall(app, action) -> tuple[float, float, object]:
    """(seconds ``action`` blocked, longest gap in seconds between 1 ms timer ticks, result).

    The gap is what the user feels: the window's thread not turning its event loop (no paint,
    no input) while the save is prepared, run in its worker and finished."""
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    app.processEvents()
    began = time.perf_counter()
    ticks.append(began)
    result = action()
    ended = time.perf_counter()
    ticks.append(ended)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return ended - began, max(gaps), result


class WindowThreadClock:
    """Adds up the time the window's (main) thread spends inside the given functions while it
    is installed (outermost call only); their calls on a worker thread are not counted."""

    def __init__(self, targets: list[tuple[object, str]]) -> None:
        self.seconds = 0.0
        self._targets = targets
        self._saved: list[tuple[object, str, object]] = []
        self._depth = 0

    def __enter__(self) -> WindowThreadClock:
        import functools
        import threading

        main = threading.main_thread()
        for owner, name in self._targets:
            original = getattr(owner, name)

            @functools.wraps(original)
            def timed(*args, _original=original, **kwargs):
                if threading.current_thread() is not main:
                    return _original(*args, **kwargs)
                self._depth += 1
                began = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self._depth -= 1
                    if not self._depth:
                        self.seconds += time.perf_counter() - began

            self._saved.append((owner, name, original))
            setattr(owner, name, timed)
        return self

    def __exit__(self, *_exc: object) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)


def bench_save_history(app, folder: Path, steps: int, insert: bool) -> None:
    mode = "insert" if insert else "overwrite"
    path = folder / f"history-{mode}.bin"
    path.write_bytes(bytes(1 << 20))
    window = default_window(app, folder / "settings.ini")
    editor = open_editing(app, window, path)
    if insert != editor.insert_mode:
        editor.toggle_insert_mode()
    began = time.perf_counter()
    type_steps(app, window.view, steps)
    app.processEvents()
    typed = time.perf_counter() - began
    assert editor.stack.count() == steps, editor.stack.count()
    walks: list[float] = []
    copies: list[float] = []
    for _ in range(3):
        t0 = time.perf_counter()
        history = editor._history_edits()
        t1 = time.perf_counter()
        window.document.history_copy_bytes(history)
        t2 = time.perf_counter()
        walks.append(t1 - t0)
        copies.append(t2 - t1)
    assert len(history) == steps
    walk, copy = statistics.median(walks) * 1e3, statistics.median(copies) * 1e3
    from mmhex.core.document import Document
    from mmhex.ui.editing import EditController

    history_functions = [
        (EditController, "_history_edits"),
        (Document, "history_copy_bytes"),
        (Document, "_history_to_keep"),
    ]
    import gc

    full: list[float] = []  # full garbage collections during the Save (they hold the GIL)

    def on_collection(phase: str, info: dict, began: list[float] = [0.0]) -> None:  # noqa: B006
        if phase == "start":
            began[0] = time.perf_counter()
        elif info["generation"] == 2:
            full.append(time.perf_counter() - began[0])

    gc.callbacks.append(on_collection)
    with WindowThreadClock(history_functions) as clock:
        blocked, stall, saved = longest_stall(app, editor.save)
    gc.callbacks.remove(on_collection)
    assert saved and not window.document.modified and editor.stack.isClean()
    # Undo across the save still works: the last step comes back off the saved file.
    editor.undo()
    assert window.document.modified
    history_ms = clock.seconds * 1e3
    print(
        f"Save after {steps:,} {mode} steps (typed in {typed:.0f} s): blocking call "
        f"{blocked * 1e3:.0f} ms, longest event-loop stall {stall * 1e3:.0f} ms; called alone: "
        f"_history_edits {walk:.1f} ms, history_copy_bytes {copy:.1f} ms; the window's thread "
        f"in the history walks during Save {history_ms:.1f} ms   (goal <= "
        f"{HISTORY_GOAL_MS:.0f} ms: {'ok' if history_ms <= HISTORY_GOAL_MS else 'MISSED'}); "
        f"{len(full)} full garbage collections ({sum(full) * 1e3:.0f} ms)",
        flush=True,
    )
    close(app, window, editor)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typed", type=int, default=100_000, help="typed edits (multiple of 10k)")
    parser.add_argument("--runs", type=int, default=3, help="runs per Replace all (median)")
    parser.add_argument(
        "--skip-typing", action="store_true", help="only the Replace all part (in a fresh process)"
    )
    parser.add_argument("--skip-replace", action="store_true", help="leave out Replace all")
    parser.add_argument(
        "--save-steps", type=int, default=100_000, help="undo steps before the timed save"
    )
    parser.add_argument("--skip-save", action="store_true", help="leave out the save part")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as name:
        folder = Path(name)
        if not args.skip_typing:
            bench_typing(app, folder, args.typed)
        if not args.skip_replace:
            bench_replace(app, folder, args.runs)
        if not args.skip_save:
            for insert in (False, True):
                bench_save_history(app, folder, args.save_steps, insert)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
