"""BackgroundTask: long work (saving) on a QThread, with progress, Cancel and a result signal.

The work is a plain function ``work(on_progress, cancel)`` from the core; it must not touch
widgets or the document's listeners. Its signals are emitted on the worker thread and, because
the task object lives on the GUI thread, arrive there queued: receivers update widgets safely.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal

from mmhex.core.progress import CancelToken

ProgressCallback = Callable[[int, int], None]
Work = Callable[[ProgressCallback, CancelToken], object]


class _Thread(QThread):
    """Runs the work once and reports through signals (emitted on the worker thread)."""

    progressed = Signal(object, object)  # done, total: 64-bit Python ints
    succeeded = Signal(object)  # the work's return value
    failed = Signal(object)  # the exception it raised (Cancelled included)

    def __init__(self, work: Work, token: CancelToken, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._token = token

    def run(self) -> None:
        try:
            result = self._work(self._report, self._token)
        except BaseException as exc:  # everything goes back to the GUI thread to be explained
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)

    def _report(self, done: int, total: int) -> None:
        self.progressed.emit(done, total)


class BackgroundTask(QObject):
    """One run of ``work`` on its own thread; ``finished`` follows succeeded or failed."""

    progressed = Signal(object, object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = CancelToken()
        self._thread = _Thread(work, self.token, self)
        self._thread.progressed.connect(self.progressed)
        self._thread.succeeded.connect(self._on_succeeded)
        self._thread.failed.connect(self._on_failed)
        self._done = False

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next progress report (it raises Cancelled)."""
        self.token.cancel()

    @property
    def running(self) -> bool:
        return not self._done

    def wait(self, milliseconds: int = -1) -> bool:
        """Block until the thread has ended (for shutdown and tests); True when it has."""
        if milliseconds < 0:
            return self._thread.wait()
        return self._thread.wait(milliseconds)

    def _on_succeeded(self, result: object) -> None:
        self._thread.wait()
        self._done = True
        self.succeeded.emit(result)
        self.finished.emit()

    def _on_failed(self, error: object) -> None:
        self._thread.wait()
        self._done = True
        self.failed.emit(error)
        self.finished.emit()


@contextlib.contextmanager
def collections_paused() -> Iterator[None]:
    """No automatic garbage collection while the block runs (a save); as it was afterwards.

    A full collection walks every live object: after 100,000 undo steps that is half a second,
    holding the GIL, so a collection set off by the allocations of planning a save froze the
    window even with the planning on a worker (7 of them in one save after 100,000 inserts:
    3.8 s of a 6.6 s save, 0.54 s the longest stall; paused: 3.0 s, 0.11 s). The save's own
    objects are freed by reference counting; cycles wait the few seconds until it ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
