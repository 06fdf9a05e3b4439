"""FileWatcher: says when the open file may have changed outside mmhex; never reads it.

QFileSystemWatcher fires within milliseconds of another process's write, truncate or rename,
but forgets the path after an atomic replace (the inode it watched is gone), so the path is
re-added, and while it is missing its folder is watched until it reappears. A cheap periodic
poll (while the window is visible) catches what inotify cannot see, such as writes through
another process's shared mapping. The owner answers ``check_requested`` by calling
``Document.check_outside_change()``, which compares sizes and mtimes.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

POLL_INTERVAL_MS = 1000
COALESCE_MS = 15  # several inotify events from one write become one check


class FileWatcher(QObject):
    check_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path: str | None = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_file_changed)
        self._watcher.directoryChanged.connect(self._on_directory_changed)
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MS)
        self._coalesce.timeout.connect(self.check_requested)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_INTERVAL_MS)
        self._poll.timeout.connect(self.check_requested)

    @property
    def path(self) -> str | None:
        return self._path

    def watched_paths(self) -> list[str]:
        return self._watcher.files() + self._watcher.directories()

    def watch(self, path: str | None) -> None:
        """Watch ``path`` (None stops watching)."""
        self._clear()
        self._path = os.path.abspath(path) if path else None
        self._rearm()

    def set_polling(self, enabled: bool) -> None:
        """Poll once a second (only while someone can see the result)."""
        if enabled and self._path:
            self._poll.start()
        else:
            self._poll.stop()

    def _clear(self) -> None:
        watched = self.watched_paths()
        if watched:
            self._watcher.removePaths(watched)

    def _rearm(self) -> None:
        """Watch the file if it exists, else its folder so that we see it come back."""
        if self._path is None:
            return
        if os.path.exists(self._path):
            if self._path not in self._watcher.files():
                self._watcher.addPath(self._path)
            folder = os.path.dirname(self._path)
            if folder in self._watcher.directories():
                self._watcher.removePath(folder)
        else:
            folder = os.path.dirname(self._path)
            if os.path.isdir(folder) and folder not in self._watcher.directories():
                self._watcher.addPath(folder)

    def _on_file_changed(self, _path: str) -> None:
        self._rearm()  # an atomic replace or delete dropped the path from the watcher
        self._schedule_check()

    def _on_directory_changed(self, _path: str) -> None:
        if self._path is not None and os.path.exists(self._path):
            self._rearm()
            self._schedule_check()

    def _schedule_check(self) -> None:
        # Not restarted while pending: a file that changes non-stop is still checked every
        # COALESCE_MS instead of never.
        if not self._coalesce.isActive():
            self._coalesce.start()
