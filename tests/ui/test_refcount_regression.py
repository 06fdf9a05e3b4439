"""PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void Qt call.

The app then aborts with "Fatal Python error: none_dealloc" after a few thousand paints, so the
count of None must not fall across 10,000 update() calls and hundreds of repaints (each paint
makes dozens of void calls: fillRect, setPen, drawText …). The count is checked after every small
chunk so that, with the bug, the test fails cleanly long before None is freed and the process
aborts (measured: 6.12.0 fails here at the first check; 6.11.3 passes).
"""

from __future__ import annotations

import gc
import sys

ALLOWED_NOISE = 100  # unrelated code may drop a few references; the bug drops one per call
CHUNK = 500


def assert_none_kept(before: int, done: str) -> None:
    lost = before - sys.getrefcount(None)
    assert lost < ALLOWED_NOISE, f"None lost {lost} references after {done}"


def test_none_refcount_survives_ten_thousand_updates(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    viewport = view.viewport()
    # Garbage left by earlier tests (closed windows and their closures hold None too) must not
    # be collected in the middle of the count: collect it now and pause the collector.
    gc.collect()
    gc.disable()
    try:
        before = sys.getrefcount(None)
        for chunk in range(10_000 // CHUNK):
            for _ in range(CHUNK):
                viewport.update()
            assert_none_kept(before, f"{(chunk + 1) * CHUNK} update() calls")
        for index in range(500):
            view.set_top_row(index)
            viewport.repaint()
            if index % 10 == 9:
                assert_none_kept(before, f"{index + 1} repaints")
    finally:
        gc.enable()
