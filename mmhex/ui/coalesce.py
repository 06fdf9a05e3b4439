"""One refresh per event-loop turn, however many document changes arrive in it.

A batch edit (Replace all of 100,000 places) notifies listeners once per place; a listener that
re-decoded, re-laid out or reset its model each time made the window 20x slower than the core.
Listeners instead mark themselves stale here and refresh once, from a zero-timer, when control
returns to the event loop (before the next paint, as a zero-timer fires before queued paints).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Coalescer(QObject):
    """Calls ``refresh`` once at the next event-loop turn after any number of ``schedule()``."""

    def __init__(self, refresh: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._refresh = refresh
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)

    @property
    def pending(self) -> bool:
        return self._pending

    def schedule(self) -> None:
        """Mark stale; cheap enough to call once per changed byte range (a flag test)."""
        if not self._pending:
            self._pending = True
            self._timer.start()

    def flush(self) -> None:
        """Refresh now if stale (also what the timer calls); nothing when already fresh."""
        if self._pending:
            self._pending = False
            self._timer.stop()
            self._refresh()

    def cancel(self) -> None:
        """Forget a pending refresh (the thing it would refresh has just been refreshed)."""
        self._pending = False
        self._timer.stop()
