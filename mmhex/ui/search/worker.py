"""Long work (search, checksums) on a QThreadPool thread, reported back as Qt signals.

A Job runs ``work(progress, emit_batch)`` off the GUI thread: ``progress`` is the core Progress
(bytes done, cancel token), ``emit_batch`` streams partial results. The GUI thread only ever sees
signals, so the window stays responsive, and every failure arrives as one sentence: a file
truncated during the scan ends the job with a message, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from mmhex.core.errors import describe_error
from mmhex.core.progress import Cancelled, CancelToken, Progress, time_left

Work = Callable[[Progress, Callable[[Any], None]], Any]


def format_rate(bytes_per_second: float) -> str:
    """'1.4 GiB/s', '820 MiB/s', '12 KiB/s'."""
    value = float(bytes_per_second)
    for unit in ("B/s", "KiB/s", "MiB/s", "GiB/s"):
        if value < 1024 or unit == "GiB/s":
            return f"{value:.0f} {unit}" if value >= 100 or unit == "B/s" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB/s"  # pragma: no cover - the loop always returns


def format_progress(done: int, total: int, rate: float) -> str:
    """'37% · 1.2 GiB/s · 0:42 left': what a long scan shows beside its bar."""
    left = time_left(done, total, rate)
    return f"{done / max(total, 1):.0%} · {format_rate(rate)}" + (f" · {left}" if left else "")


class Job(QObject):
    """One piece of background work; connect to the signals, then ``start()``."""

    # 64-bit values travel as `object` (an int Signal would cut them to 32 bits).
    progressed = Signal(object, object, float)  # done, total, bytes per second
    batch = Signal(object)  # partial results, as emit_batch was called
    succeeded = Signal(object)  # the work's return value
    failed = Signal(str)  # one sentence for the user
    cancelled = Signal()
    finished = Signal()  # after succeeded, failed or cancelled

    def __init__(
        self,
        work: Work,
        total: int,
        *,
        path: str | None = None,
        progress_interval: float = 0.1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._work = work
        self.total = total
        self.path = path
        self.interval = progress_interval
        self.token = CancelToken()
        self.running = False
        self.started_at = 0.0
        self.elapsed = 0.0

    def start(self, pool: QThreadPool | None = None) -> None:
        self.running = True
        self.started_at = time.monotonic()
        (pool or QThreadPool.globalInstance()).start(_Runner(self))

    def cancel(self) -> None:
        """Ask the work to stop at its next progress step (within one window of the file)."""
        self.token.cancel()

    def _run(self) -> None:
        """Runs on the pool thread."""
        progress = Progress(self.total, self._report, self.token, interval=self.interval)
        try:
            result = self._work(progress, self.batch.emit)
        except Cancelled:
            self._end()
            self.cancelled.emit()
        except Exception as exc:  # every failure becomes a sentence, never a traceback
            self._end()
            self.failed.emit(describe_error(exc, self.path))
        else:
            self._end()
            self.succeeded.emit(result)
        self.finished.emit()

    def _report(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started_at
        self.progressed.emit(done, total, done / elapsed if elapsed > 0 else 0.0)

    def _end(self) -> None:
        self.elapsed = time.monotonic() - self.started_at
        self.running = False


class _Runner(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job  # keeps the Job alive until it has finished
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job._run()
