"""An in-place save held half-way (the tail half-moved) while a test looks at the window."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PySide6.QtCore import QTimer

from mmhex.core import tail_move


def paused_tail_move(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, threading.Event, list[str]]:
    """``tail_move.save_in_place`` in 1 MiB chunks, stopped after the first chunk is written:
    ``paused`` is set then, and the save goes on once ``go`` is set. ``steps``: the
    checkpoints passed."""
    real = tail_move.save_in_place
    paused, go = threading.Event(), threading.Event()
    steps: list[str] = []

    def save_in_place(*args, **kwargs):
        def checkpoint(name: str) -> None:
            steps.append(name)
            if name == "chunk-written" and not paused.is_set():
                paused.set()
                assert go.wait(20)

        kwargs["checkpoint"] = checkpoint
        kwargs["chunk"] = 1 << 20  # several steps: paused with the tail half-moved
        return real(*args, **kwargs)

    monkeypatch.setattr(tail_move, "save_in_place", save_in_place)
    return paused, go, steps


def probe_when_paused(paused: threading.Event, go: threading.Event, probe: Callable[[], None]):
    """Run ``probe`` on the window's thread (its event loop turns during the save) once the
    save is paused, then let the save go on."""

    def poll() -> None:
        if not paused.is_set():
            QTimer.singleShot(5, poll)
            return
        try:
            probe()
        finally:
            go.set()

    QTimer.singleShot(0, poll)
