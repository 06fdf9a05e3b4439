"""Batch edits: listeners refresh once per event-loop turn, not once per changed range.

Replace all of 100,000 places used to reset the grid's model, re-lay it out and re-decode the
inspector 100,000 times (the window 21x slower than the core). The reference here is the
document's bytes and the count of refreshes each listener makes.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from mmhex.core.search import Match
from mmhex.ui.coalesce import Coalescer
from mmhex.ui.features import install_features
from mmhex.ui.panels import inspector_panel
from mmhex.ui.panels.inspector_panel import InspectorPanel
from mmhex.ui.panels.residency_panel import ResidencyPanel
from mmhex.ui.search.controller import SearchController

PLACES = 1_000


def test_a_coalescer_refreshes_once_per_turn(qtbot) -> None:
    calls: list[int] = []
    stale = Coalescer(lambda: calls.append(1))
    for _ in range(500):
        stale.schedule()
    assert calls == [] and stale.pending
    QApplication.processEvents()
    assert calls == [1] and not stale.pending
    QApplication.processEvents()
    assert calls == [1]  # nothing more without a new change
    stale.schedule()
    stale.flush()  # an owner that needs it fresh now
    QApplication.processEvents()
    assert calls == [1, 1]
    stale.schedule()
    stale.cancel()
    QApplication.processEvents()
    assert calls == [1, 1]


def test_replace_all_refreshes_each_listener_once(qtbot, window, questions, tmp_path, monkeypatch):
    install_features(window)
    path = tmp_path / "batch.bin"
    path.write_bytes(bytes(PLACES * 8))
    assert window.open_path(str(path)) is None
    from mmhex.ui.editing import EditController

    editor = window.findChild(EditController)
    assert editor.enable_editing()
    QApplication.processEvents()
    decodes: list[int] = []
    real_inspect = inspector_panel.inspect
    monkeypatch.setattr(
        inspector_panel, "inspect", lambda *a: decodes.append(1) or real_inspect(*a)
    )
    resets: list[int] = []
    window.view.model.modelReset.connect(lambda: resets.append(1))
    controller = window.findChild(SearchController)
    matches = [Match(index * 8, index * 8 + 2) for index in range(PLACES)]
    controller.replace_all_ready.emit(matches, b"\xca\xfe")
    # Same turn: the bytes and the undo step are there at once ...
    assert window.document.read(0, 16) == b"\xca\xfe" + bytes(6) + b"\xca\xfe" + bytes(6)
    assert editor.stack.count() == 1
    QApplication.processEvents()
    # ... and each listener refreshed once, showing the new bytes.
    assert len(resets) == 1, f"{len(resets)} model resets for one Replace all"
    assert len(decodes) == 1, f"{len(decodes)} inspector decodes for one Replace all"
    inspector = window.findChild(InspectorPanel)
    assert inspector.data[:2] == b"\xca\xfe"
    assert window.isWindowModified()
    assert window.action_builder.actions["file.save"].isEnabled()
    assert window.view.model.window_bytes()[8:10] == b"\xca\xfe"
    # Undo of the whole batch: as many reverts, again one refresh.
    window.action_builder.actions["edit.undo"].trigger()
    assert window.document.read(0, 16) == bytes(16)
    QApplication.processEvents()
    assert len(resets) == 2 and len(decodes) == 2
    assert inspector.data[:2] == b"\x00\x00" and not window.isWindowModified()
    window.findChild(ResidencyPanel).shutdown()
