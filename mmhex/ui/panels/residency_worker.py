"""Runs residency snapshots and actions on a small thread pool so scrolling never waits for them.

One refresh at a time (a tick that finds one running is skipped) and one action at a time;
results come back to the UI thread as queued signals. The pool is a Qt child of the worker, so
it is destroyed in the UI thread, never by a job dropping the last Python reference in a pool
thread (a pool destroyed from inside itself would wait for itself forever).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from mmhex.core.errors import describe_error
from mmhex.core.progress import Cancelled, CancelToken, Progress
from mmhex.core.residency import ActionResult, DocumentResidency, ResidencySnapshot

SnapshotRequest = dict[str, Any]


class ResidencyWorker(QObject):
    """Owns the threads; emits results in the thread that created it (the UI thread)."""

    snapshot_ready = Signal(object, object)  # DocumentResidency it came from, ResidencySnapshot
    refresh_failed = Signal(object, str)  # DocumentResidency, sentence
    action_finished = Signal(object)  # ActionResult
    action_failed = Signal(str)
    action_progress = Signal(object, object)  # done, total (64-bit)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self.refreshing = False
        self.acting = False
        self._token: CancelToken | None = None

    def refresh(self, tracker: DocumentResidency, request: SnapshotRequest) -> bool:
        """Start a snapshot unless one is running; False when skipped."""
        if self.refreshing:
            return False
        self.refreshing = True

        def job() -> None:
            try:
                snapshot: ResidencySnapshot = tracker.snapshot(**request)
            except Exception as exc:  # any failure becomes a sentence, never a dead thread
                self.refreshing = False
                self._emit(self.refresh_failed, tracker, describe_error(exc, tracker.path))
                return
            self.refreshing = False
            self._emit(self.snapshot_ready, tracker, snapshot)

        self._pool.start(job)
        return True

    def act(self, action: Callable[[Progress], ActionResult], total: int) -> bool:
        """Run one Touch/Evict/Lock/Unlock; ``action`` receives a Progress it may advance."""
        if self.acting:
            return False
        self.acting = True
        token = CancelToken()
        self._token = token
        progress = Progress(total, self.action_progress.emit, token)

        def job() -> None:
            try:
                result = action(progress)
            except Cancelled:
                self.acting = False
                self._emit(self.action_failed, "Cancelled.")
                return
            except Exception as exc:  # shown to the user as one sentence
                self.acting = False
                self._emit(self.action_failed, describe_error(exc))
                return
            self.acting = False
            self._emit(self.action_finished, result)

        self._pool.start(job)
        return True

    @staticmethod
    def _emit(signal: Any, *args: object) -> None:
        # RuntimeError: the panel is gone (its C++ side deleted) and nobody waits for the result.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)

    def cancel_action(self) -> None:
        if self._token is not None:
            self._token.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Wait for running jobs (tests, shutdown)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Cancel what can be cancelled and wait for the rest, so no thread outlives the panel."""
        self.cancel_action()
        self._pool.waitForDone()
