"""Document: the bytes of one open file as the user sees them, and who to tell when they change.

``read`` includes unsaved (private) edits, ``read_original`` is what is on disk. ``generation``
increases on every change so views can cache by it; listeners receive a ``Change``.
Outside changes (another program appending, truncating, rewriting or replacing the file) are
noticed by ``check_outside_change`` and turned into a Change carrying a message for the user.

Editing (``enable_editing``) re-maps the file MAP_PRIVATE: ``write``/``apply``/``revert`` change
private copy-on-write pages and record every change in ``edit_log``, the source of truth for
``save`` (journaled, in place) and ``save_as``. The file on disk is untouched until then.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass

from mmhex.core import journal
from mmhex.core import save as saving
from mmhex.core.edits import Edit, EditLog
from mmhex.core.errors import MmhexError
from mmhex.core.mapping import FileKind, MappedFile, OpenMode
from mmhex.core.progress import CancelToken


class ChangeKind(enum.Enum):
    EDIT = "edit"  # bytes in [start, end) changed by the user
    RELOAD = "reload"  # the file changed outside mmhex: any byte may differ, the size may too
    MODE = "mode"  # read-only <-> private edit
    SAVED = "saved"  # the file on disk now holds what is shown; [start, end) was written


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    start: int = 0
    end: int = 0
    message: str = ""


Listener = Callable[[Change], None]


class EditError(MmhexError):
    """An edit that cannot be made (not in edit mode, outside the file, ...); str is the reason."""


@dataclass(frozen=True)
class PreparedSave:
    """A save split at the thread boundary, so a UI can run the slow part in a worker.

    ``run(on_progress, cancel)`` touches only the file on disk (and values captured when the
    save was prepared), so it may run on any thread; it raises what ``save`` raises and leaves
    the document as it was. ``finish(result)`` must then run on the document's own thread: it
    records that the disk holds the edits and tells the listeners. Do not edit in between.
    """

    path: str  # the file written
    run: Callable[[saving.ProgressCallback | None, CancelToken | None], saving.SaveResult]
    finish: Callable[[saving.SaveResult], saving.SaveResult]


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
        # Net effect of every edit since the last save; the private pages only display it.
        self.edit_log = EditLog()
        # The file as it was when shown/saved last: saving warns if the disk no longer matches.
        self._saved_identity = mapped.identity
        self._last_seen_size = mapped.size
        self._reported_replaced = False
        # What opening found of an interrupted earlier save (None: there was none).
        self.recovery: journal.RecoveryOutcome | None = None

    @classmethod
    def open(
        cls, path: str, *, readonly: bool = False, recover: bool = True, **mapping_options: int
    ) -> Document:
        """Open ``path``; raises OSError/UnsupportedFileError (see errors.describe_error).

        A journal left by an interrupted save is dealt with first (rolled back, or kept if the
        save had completed) unless the file is opened read-only or ``recover`` is False: then it
        is only reported. Either way ``document.recovery`` holds the outcome and its message.
        """
        recovery = None
        if journal.has_journal(path):
            recovery = journal.recover(path) if recover and not readonly else journal.inspect(path)
            if recovery.action is journal.RecoveryAction.NOTHING:
                recovery = None  # a save by another process finished while recovery waited
        document = cls(MappedFile(path, OpenMode.READ_ONLY, **mapping_options), readonly=readonly)
        document.recovery = recovery
        return document

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
        # A read that met a truncated end already refreshed the mapping: compare with the size
        # listeners were last told about, not the mapping's.
        old_size = self._last_seen_size
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        identity = self.mapped.identity
        if st is not None and (st.st_dev, st.st_ino) != (identity.device, identity.inode):
            return self._reopen_replaced()
        if not self.mapped.refresh() and self.size == old_size:
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
        self._last_seen_size = self.size
        if self.edit_log.modified:
            message = f"{message} {self._keep_edits_after_outside_change()}"
        change = Change(ChangeKind.RELOAD, 0, self.size, message)
        self.notify(change)
        return change

    def _map_path_again(self) -> MappedFile:
        """Map the file the path names now (it was replaced), in the same mode and windows."""
        new = MappedFile(
            self.path,
            self.mode,
            window_size=self.mapped.window_size,
            max_windows=self.mapped.max_windows,
        )
        self.mapped.close()
        self.mapped = new
        return new

    def _reopen_replaced(self) -> Change | None:
        """The path now names another file (atomic replace): show that one.

        With unsaved edits the file being edited stays open instead (it still exists while we
        hold it): the edits belong to it, Save asks before overwriting the new file, and
        Save As keeps every edit.
        """
        if self.edit_log.modified:
            if self._reported_replaced:
                return None
            self._reported_replaced = True
            change = Change(
                ChangeKind.RELOAD,
                0,
                self.size,
                "The file was replaced by another program. Your unsaved edits are kept on the "
                "version you were editing, which stays open; Save asks before overwriting the "
                "new file, and Save As writes your version elsewhere.",
            )
            self.notify(change)
            return change
        old_size = self.size
        new = self._map_path_again()
        self._saved_identity = new.identity
        return self._broadcast(
            f"The file was replaced by another program ({old_size:,} → {new.size:,} bytes); "
            "showing the new file."
        )

    def _keep_edits_after_outside_change(self) -> str:
        """Put the logged edits back into the private pages; say what happened to them.

        The kernel drops private pages past a new end; if the file grew back, they would show
        the other program's bytes. The log still has every typed byte.
        """
        size = self.size
        beyond = 0
        for segment in self.edit_log.segments():
            if segment.end > size:
                beyond += segment.end - max(segment.start, size)
            if segment.start < size:
                upto = min(segment.end, size) - segment.start
                try:
                    self.mapped.write(segment.start, memoryview(segment.current)[:upto])
                except (OSError, ValueError):
                    beyond += upto  # raced with another truncation; the log still has them
        if beyond:
            return (
                f"{beyond:,} edited byte{'s' if beyond != 1 else ''} now lie past the end of "
                "the file: they are kept, and Save As writes every edit (Save in place cannot)."
            )
        return "Your unsaved edits are kept."

    # ----------------------------------------------------------------- editing
    @property
    def editing(self) -> bool:
        """Whether edits are possible now (the file is mapped privately, copy-on-write)."""
        return self.mapped.mode is OpenMode.PRIVATE

    @property
    def modified(self) -> bool:
        """Some byte differs from the file as last saved (undoing to that state makes it clean)."""
        return self.edit_log.modified

    def enable_editing(self) -> None:
        """Re-map the file MAP_PRIVATE so edits change private pages, never the file.

        Raises EditError with the reason when the document is read-only.
        """
        if self.readonly_reason:
            raise EditError(f"This file cannot be edited: {self.readonly_reason}.")
        if self.editing:
            return
        # The edits will be made against what is on disk now: tell listeners if that changed.
        self.check_outside_change()
        self.mapped.set_mode(OpenMode.PRIVATE)
        self._saved_identity = self.mapped.identity
        self.notify(
            Change(
                ChangeKind.MODE,
                0,
                self.size,
                "Editing enabled: changes stay in memory until you save.",
            )
        )

    def disable_editing(self) -> None:
        """Back to read-only mapping; refused (EditError) while there are unsaved edits."""
        if not self.editing:
            return
        if self.modified:
            raise EditError(
                "There are unsaved edits: save or revert them before leaving edit mode."
            )
        self.mapped.set_mode(OpenMode.READ_ONLY)
        self.notify(Change(ChangeKind.MODE, 0, self.size, "Read-only: editing disabled."))

    def write(self, offset: int, data: bytes) -> Edit:
        """Overwrite ``data`` at ``offset``; returns the Edit (with the old bytes) for undo."""
        data = bytes(data)
        self._check_range(offset, len(data))
        old = self.read(offset, len(data))
        edit = Edit(offset, old, data)
        self._put(edit)
        return edit

    def apply(self, edit: Edit) -> None:
        """Write ``edit.new`` at ``edit.offset`` (redo)."""
        self._check_range(edit.offset, len(edit.new))
        # The bytes shown now, not edit.old, are what the log must treat as replaced.
        self._put(Edit(edit.offset, self.read(edit.offset, len(edit.new)), edit.new))

    def revert(self, edit: Edit) -> None:
        """Write ``edit.old`` back (undo)."""
        self.apply(edit.inverse())

    def revert_all(self) -> None:
        """Discard every unsaved edit: drop the private pages, the file shows through again."""
        ranges = self.edit_log.dirty_ranges()
        self.edit_log.clear()
        if self.editing:
            self.mapped.unpin_all()
            self.mapped.drop_windows(keep_pinned=False)
        if ranges:
            self.notify(
                Change(
                    ChangeKind.EDIT,
                    ranges[0][0],
                    min(ranges[-1][1], self.size),
                    "All unsaved edits were discarded.",
                )
            )

    def dirty_ranges(self) -> list[tuple[int, int]]:
        """Byte ranges holding unsaved edits: sorted, disjoint, merged."""
        return self.edit_log.dirty_ranges()

    def dirty_ranges_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """Unsaved ranges overlapping ``[start, end)``, clipped (to highlight visible rows)."""
        return self.edit_log.dirty_ranges_in(start, end)

    def _check_range(self, offset: int, length: int) -> None:
        if not self.editing:
            if self.readonly_reason:
                raise EditError(f"This file cannot be edited: {self.readonly_reason}.")
            raise EditError("Editing is not enabled for this file.")
        size = self.size
        if length <= 0:
            raise EditError("There are no bytes to write.")
        if offset < 0:
            raise EditError(f"Offset {offset} is before the start of the file.")
        if offset >= size:
            raise EditError(
                f"Offset {offset:#x} is past the end of the file ({size:,} bytes, last offset "
                f"{max(size - 1, 0):#x})."
            )
        if offset + length > size:
            raise EditError(
                f"Writing {length:,} bytes at {offset:#x} would run past the end of the file "
                f"({size:,} bytes); edits overwrite and never change the size."
            )

    def _put(self, edit: Edit) -> None:
        self.mapped.write(edit.offset, edit.new)
        self.edit_log.record(edit)
        self.notify(Change(ChangeKind.EDIT, edit.offset, edit.end))

    # ----------------------------------------------------------------- saving
    def save_blocker(self) -> str | None:
        """Why Save (in place) cannot work here, as a sentence; None when it may.

        A cheap pre-check for greying out Save; ``save`` itself reports every failure too.
        """
        if self.readonly_reason:
            return f"This file cannot be saved in place: {self.readonly_reason}."
        try:
            if os.statvfs(self.path).f_flag & os.ST_RDONLY:
                return "The file is on a read-only file system; use Save As."
        except OSError:
            return "The file no longer exists at its path; use Save As."
        if not os.access(self.path, os.W_OK):
            return "You do not have permission to write this file; use Save As."
        return None

    def plan_save(self) -> saving.SavePlan:
        """The save in place that ``save`` would carry out (one fstat, nothing written)."""
        return saving.plan_save(
            self.path,
            self.edit_log.patches(),
            size=self.mapped.current_size(),
            expected=self._saved_identity,
        )

    def save(
        self,
        *,
        overwrite_outside_changes: bool = False,
        on_progress: saving.ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        checkpoint: journal.Checkpoint | None = None,
    ) -> saving.SaveResult:
        """Write the edits into the file in place (journaled; cost follows the changed pages).

        Raises FileChangedOnDiskError when the file changed on disk since it was opened or last
        saved (ask the user, then call again with ``overwrite_outside_changes=True``), SaveError
        for everything else, Cancelled if ``cancel`` fired; in every failure case the file is
        unchanged and the edits are kept. Do not edit while a save runs in another thread.
        """
        job = self.prepare_save(
            overwrite_outside_changes=overwrite_outside_changes, checkpoint=checkpoint
        )
        return job.finish(job.run(on_progress, cancel))

    def prepare_save(
        self,
        *,
        overwrite_outside_changes: bool = False,
        checkpoint: journal.Checkpoint | None = None,
    ) -> PreparedSave:
        """``save`` split at the thread boundary (see PreparedSave); planning errors raise here."""
        if not self.modified:
            empty = saving.SaveResult(self.path, 0, 0, 0.0)
            return PreparedSave(self.path, lambda _progress, _cancel: empty, lambda result: result)
        ranges = self.edit_log.dirty_ranges()
        plan = self.plan_save()

        def run(
            on_progress: saving.ProgressCallback | None, cancel: CancelToken | None
        ) -> saving.SaveResult:
            return saving.execute(
                plan,
                overwrite_outside_changes=overwrite_outside_changes,
                on_progress=on_progress,
                cancel=cancel,
                checkpoint=checkpoint,
            )

        def finish(result: saving.SaveResult) -> saving.SaveResult:
            self._after_save(ranges[0][0], ranges[-1][1], result.message)
            return result

        return PreparedSave(self.path, run, finish)

    def save_as(
        self,
        target: str,
        *,
        on_progress: saving.ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> saving.SaveResult:
        """Write the file with every edit to ``target`` and continue with that file.

        Saving as the file itself is a save in place (never a truncating copy onto itself).
        """
        job = self.prepare_save_as(target)
        return job.finish(job.run(on_progress, cancel))

    def prepare_save_as(self, target: str) -> PreparedSave:
        """``save_as`` split at the thread boundary (see PreparedSave)."""
        target = os.path.realpath(target)
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        identity = self.mapped.identity
        if st is not None and (st.st_dev, st.st_ino) == (identity.device, identity.inode):
            return self.prepare_save()
        source = self.mapped
        source_mode = os.fstat(source.fd).st_mode
        mode = source_mode if source.kind is FileKind.REGULAR else 0o644
        patches = self.edit_log.patches()

        def run(
            on_progress: saving.ProgressCallback | None, cancel: CancelToken | None
        ) -> saving.SaveResult:
            return saving.save_copy(
                source.fd,
                source.current_size(),
                target,
                patches,
                mode=mode,
                on_progress=on_progress,
                cancel=cancel,
            )

        def finish(result: saving.SaveResult) -> saving.SaveResult:
            new = MappedFile(
                target,
                self.mode,
                window_size=self.mapped.window_size,
                max_windows=self.mapped.max_windows,
            )
            self.mapped.close()
            self.mapped = new
            if self.readonly_reason == "block devices open read-only":
                self.readonly_reason = None  # the copy is a regular file
            self._after_save(0, new.size, f"Saved as {target}.")
            return result

        return PreparedSave(target, run, finish)

    def _after_save(self, start: int, end: int, message: str) -> None:
        """The disk now holds what is shown: drop the log and the private pages."""
        self.edit_log.clear()
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        identity = self.mapped.identity
        if st is not None and (st.st_dev, st.st_ino) != (identity.device, identity.inode):
            # Saved over a replacement of the file (the user chose to): show what is there now.
            self._map_path_again()
        self.mapped.refresh()
        self.mapped.unpin_all()
        self.mapped.drop_windows(keep_pinned=False)
        self._saved_identity = self.mapped.identity
        self._last_seen_size = self.size
        self._reported_replaced = False
        self.notify(Change(ChangeKind.SAVED, start, min(end, self.size), message))

    def recover_interrupted_save(self) -> journal.RecoveryOutcome:
        """Run recovery for a journal found at open (for a file opened read-only, on request)."""
        outcome = journal.recover(self.path)
        self.recovery = outcome
        self.check_outside_change()
        return outcome

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        self.mapped.close()
        self._listeners.clear()
