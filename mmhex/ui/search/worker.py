"""Long work (search, checksums) on a QThreadPool thread, reported back as Qt signals.

A Job runs ``work(progress, emit_batch)`` off the GUI thread: ``progress`` is the core Progress
(bytes done, cancel token), ``emit_batch`` streams partial results. The GUI thread only ever sees
signals, so the window stays responsive, and every failure arrives as one sentence: a file
truncated during the scan ends the job with a message, never a crash.

An *isolated* Job runs its work in a forked child process instead (searches: Python's ``re``
holds the GIL for as long as it backtracks, so a thread could neither be stopped nor let the
window run). The child sees the document as it was at the fork, unsaved edits included (private
mappings are copied on write); Cancel kills it at once, and a child that dies of a signal
(SIGBUS from a file truncated under it, a crash in a native engine) ends the job with a sentence
while the window and its edits live on.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, BinaryIO

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
        isolated: bool = False,
        fork_guard: Callable[[], AbstractContextManager[Any]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``isolated`` runs the work in a forked child; ``fork_guard()`` is entered before the
        fork and left after it in both processes (locks the work takes, fix-ups in the child)."""
        super().__init__(parent)
        self._work = work
        self.total = total
        self.path = path
        self.interval = progress_interval
        self.isolated = isolated and hasattr(os, "fork")
        self._fork_guard = fork_guard or contextlib.nullcontext
        self._child_lock = threading.Lock()
        self._child = 0  # pid of the running child, 0 when none
        self.token = CancelToken()
        self.running = False
        self.started_at = 0.0
        self.elapsed = 0.0

    def start(self, pool: QThreadPool | None = None) -> None:
        self.running = True
        _RUNNING.add(self)
        self.started_at = time.monotonic()
        (pool or QThreadPool.globalInstance()).start(_Runner(self))

    def cancel(self) -> None:
        """Stop the work: an isolated job's process is killed now; a thread's work stops at its
        next progress step (within one window of the file)."""
        self.token.cancel()
        with self._child_lock:
            if self._child:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._child, signal.SIGKILL)

    def _run(self) -> None:
        """Runs on the pool thread."""
        if self.isolated and self._run_isolated():
            return
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

    def _run_isolated(self) -> bool:
        """Run the work in a child; False if none could be started (run it in this thread)."""
        pid = -1
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return False
        try:
            with self._fork_guard():
                pid = os.fork()
        except BaseException:
            if pid == 0:
                os._exit(1)  # the child must never run on into the window's code
            os.close(read_fd)
            os.close(write_fd)
            return False  # no fork possible (memory, process limit, a source without a file)
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child_main(self._work, self.total, self.interval, self.path, write_fd)
        os.close(write_fd)
        with self._child_lock:
            self._child = pid
            if self.token.cancelled:
                os.kill(pid, signal.SIGKILL)
        outcome: tuple[str, Any] | None = None
        with os.fdopen(read_fd, "rb") as pipe:
            for kind, value in _messages(pipe):
                if kind == "progress":
                    self._report(*value)
                elif kind == "batch":
                    self.batch.emit(value)
                else:
                    # The last word: stop here rather than wait for end-of-file, which a child
                    # forked meanwhile by another tab (holding a copy of our pipe) would delay.
                    outcome = (kind, value)
                    break
        with self._child_lock:
            _pid, status = os.waitpid(pid, 0)
            self._child = 0
        self._end()
        if self.token.cancelled or (outcome is not None and outcome[0] == "cancelled"):
            self.cancelled.emit()
        elif outcome is None:
            self.failed.emit(_death_sentence(status, self.path))
        elif outcome[0] == "result":
            self.succeeded.emit(outcome[1])
        else:
            self.failed.emit(outcome[1])
        self.finished.emit()
        return True

    def _report(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started_at
        self.progressed.emit(done, total, done / elapsed if elapsed > 0 else 0.0)

    def _end(self) -> None:
        self.elapsed = time.monotonic() - self.started_at
        self.running = False
        _RUNNING.discard(self)


# The jobs under way (search and checksums): a save that moves a file's bytes stops those
# reading it first (stop_jobs_reading), so none reads bytes half-moved.
_RUNNING: weakref.WeakSet[Job] = weakref.WeakSet()


def stop_jobs_reading(path: str, wait: Callable[[], None], timeout: float = 10.0) -> int:
    """Cancel the running jobs over ``path`` and call ``wait`` (e.g. process events) until
    they have ended, at most ``timeout`` seconds; returns how many were stopped."""
    jobs = [job for job in list(_RUNNING) if job.running and job.path == path]
    for job in jobs:
        job.cancel()
    deadline = time.monotonic() + timeout
    while any(job.running for job in jobs) and time.monotonic() < deadline:
        wait()
        time.sleep(0.005)
    return len(jobs)


_HEADER = struct.Struct("<Q")


def _messages(pipe: BinaryIO):  # -> Iterator[tuple[str, Any]]
    """(kind, value) pairs from a child until it closes the pipe (or dies)."""
    while True:
        header = pipe.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        body = pipe.read(_HEADER.unpack(header)[0])
        try:
            yield pickle.loads(body)
        except Exception:  # a message cut short by the child's death
            return


def _child_main(work: Work, total: int, interval: float, path: str | None, fd: int) -> None:
    """The forked child: run the work, send what it reports, and leave without cleanup (the
    parent's Qt objects, threads and files are not ours to tear down)."""
    status = 1
    try:
        gc.disable()  # collecting copies of the window's objects could run Qt destructors
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        pipe = os.fdopen(fd, "wb")

        def send(kind: str, value: Any) -> None:
            body = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
            pipe.write(_HEADER.pack(len(body)) + body)
            pipe.flush()

        progress = Progress(total, lambda done, all_: send("progress", (done, all_)),
                            CancelToken(), interval=interval)  # fmt: skip
        try:
            result = work(progress, lambda batch: send("batch", batch))
        except Cancelled:
            send("cancelled", None)
        except Exception as exc:  # every failure becomes a sentence, never a traceback
            send("error", describe_error(exc, path))
        else:
            send("result", result)
        status = 0
    finally:
        os._exit(status)


def _death_sentence(status: int, path: str | None) -> str:
    """What to tell the user when the search process died without a word."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        if number == signal.SIGBUS:
            text = (
                "The search stopped: the file was truncated by another program while it was "
                "being read (SIGBUS in the search process); the window is unaffected."
            )
        else:
            text = f"The search process crashed ({name}); the window and its edits are unaffected."
    else:
        text = "The search process ended unexpectedly; the window and its edits are unaffected."
    return f"{path}: {text}" if path else text


class _Runner(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job  # keeps the Job alive until it has finished
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job._run()
