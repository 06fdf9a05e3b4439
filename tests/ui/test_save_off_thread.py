"""Save leaves the slow planning to worker threads: the window's thread never runs it.

After 100,000 inserted bytes, planning the save (every piece), working out the undo history it
keeps (every step) and planning an overwrite save (every patch) each took seconds on the window's
thread. Recorded here by thread, with the saved file and undo across the save checked. And no
automatic garbage collection runs meanwhile: a full one over a long session's objects holds the
GIL for half a second, whichever thread set it off.
"""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from mmhex.core import save as saving
from mmhex.core.document import Document
from tests.ui.editing_helpers import open_for_editing

SLOW = [
    (Document, "plan_layout_save"),
    (Document, "_history_to_keep"),
    (Document, "history_copy_bytes"),
    (saving, "plan_save"),
]


@pytest.fixture
def threads_of(monkeypatch) -> dict[str, set[int]]:
    """Which threads ran each slow planning function (and "gc": whether collections were on)."""
    seen: dict[str, set] = {}
    for owner, name in SLOW:
        real = getattr(owner, name)

        def recorded(*args, _real=real, _name=name, **kwargs):
            seen.setdefault(_name, set()).add(threading.get_ident())
            seen.setdefault("gc", set()).add(gc.isenabled())
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, recorded)
    return seen


@pytest.mark.parametrize("insert", [False, True])
def test_the_window_thread_plans_nothing_at_save(
    window, editor, questions, tmp_path, threads_of, insert: bool
) -> None:
    path = tmp_path / "steps.bin"
    original = bytes(range(256)) * 16
    path.write_bytes(original)
    model = open_for_editing(window, editor, path)
    if insert:
        editor.toggle_insert_mode()
    for step in range(30):
        QTest.keyClick(window.view, "5")
        QTest.keyClick(window.view, "a")
        QTest.keyClick(window.view, Qt.Key.Key_Right)
        at = 2 * step  # each step: a byte typed, the next one stepped over
        if insert:
            model[at:at] = b"\x5a"
        else:
            model[at] = 0x5A
    assert gc.isenabled()
    assert editor.save()
    assert path.read_bytes() == bytes(model)
    assert threads_of.pop("gc") == {False} and gc.isenabled()  # paused, then back on
    main = threading.main_thread().ident
    planned = {name for name, threads in threads_of.items() if main in threads}
    assert planned == set(), f"planned on the window's thread: {sorted(planned)}"
    expected = {"_history_to_keep", "plan_layout_save"} if insert else {"plan_save"}
    assert expected <= set(threads_of)
    while editor.stack.canUndo():
        editor.undo()
    assert window.document.read(0, len(original) + 1) == original


def test_a_save_leaves_collections_off_if_they_were_off(
    window, editor, questions, tmp_path
) -> None:
    path = tmp_path / "off.bin"
    path.write_bytes(bytes(64))
    open_for_editing(window, editor, path)
    QTest.keyClick(window.view, "7")
    gc.disable()
    try:
        assert editor.save()
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert path.read_bytes()[:1] == b"\x70"
