"""Progress and cancellation as plain objects; the UI adapts them to signals and a Cancel button."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mmhex.core.record import factory, record  # not dataclasses: `mmhex find`'s start-up


class Cancelled(Exception):
    """Raised inside long work when the user pressed Cancel."""


@record
class CancelToken:
    _event: threading.Event = factory(threading.Event)

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@record
class Progress:
    """Reports ``done`` of ``total`` units (bytes) to a callback at most ``interval`` s apart."""

    total: int
    callback: Callable[[int, int], None] | None = None
    token: CancelToken = factory(CancelToken)
    interval: float = 0.05
    done: int = 0
    started: float = factory(time.monotonic)
    _last: float = 0.0

    def advance(self, amount: int) -> None:
        """Count ``amount`` more units; raises Cancelled if the user cancelled."""
        self.done += amount
        self.token.check()
        now = time.monotonic()
        if self.callback is not None and (
            now - self._last >= self.interval or self.done >= self.total
        ):
            self._last = now
            self.callback(self.done, self.total)

    @property
    def rate(self) -> float:
        """Units per second so far."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


def time_left(done: int, total: int, rate: float) -> str:
    """``"0:42 left"`` at ``rate`` units per second (empty until there is a rate to go by)."""
    if rate <= 0 or done <= 0 or done >= total:
        return ""
    seconds = int((total - done) / rate + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}") + " left"
