"""PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void Qt call.

The app then aborts with "Fatal Python error: none_dealloc" after a few thousand paints, so the
count of None must not fall across many update() calls and repaints (each paint makes dozens of
void calls: fillRect, setPen, drawText …). With the bug it falls by well over 10,000.
"""

from __future__ import annotations

import sys

ALLOWED_NOISE = 100  # unrelated code may drop a few references; the bug drops thousands


def test_none_refcount_survives_ten_thousand_updates(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    viewport = view.viewport()
    before = sys.getrefcount(None)
    for _ in range(10_000):
        viewport.update()
    for index in range(500):
        view.set_top_row(index)
        viewport.repaint()
    after = sys.getrefcount(None)
    assert after >= before - ALLOWED_NOISE, f"None lost {before - after} references"
