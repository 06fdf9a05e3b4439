"""Document: the bytes of one open file as the user sees them, and who to tell when they change.

``read`` includes unsaved (private) edits, ``read_original`` is what is on disk. ``generation``
increases on every change so views can cache by it; listeners receive a ``Change``.
Outside changes (another program appending, truncating, rewriting or replacing the file) are
noticed by ``check_outside_change`` and turned into a Change carrying a message for the user.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass

from mmhex.core.mapping import FileKind, MappedFile, OpenMode


class ChangeKind(enum.Enum):
    EDIT = "edit"  # bytes in [start, end) changed by the user
    RELOAD = "reload"  # the file changed outside mmhex: any byte may differ, the size may too
    MODE = "mode"  # read-only <-> private edit


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    start: int = 0
    end: int = 0
    message: str = ""


Listener = Callable[[Change], None]


class Document:
    """One open file: size, bytes with and without edits, generation and change listeners."""

    def __init__(self, mapped: MappedFile, *, readonly: bool = False) -> None:
        self.mapped = mapped
        self.generation = 0
        self._reported_deleted = False
        self._listeners: list[Listener] = []
        # Why editing is impossible (None when it is allowed).
        self.readonly_reason: str | None = None
        if readonly:
            self.readonly_reason = "opened read-only"
        elif mapped.kind is FileKind.BLOCK_DEVICE:
            self.readonly_reason = "block devices open read-only"

    @classmethod
    def open(cls, path: str, *, readonly: bool = False, **mapping_options: int) -> Document:
        """Open ``path``; raises OSError/UnsupportedFileError (see errors.describe_error)."""
        return cls(MappedFile(path, OpenMode.READ_ONLY, **mapping_options), readonly=readonly)

    # ----------------------------------------------------------------- reading
    @property
    def path(self) -> str:
        return self.mapped.path

    @property
    def size(self) -> int:
        return self.mapped.size

    @property
    def mode(self) -> OpenMode:
        return self.mapped.mode

    def read(self, offset: int, length: int) -> bytes:
        """Bytes as edited (clipped at the end); never faults, see MappedFile.read."""
        return self.mapped.read(offset, length)

    def read_original(self, offset: int, length: int) -> bytes:
        """Bytes as on disk, without unsaved edits."""
        return self.mapped.read_original(offset, length)

    # ----------------------------------------------------------------- listeners
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, change: Change) -> None:
        """Bump the generation, then tell every listener."""
        self.generation += 1
        for listener in list(self._listeners):
            listener(change)

    # ----------------------------------------------------------------- outside changes
    def check_outside_change(self) -> Change | None:
        """Compare the path and the open file with what we last saw; re-map and report changes.

        Returns the Change that was broadcast, or None when nothing changed.
        """
        if self.mapped.closed:
            return None
        old_size = self.size
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        identity = self.mapped.identity
        if st is not None and (st.st_dev, st.st_ino) != (identity.device, identity.inode):
            return self._reopen_replaced()
        if not self.mapped.refresh():
            if st is None and not self._reported_deleted:
                self._reported_deleted = True
                return self._broadcast(
                    "The file was deleted or renamed by another program; showing the copy "
                    "that is still open."
                )
            return None
        new_size = self.size
        if new_size > old_size:
            return self._broadcast(
                f"The file grew from {old_size:,} to {new_size:,} bytes (changed outside mmhex)."
            )
        if new_size < old_size:
            return self._broadcast(
                f"The file was truncated from {old_size:,} to {new_size:,} bytes by another "
                "program."
            )
        return self._broadcast(
            "The file was modified by another program; showing its new contents."
        )

    def _broadcast(self, message: str) -> Change:
        change = Change(ChangeKind.RELOAD, 0, self.size, message)
        self.notify(change)
        return change

    def _reopen_replaced(self) -> Change:
        """The path now names another file (atomic replace): show that one."""
        old_size = self.size
        new = MappedFile(
            self.path,
            OpenMode.READ_ONLY,
            window_size=self.mapped.window_size,
            max_windows=self.mapped.max_windows,
        )
        self.mapped.close()
        self.mapped = new
        return self._broadcast(
            f"The file was replaced by another program ({old_size:,} → {new.size:,} bytes); "
            "showing the new file."
        )

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        self.mapped.close()
        self._listeners.clear()
