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
The save-device-bytes measurement is bench/bench_save_bytes.py.

Usage: python bench/bench_editing.py [--typed N] [--runs R] [--skip-typing]
(offscreen unless QT_QPA_PLATFORM is set)
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typed", type=int, default=100_000, help="typed edits (multiple of 10k)")
    parser.add_argument("--runs", type=int, default=3, help="runs per Replace all (median)")
    parser.add_argument(
        "--skip-typing", action="store_true", help="only the Replace all part (in a fresh process)"
    )
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-") as name:
        folder = Path(name)
        if not args.skip_typing:
            bench_typing(app, folder, args.typed)
        bench_replace(app, folder, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
