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

import contextlib
import enum
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from mmhex.core import journal, layout_save, retired, shift_save, tail_move
from mmhex.core import save as saving
from mmhex.core.edits import AnyEdit, Batch, Edit, EditLog, Splice
from mmhex.core.errors import MmhexError, SavingInProgressError
from mmhex.core.mapping import FileKind, MappedFile, OpenMode
from mmhex.core.piece_view import PieceScanView
from mmhex.core.pieces import ADD, FIRST_FILL, ORIGINAL, Piece, PieceTable
from mmhex.core.progress import CancelToken
from mmhex.core.sources import AddBuffer, fill_bytes, spill_folder

# An overwrite longer than this becomes a splice onto an add-buffer piece: its old bytes stay
# where they are (the file, a piece) instead of being copied into the undo history.
INLINE_OVERWRITE = 64 * 1024
# Up to this many bytes written over the file without moving any (a big paste or fill), a
# resized-layout save still goes through the journaled in-place save (patches held in memory).
IN_PLACE_PATCH_LIMIT = 256 * 1024 * 1024
# Keeping the undo history across an in-place re-laid-out save copies the old bytes it needs;
# past this the UI asks first whether to copy them or to drop the history.
HISTORY_COPY_ASK = 256 * 1024 * 1024
# At the saved state again (undo then redo), a document is re-based onto the file when its
# bytes that are not the file's own can be compared with the file for at most this much.
CLEAN_CHECK_LIMIT = 64 * 1024 * 1024
# After a copy-and-rename save, the history's old bytes up to this size are copied into the
# add-buffer; past it the old file stays open instead (no copy, but its blocks stay in use).
KEEP_OLD_FILE = 64 * 1024 * 1024
# The old bytes the history needs are copied into the add-buffer in runs of this size.
PRESERVE_CHUNK = 16 * 1024 * 1024


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
    # The size changed: every byte from ``start`` on moved (``end`` is the larger size).
    resized: bool = False
    # ``(offset, removed, inserted)`` of each insert/delete, in order: what moved where (for
    # bookmarks and other offsets that must follow their bytes).
    splices: tuple[tuple[int, int, int], ...] = ()


Listener = Callable[[Change], None]


@dataclass
class _KeptHistory:
    """What a re-laid-out save does for the undo history (see core/retired.py)."""

    history: list[AnyEdit]
    shown: list[retired.Segment]  # file bytes the history names and the document shows
    added: list[retired.Segment]  # added bytes the history names and the document shows
    changed: list[retired.Range]  # file bytes the history names and the document does not show
    copies: list[retired.Segment] | None = None  # made before an in-place save overwrote them


class _HistoryOnSave:
    """The undo history a save keeps usable, worked out on the save's own thread.

    ``Document._history_to_keep`` walks every step (100,000 steps: a fifth of a second and
    more), so ``run`` does it, not the thread that prepares the save (a window's). Nothing
    edits the document between prepare and finish (see PreparedSave), so the answer is the one
    prepare would have had; ``finish`` reads ``kept``.
    """

    def __init__(self, work: Callable[[], _KeptHistory | None]) -> None:
        self._work: Callable[[], _KeptHistory | None] | None = work
        self.kept: _KeptHistory | None = None

    def work_out(self) -> _KeptHistory | None:
        if self._work is not None:
            self.kept, self._work = self._work(), None
        return self.kept


class EditError(MmhexError):
    """An edit that cannot be made (not in edit mode, outside the file, ...); str is the reason."""


@dataclass(frozen=True)
class PreparedSave:
    """A save split at the thread boundary, so a UI can run the slow part in a worker.

    ``run(on_progress, cancel)`` touches only the file on disk (and values captured when the
    save was prepared; it also works out what the undo history needs, reading the unchanging
    piece table under its lock), so it may run on any thread; it raises what ``save`` raises
    and leaves the document as it was. ``finish(result)`` must then run on the document's own
    thread: it records that the disk holds the edits and tells the listeners. Do not edit in
    between.
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
        self.shift_recovery: shift_save.ShiftRecovery | None = None
        # The layout: while ``_layout`` is False the document is the whole file in order (any
        # overwrites live in its private pages) and every read goes straight to the mapping.
        # Inserts and deletes switch to the piece table over the file, the add-buffer and fills.
        self._fill_periods: dict[int, int] = {}
        self._patterns: dict[int, bytes] = {}
        self.table = PieceTable()
        self.table.fill_periods = self._fill_periods
        self._layout = False
        self.add = AddBuffer()
        self._lock = threading.RLock()
        # An in-place save that may move the file's bytes holds reads (see hold_reads): None
        # when not held, else the saving thread's id (0 until it starts), the one reader left.
        self._held_for: int | None = None
        self._batch_depth = 0
        self._pending: Change | None = None
        # A File ▸ New document: no file of its own until saved as one (see new_scratch).
        self.scratch = False
        self._scratch_path = ""
        # Undo across re-laid-out saves (core/retired.py): ``epoch`` counts those saves; the
        # save made in epoch e left ``_maps[e]`` (kept while the history has steps from e or
        # before), and an old file kept open for the history has a negative source id.
        self.epoch = 0
        self._maps: dict[int, retired.LayoutMap] = {}
        self._retired_files: dict[int, MappedFile] = {}

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
        shift_recovery = None
        if not readonly and recover:
            saving.remove_stale_temporaries_of(path)
        if not readonly and recover and shift_save.has_shift_journal(path):
            shift_recovery = shift_save.recover_shift(path)
        if tail_move.has_move_journal(path):
            moved = tail_move.recover_move(path) if recover and not readonly else None
            message = (
                moved.message
                if moved is not None
                else f"{path} has an interrupted in-place save (journal "
                f"{tail_move.move_journal_path(path)}): its bytes may be half-moved. Open it "
                "for editing or run `mmhex recover` on it: it finishes that save or, if the save "
                "had not started moving bytes, leaves the file as it was."
            )
            shift_recovery = shift_save.ShiftRecovery(
                moved is not None and moved.completed, message
            )
        if journal.has_journal(path):
            recovery = journal.recover(path) if recover and not readonly else journal.inspect(path)
            if recovery.action is journal.RecoveryAction.NOTHING:
                recovery = None  # a save by another process finished while recovery waited
        document = cls(MappedFile(path, OpenMode.READ_ONLY, **mapping_options), readonly=readonly)
        document.recovery = recovery
        document.shift_recovery = shift_recovery
        return document

    @classmethod
    def new_scratch(cls, name: str = "Untitled") -> Document:
        """File ▸ New: an empty document with no file of its own yet; Save asks where.

        Its bytes all live in the add-buffer (anonymous memory). It stands on an empty file in
        a private folder of the runtime (or cache) folder, so that everything that expects a
        path has one; ``close`` removes it.
        """
        folder = tempfile.mkdtemp(prefix="mmhex-new-", dir=spill_folder())
        path = os.path.join(folder, name)
        with open(path, "wb"):
            pass
        document = cls(MappedFile(path))
        document.scratch = True
        document._scratch_path = path
        document.enable_editing()
        return document

    # ----------------------------------------------------------------- reading
    @property
    def path(self) -> str:
        return self.mapped.path

    @property
    def size(self) -> int:
        return self.table.size if self._layout else self.mapped.size

    @property
    def layout_changed(self) -> bool:
        """Whether bytes were inserted or deleted (document offsets differ from file offsets)."""
        return self._layout

    @property
    def mode(self) -> OpenMode:
        return self.mapped.mode

    def read(self, offset: int, length: int) -> bytes:
        """Bytes as edited (clipped at the end); never faults, see MappedFile.read."""
        self._check_readable()
        if not self._layout:
            return self.mapped.read(offset, length)
        return self._read_pieces(offset, length, self.mapped.read)

    def read_original(self, offset: int, length: int) -> bytes:
        """Bytes as on disk, without unsaved edits (inserted bytes read as inserted)."""
        self._check_readable()
        if not self._layout:
            return self.mapped.read_original(offset, length)
        return self._read_pieces(offset, length, self.mapped.read_original)

    # ----------------------------------------------------------------- reads during a save
    @property
    def reads_held(self) -> bool:
        """Whether an in-place save that may move the file's bytes is under way: the private
        mapping shows every page not copied on write as the file, and the file's bytes are
        moving, so no one but the save reads until it ends (SavingInProgressError)."""
        return self._held_for is not None

    def _check_readable(self) -> None:
        held = self._held_for
        if held is not None and held != threading.get_ident():
            raise SavingInProgressError(self.path)

    def hold_reads(self) -> None:
        """Refuse reads from now until release_reads (the save's own thread excepted, see
        _reads_by_this_thread). Taken under the read lock: a read under way finishes first."""
        with self._lock:
            self._held_for = 0

    def _reads_by_this_thread(self) -> None:
        with self._lock:
            if self._held_for is not None:
                self._held_for = threading.get_ident()

    def release_reads(self) -> None:
        with self._lock:
            self._held_for = None

    def _file_with_edits(self, start: int, length: int) -> bytes:
        """The file's bytes by ``pread`` (page cache speed, never faults) with the logged
        overwrites laid over them: bulk scans of a re-laid-out document (core/piece_view.py)
        read this instead of copying the private pages through /proc/self/mem."""
        self._check_readable()
        data = self.mapped.read_original(start, length)
        if not self.edit_log.segments_in(start, start + length):
            return data  # no copy: most of a big scan is untouched file
        edited = bytearray(data)
        self.edit_log.overlay(start, edited)
        return bytes(edited)

    def _read_pieces(
        self, offset: int, length: int, read_file: Callable[[int, int], bytes]
    ) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be non-negative")
        with self._lock:
            self._check_readable()
            return b"".join(
                self._read_piece(piece, read_file)
                for _pos, piece in self.table.iter_range(offset, offset + length)
            )

    def _read_piece(self, piece: Piece, read_file: Callable[[int, int], bytes]) -> bytes:
        if piece.source == ORIGINAL:
            data = read_file(piece.start, piece.length)
            if len(data) < piece.length:
                # The file was truncated by another program under a moved piece.
                raise OSError(5, f"the file ends before offset {piece.start + piece.length:#x}")
            return data
        if piece.source == ADD:
            return self.add.read(piece.start, piece.length)
        if piece.source < 0:
            return self._retired_files[piece.source].read(piece.start, piece.length)
        return fill_bytes(self._patterns[piece.source], piece.start, piece.length)

    @property
    def scan_source(self) -> MappedFile:
        """What search and checksums walk: the mapping itself, or a view through the pieces."""
        self._check_readable()
        return PieceScanView(self) if self._layout else self.mapped

    def file_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The file range whose pages back document bytes ``[start, end)`` (for residency maps);
        None when every one of them was inserted (they live in anonymous memory)."""
        spans = [
            (piece.start, piece.start + piece.length)
            for _pos, piece in self.pieces_in(start, end)
            if piece.source == ORIGINAL
        ]
        if not spans:
            return None
        return spans[0][0], spans[-1][1]  # edits never reorder the file's bytes

    def fill_pattern(self, source: int) -> bytes:
        """The repeated pattern of a FILL piece's ``source`` (see core/piece_map.py)."""
        return self._patterns[source]

    def pieces_in(self, start: int, end: int) -> list[tuple[int, Piece]]:
        """``(document offset, piece)`` covering ``[start, end)`` (one piece when unedited)."""
        if not self._layout:
            end = min(end, self.mapped.size)
            return [(start, Piece(ORIGINAL, start, end - start))] if end > start else []
        with self._lock:
            return list(self.table.iter_range(start, end))

    # ----------------------------------------------------------------- listeners
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, change: Change) -> None:
        """Bump the generation, then tell every listener (once per batch, see ``batch``)."""
        if self._batch_depth and change.kind is ChangeKind.EDIT:
            pending = self._pending
            if pending is not None:
                change = Change(
                    ChangeKind.EDIT,
                    min(pending.start, change.start),
                    max(pending.end, change.end),
                    change.message or pending.message,
                    pending.resized or change.resized,
                    pending.splices + change.splices,
                )
            self._pending = change
            return
        self.generation += 1
        for listener in list(self._listeners):
            listener(change)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Edits inside the block notify listeners once, at its end, with the covering range.

        Replace all, a fill, a paste and their undo/redo would otherwise re-decode, re-lay out
        and repaint once per place.
        """
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth and self._pending is not None:
                change, self._pending = self._pending, None
                self.notify(change)

    # ----------------------------------------------------------------- outside changes
    def check_outside_change(self) -> Change | None:
        """Compare the path and the open file with what we last saw; re-map and report changes.

        Returns the Change that was broadcast, or None when nothing changed.
        """
        if self.mapped.closed or self.scratch:
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
        if not self.mapped.refresh() and self.mapped.size == old_size:
            if st is None and not self._reported_deleted:
                self._reported_deleted = True
                return self._broadcast(
                    "The file was deleted or renamed by another program; showing the copy "
                    "that is still open."
                )
            return None
        new_size = self.mapped.size
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
        self._last_seen_size = self.mapped.size
        if self.edit_log.modified:
            message = f"{message} {self._keep_edits_after_outside_change()}"
        change = Change(ChangeKind.RELOAD, 0, self.size, message)
        self.notify(change)
        return change

    def _map_path_again(self) -> MappedFile:
        """Map the file the path names now (it was replaced), in the same mode and windows."""
        new = self._map_like(self.path)
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
        old_size = self.mapped.size
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
        size = self.mapped.size
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
        return self.edit_log.modified or self._layout

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

    def write(self, offset: int, data: bytes) -> Edit | Splice:
        """Overwrite ``data`` at ``offset``; returns the edit (it inverts itself) for undo.

        Up to INLINE_OVERWRITE bytes this is an ``Edit`` holding the old bytes; a longer
        overwrite is a ``Splice`` onto an add-buffer piece, so its old bytes are never copied.
        """
        data = bytes(data)
        self._check_range(offset, len(data))
        if len(data) > INLINE_OVERWRITE or self._has_unwritable_piece(offset, len(data)):
            return self._splice(offset, len(data), [self._added(data)])
        old = self.read(offset, len(data))
        edit = Edit(offset, old, data)
        self._put(edit)
        return edit

    def _has_unwritable_piece(self, offset: int, length: int) -> bool:
        """Whether ``[offset, offset+length)`` shows a fill's or an old file's bytes.

        Those cannot be overwritten in place; an in-place ``Edit`` would have to give them a
        home in the add-buffer anew on every redo, somewhere else each time, while later
        splices in the history still name the first home (whose bytes an undo then changed).
        A splice onto new added bytes is exact under any undo and redo order.
        """
        if not self._layout:
            return False
        return any(
            piece.source >= FIRST_FILL or piece.source < 0
            for _, piece in self.pieces_in(offset, offset + length)
        )

    def fill(self, offset: int, length: int, pattern: bytes) -> Edit | Splice:
        """Overwrite ``length`` bytes with ``pattern`` repeated: a fill piece when large (O(1))."""
        self._check_range(offset, length)
        if length <= INLINE_OVERWRITE:
            return self.write(offset, fill_bytes(pattern, 0, length))
        return self._splice(offset, length, [self._fill_piece(pattern, length)])

    def insert(self, offset: int, data: bytes) -> Splice:
        """Insert ``data`` before byte ``offset`` (``offset == size`` appends): the file grows."""
        self._check_splice(offset, 0, len(data))
        return self._splice(offset, 0, [self._added(data)])

    def insert_fill(self, offset: int, length: int, pattern: bytes) -> Splice:
        """Insert ``length`` bytes of ``pattern`` repeated (stores nothing, any length)."""
        self._check_splice(offset, 0, length)
        return self._splice(offset, 0, [self._fill_piece(pattern, length)])

    def delete(self, offset: int, length: int) -> Splice:
        """Remove ``length`` bytes at ``offset``: the file shrinks."""
        self._check_splice(offset, length, 0)
        return self._splice(offset, length, [])

    def replace(self, offset: int, length: int, data: bytes) -> Splice:
        """Replace ``length`` bytes at ``offset`` by ``data`` of any length (Replace abc→abcd)."""
        self._check_splice(offset, length, len(data))
        return self._splice(offset, length, [self._added(data)] if data else [])

    def resize(self, new_size: int, pattern: bytes = b"\0") -> Splice:
        """Truncate to ``new_size``, or extend it with ``pattern`` repeated."""
        size = self.size
        if new_size < 0:
            raise EditError("A file cannot have a negative size.")
        if new_size == size:
            raise EditError(f"The file already has {size:,} bytes.")
        if new_size < size:
            return self.delete(new_size, size - new_size)
        return self.insert_fill(size, new_size - size, pattern)

    def apply(self, edit: AnyEdit) -> None:
        """Make ``edit`` (redo)."""
        if isinstance(edit, Batch):
            with self.batch():
                for part in edit.edits:
                    self.apply(part)
            return
        if isinstance(edit, Splice):
            self._check_splice(edit.offset, edit.removed_length, edit.inserted_length)
            self._splice(edit.offset, edit.removed_length, self._pieces_now(edit))
            return
        self._check_range(edit.offset, len(edit.new))
        # The bytes shown now, not edit.old, are what the log must treat as replaced.
        self._put(Edit(edit.offset, self.read(edit.offset, len(edit.new)), edit.new))

    def revert(self, edit: AnyEdit) -> None:
        """Undo ``edit``."""
        self.apply(edit.inverse())

    def revert_all(self) -> None:
        """Discard every unsaved edit: drop the private pages, the file shows through again."""
        ranges = self.dirty_ranges()
        old_size = self.size
        self.edit_log.clear()
        with self._lock:
            self._layout = False
        if self.editing:
            self.mapped.unpin_all()
            self.mapped.drop_windows(keep_pinned=False)
        if ranges or old_size != self.size:
            start = ranges[0][0] if ranges else min(old_size, self.size)
            end = max(old_size, self.size) if old_size != self.size else ranges[-1][1]
            self.notify(
                Change(
                    ChangeKind.EDIT,
                    start,
                    end,
                    "All unsaved edits were discarded.",
                    old_size != self.size,
                )
            )

    def dirty_ranges(self) -> list[tuple[int, int]]:
        """Byte ranges holding unsaved edits: sorted, disjoint, merged."""
        return self.dirty_ranges_in(0, self.size)

    def dirty_ranges_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """Unsaved ranges overlapping ``[start, end)``, clipped (to highlight visible rows).

        Inserted and filled bytes are unsaved as a whole; bytes of the file are unsaved where
        they were overwritten (the edit log, which counts in file offsets).
        """
        if not self._layout:
            return self.edit_log.dirty_ranges_in(start, end)
        found: list[tuple[int, int]] = []

        def add(lo: int, hi: int) -> None:
            if found and found[-1][1] == lo:
                found[-1] = (found[-1][0], hi)
            else:
                found.append((lo, hi))

        for pos, piece in self.pieces_in(start, end):
            if piece.source != ORIGINAL:
                add(pos, pos + piece.length)
                continue
            shift = pos - piece.start
            for lo, hi in self.edit_log.dirty_ranges_in(piece.start, piece.start + piece.length):
                add(lo + shift, hi + shift)
        return found

    @property
    def unsaved_bytes(self) -> int:
        """Bytes a revert would discard (overwritten plus inserted)."""
        return sum(hi - lo for lo, hi in self.dirty_ranges())

    def _check_editing(self) -> None:
        if not self.editing:
            if self.readonly_reason:
                raise EditError(f"This file cannot be edited: {self.readonly_reason}.")
            raise EditError("Editing is not enabled for this file.")

    def _check_range(self, offset: int, length: int) -> None:
        self._check_editing()
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

    def _check_splice(self, offset: int, remove: int, insert: int) -> None:
        self._check_editing()
        size = self.size
        if remove < 0 or insert < 0 or not (remove or insert):
            raise EditError("There are no bytes to insert or delete.")
        if offset < 0:
            raise EditError(f"Offset {offset} is before the start of the file.")
        if offset > size or offset + remove > size:
            raise EditError(
                f"[{offset:#x}, {offset + remove:#x}) is past the end of the file ({size:,} bytes)."
            )

    # ----------------------------------------------------------------- pieces
    def _added(self, data: bytes) -> Piece:
        return Piece(ADD, self.add.append(data), len(data))

    def _fill_piece(self, pattern: bytes, length: int) -> Piece:
        if not pattern:
            raise EditError("A fill needs at least one byte of pattern.")
        pattern = bytes(pattern)
        source = next((k for k, v in self._patterns.items() if v == pattern), None)
        if source is None:
            source = FIRST_FILL + len(self._patterns)
            self._patterns[source] = pattern
            self._fill_periods[source] = len(pattern)
        return Piece(source, 0, length)

    def _splice(self, offset: int, remove: int, insert: list[Piece]) -> Splice:
        """Replace ``remove`` bytes at ``offset`` by ``insert`` pieces; one Change."""
        with self._lock:
            old_size = self.size
            if not self._layout:
                self.table = PieceTable([Piece(ORIGINAL, 0, old_size)])
                self.table.fill_periods = self._fill_periods
                self._layout = True
            removed = self.table.splice(offset, remove, insert)
            new_size = self.table.size
            if new_size == self.mapped.size and (
                new_size == 0 or self.table.pieces_if_few() == [Piece(ORIGINAL, 0, new_size)]
            ):
                self._layout = False  # back to the file in order (an undo, or a same insert)
        inserted = sum(p.length for p in insert)
        resized = old_size != new_size
        end = max(old_size, new_size) if resized else offset + inserted
        self.notify(
            Change(
                ChangeKind.EDIT, offset, end, resized=resized, splices=((offset, remove, inserted),)
            )
        )
        return Splice(offset, tuple(removed), tuple(insert), self.epoch)

    def _put(self, edit: Edit) -> None:
        if not self._layout:
            self.mapped.write(edit.offset, edit.new)
            self.edit_log.record(edit)
        else:
            self._put_pieces(edit)
        self.notify(Change(ChangeKind.EDIT, edit.offset, edit.end))

    def _put_pieces(self, edit: Edit) -> None:
        """Overwrite through pieces: file bytes into private pages, added bytes in place."""
        with self._lock:
            for pos, piece in list(self.table.iter_range(edit.offset, edit.end)):
                if piece.source >= FIRST_FILL or piece.source < 0:
                    # Give a fill's or an old file's bytes a home first (same content: not an
                    # undo step); the history's pieces of them stay as they were.
                    piece = self._added(self._read_piece(piece, self.mapped.read))
                    self.table.splice(pos, piece.length, [piece])
                lo = pos - edit.offset
                chunk = edit.new[lo : lo + piece.length]
                if piece.source == ORIGINAL:
                    self.mapped.write(piece.start, chunk)
                    self.edit_log.record(Edit(piece.start, edit.old[lo : lo + piece.length], chunk))
                else:
                    self.add.write(piece.start, chunk)

    # ----------------------------------------------------------------- saving
    def save_blocker(self) -> str | None:
        """Why Save (in place) cannot work here, as a sentence; None when it may.

        A cheap pre-check for greying out Save; ``save`` itself reports every failure too.
        """
        if self.scratch:
            return "This new document has no file yet; choose where to save it."
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

    def plan_save(self, patches: list[tuple[int, bytes]] | None = None) -> saving.SavePlan:
        """The save in place that ``save`` would carry out (one fstat, nothing written)."""
        return saving.plan_save(
            self.path,
            self.edit_log.patches() if patches is None else patches,
            size=self.mapped.current_size(),
            expected=self._saved_identity,
        )

    def _unshifted_patches(self) -> list[tuple[int, bytes]] | None:
        """Pieces that moved nothing (a big paste or fill over the file's bytes) save as plain
        patches through the journaled in-place save; None when bytes moved or it is too big."""
        plan = self.plan_layout_save()
        if plan.moves or plan.final_size != plan.old_size or not plan.writes:
            return None
        if plan.written_bytes > IN_PLACE_PATCH_LIMIT:
            return None
        return [(lo, self.read(lo, hi - lo)) for lo, hi in plan.writes]

    def save(
        self,
        *,
        overwrite_outside_changes: bool = False,
        on_progress: saving.ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        checkpoint: journal.Checkpoint | None = None,
        history: Iterable[AnyEdit] | None = None,
    ) -> saving.SaveResult:
        """Write the edits into the file in place (journaled; cost follows the changed pages).

        ``history``: the undo steps that must stay usable (see prepare_save).

        Raises FileChangedOnDiskError when the file changed on disk since it was opened or last
        saved (ask the user, then call again with ``overwrite_outside_changes=True``), SaveError
        for everything else, Cancelled if ``cancel`` fired; in every failure case the file is
        unchanged and the edits are kept. Do not edit while a save runs in another thread.
        """
        job = self.prepare_save(
            overwrite_outside_changes=overwrite_outside_changes,
            checkpoint=checkpoint,
            history=history,
        )
        return job.finish(job.run(on_progress, cancel))

    def prepare_save(
        self,
        *,
        overwrite_outside_changes: bool = False,
        checkpoint: journal.Checkpoint | None = None,
        history: Iterable[AnyEdit] | None = None,
    ) -> PreparedSave:
        """``save`` split at the thread boundary (see PreparedSave). An in-place save of
        overwrites is planned in ``run`` (its planning errors raise there); one that moves bytes
        is planned here.

        ``history``: the undo steps to keep usable across a save that inserts or deletes bytes
        (None: the caller drops its history at such a save).
        """
        if not self.modified:
            empty = saving.SaveResult(self.path, 0, 0, 0.0)
            return PreparedSave(self.path, lambda _progress, _cancel: empty, lambda result: result)
        patches = self._unshifted_patches() if self._layout else None
        if self._layout and patches is None:
            return self._prepare_layout_save(
                self.path, overwrite_outside_changes, checkpoint, history
            )
        # Layout pieces saved as patches in place: the patches overwrite old bytes.
        relaid = self._layout
        kept = _HistoryOnSave(lambda: self._history_to_keep(history) if relaid else None)
        written: list[tuple[int, int]] = []  # the span the save writes, for finish

        def run(
            on_progress: saving.ProgressCallback | None, cancel: CancelToken | None
        ) -> saving.SaveResult:
            # Planned here, on the save's thread: sorting and grouping 100,000 scattered edits
            # takes a second, which a window's thread must not spend. The log's ranges may reach
            # past a truncated end (planning then refuses, saying so).
            ranges = self.dirty_ranges() if relaid else self.edit_log.dirty_ranges()
            written[:] = [(ranges[0][0], ranges[-1][1])]
            plan = self.plan_save(patches)
            self._preserve_history(kept.work_out(), cancel)
            return saving.execute(
                plan,
                overwrite_outside_changes=overwrite_outside_changes,
                on_progress=on_progress,
                cancel=cancel,
                checkpoint=checkpoint,
            )

        def finish(result: saving.SaveResult) -> saving.SaveResult:
            if relaid:
                self._retire_layout(kept.kept, None)
            self._after_save(*written[0], result.message)
            return result

        return PreparedSave(self.path, run, finish)

    def save_as(
        self,
        target: str,
        *,
        on_progress: saving.ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        history: Iterable[AnyEdit] | None = None,
    ) -> saving.SaveResult:
        """Write the file with every edit to ``target`` and continue with that file.

        Saving as the file itself is a save in place (never a truncating copy onto itself).
        """
        job = self.prepare_save_as(target, history=history)
        return job.finish(job.run(on_progress, cancel))

    def prepare_save_as(
        self, target: str, *, history: Iterable[AnyEdit] | None = None
    ) -> PreparedSave:
        """``save_as`` split at the thread boundary (see PreparedSave and prepare_save)."""
        target = os.path.realpath(target)
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        identity = self.mapped.identity
        if st is not None and (st.st_dev, st.st_ino) == (identity.device, identity.inode):
            return self.prepare_save(history=history)
        if self._layout:
            return self._prepare_layout_save(target, True, None, history)
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
            self._continue_with(target, 0, f"Saved as {target}.")
            return result

        return PreparedSave(target, run, finish)

    def plan_layout_save(self) -> layout_save.LayoutPlan:
        """What saving a resized/re-laid-out document writes (nothing is written here)."""
        return layout_save.plan_layout(
            self.pieces_in(0, self.size),
            self.edit_log.dirty_ranges_in,
            self.mapped.size,
            self.fill_pattern,
        )

    def _prepare_layout_save(
        self,
        target: str,
        overwrite_outside_changes: bool,
        checkpoint: journal.Checkpoint | None = None,
        history: Iterable[AnyEdit] | None = None,
    ) -> PreparedSave:
        """Save (in place or as) a document with inserted or deleted bytes: a new file renamed
        onto ``target``. The plan and every byte are taken now, on the document's thread."""
        kept = _HistoryOnSave(lambda: self._history_to_keep(history))
        target = os.path.realpath(target)
        plan = self.plan_layout_save()
        source = self.mapped
        st = os.fstat(source.fd)
        mode = st.st_mode if source.kind is FileKind.REGULAR else 0o644
        owner = (st.st_uid, st.st_gid) if source.kind is FileKind.REGULAR else None
        in_place = target == os.path.realpath(self.path)
        if in_place and not overwrite_outside_changes:
            layout_save.check_unchanged(self.path, self._saved_identity)
        reader = self.read
        size = self.size
        # One block-aligned insert or delete: the file system shifts the tail in place.
        shift = shift_save.shift_of(plan, st.st_blksize) if in_place else None
        expected = None if overwrite_outside_changes else self._saved_identity

        folder = os.path.dirname(target)
        # A save that may move the file's bytes under the private mapping holds every other
        # reader from now until the document maps the saved file (see reads_held).
        may_move = (
            in_place
            and source.kind is FileKind.REGULAR
            and (shift is not None or tail_move.prefer_in_place(plan, st, folder, plan.final_size))
        )

        def run(
            on_progress: saving.ProgressCallback | None, cancel: CancelToken | None
        ) -> saving.SaveResult:
            self._reads_by_this_thread()
            try:
                moved = run_held(on_progress, cancel)
            except BaseException:
                self.release_reads()  # rolled back (or the journal says how to recover)
                raise
            if not moved[1]:
                self.release_reads()  # copied and renamed: the mapped file did not change
            return moved[0]

        def run_held(
            on_progress: saving.ProgressCallback | None, cancel: CancelToken | None
        ) -> tuple[saving.SaveResult, bool]:
            kept.work_out()
            if shift is not None and source.kind is FileKind.REGULAR:
                self._preserve_history(kept.kept, cancel)  # the shift moves the old bytes
                done = shift_save.save_shift(
                    target, shift, reader, expected, on_progress=on_progress, cancel=cancel
                )
                if done is not None:
                    return done, True
            # Hard links, or too little space for a copy: move the tail inside the file.
            if (
                in_place
                and source.kind is FileKind.REGULAR
                and tail_move.prefer_in_place(plan, st, folder, plan.final_size)
            ):
                self._preserve_history(kept.kept, cancel)  # the move overwrites the old bytes
                return tail_move.save_in_place(
                    target,
                    plan,
                    reader,
                    expected,
                    on_progress=on_progress,
                    cancel=cancel,
                    checkpoint=checkpoint,
                ), True
            written = layout_save.write_layout(
                plan,
                source.fd,
                reader,
                target,
                mode=mode,
                owner=owner,
                check_before_rename=(
                    (lambda: layout_save.check_unchanged(target, self._saved_identity))
                    if in_place and not overwrite_outside_changes
                    else None
                ),
                on_progress=on_progress,
                cancel=cancel,
            )
            history_kept = kept.kept
            if (
                history_kept is not None
                and sum(hi - lo for lo, hi in history_kept.changed) <= KEEP_OLD_FILE
            ):
                # Renamed: the old bytes are still mapped. Few are needed: copy them, so the
                # old inode (the file's size on disk) is not held for them.
                self._preserve_history(history_kept, None)
            return written, False

        def finish(result: saving.SaveResult) -> saving.SaveResult:
            try:
                new = self._map_like(target)  # first: if this fails, nothing has changed here
                keep_old = self._retire_layout(kept.kept, source)
            finally:
                self.release_reads()
            self._continue_with(target, size, result.message, close_old=not keep_old, new=new)
            return result

        if may_move:
            self.hold_reads()
        return PreparedSave(target, run, finish)

    def _map_like(self, target: str) -> MappedFile:
        """``target`` mapped in the mode and windows of the file mapped now."""
        return MappedFile(
            target,
            self.mode,
            window_size=self.mapped.window_size,
            max_windows=self.mapped.max_windows,
        )

    def _continue_with(
        self,
        target: str,
        end: int,
        message: str,
        *,
        close_old: bool = True,
        new: MappedFile | None = None,
    ) -> None:
        """Map the file just written at ``target`` (or take ``new``) and go on editing it."""
        new = new or self._map_like(target)
        if close_old:
            self.mapped.close()
        self.mapped = new
        if self.readonly_reason == "block devices open read-only":
            self.readonly_reason = None  # the copy is a regular file
        self._forget_scratch()
        self._after_save(0, max(end, new.size), message)

    def _forget_scratch(self) -> None:
        """A scratch document saved as a real file (or closed): remove its stand-in file."""
        if not self.scratch:
            return
        self.scratch = False
        with contextlib.suppress(OSError):
            os.unlink(self._scratch_path)
            os.rmdir(os.path.dirname(self._scratch_path))

    def _after_save(self, start: int, end: int, message: str) -> None:
        """The disk now holds what is shown: drop the log and the private pages."""
        self.edit_log.clear()
        with self._lock:
            self._layout = False
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
        self._last_seen_size = self.mapped.size
        self._reported_replaced = False
        self.notify(Change(ChangeKind.SAVED, start, min(end, self.size), message))

    def recover_interrupted_save(self) -> journal.RecoveryOutcome:
        """Run recovery for a journal found at open (for a file opened read-only, on request)."""
        outcome = journal.recover(self.path)
        self.recovery = outcome
        self.check_outside_change()
        return outcome

    # ----------------------------------------------------------------- history across saves
    def _pieces_now(self, edit: Splice) -> list[Piece]:
        """``edit``'s inserted pieces in today's sources (translated if made before a
        re-laid-out save)."""
        pieces = [Piece(*p) for p in edit.inserted]
        for piece in pieces:
            if piece.source < 0 and piece.source not in self._retired_files:
                raise EditError(self._history_gone())
        try:
            return self._since(pieces, edit.epoch)
        except (KeyError, retired.TranslationError):
            raise EditError(self._history_gone()) from None

    def _since(self, pieces: list[Piece], epoch: int) -> list[Piece]:
        """Pieces named in layout ``epoch``, sent through the maps of every save since."""
        if epoch == self.epoch:
            return pieces
        return retired.through(pieces, [self._maps[e] for e in range(epoch, self.epoch)])

    @staticmethod
    def _history_gone() -> str:
        return (
            "this step was made before a save that inserted or deleted bytes, and the bytes it "
            "needs were not kept"
        )

    def _history_to_keep(
        self, history: Iterable[AnyEdit] | None, *, added: bool = True
    ) -> _KeptHistory | None:
        """Which file ranges ``history`` needs, split by whether a re-laid-out save of the
        document as it is now leaves them in place."""
        if history is None:
            return None
        steps = list(history)
        named: list[Piece] = []
        for splice in retired.splices_of(steps):
            pieces = [Piece(*p) for p in (*splice.removed, *splice.inserted)]
            with contextlib.suppress(KeyError, retired.TranslationError):
                named += self._since(pieces, splice.epoch)  # else: that step is lost already
        wanted = retired.ranges_by_source(named, (ORIGINAL, ADD) if added else (ORIGINAL,))
        if not any(wanted.values()):
            return _KeptHistory(steps, [], [], [])
        document = self.pieces_in(0, self.size)
        shown, changed = retired.cover(wanted[ORIGINAL], retired.shown_at(document, ORIGINAL))
        kept_added: list[retired.Segment] = []
        if added:
            kept_added, _gone = retired.cover(wanted[ADD], retired.shown_at(document, ADD))
        return _KeptHistory(steps, shown, kept_added, changed)

    def history_copy_bytes(self, history: Iterable[AnyEdit]) -> int:
        """At most how many bytes of the file Save would copy to keep ``history`` usable: the
        ranges it needs that the save moves or overwrites (0 for an overwrite-only save). A
        copy-and-rename save needing more than KEEP_OLD_FILE copies none: it keeps the old file
        open instead."""
        if not self._layout:
            return 0
        kept = self._history_to_keep(history, added=False)  # the file's bytes are enough here
        needed = sum(hi - lo for lo, hi in kept.changed) if kept else 0
        if needed > KEEP_OLD_FILE and not self._may_save_in_place():
            return 0
        return needed

    def _may_save_in_place(self) -> bool:
        """Whether Save (in place) of this re-laid-out document may move or overwrite the
        file's own bytes (patches, a fallocate shift, or the chunked tail move), as
        ``prepare_save`` chooses; False when it surely copies and renames."""
        plan = self.plan_layout_save()
        if not plan.moves and plan.final_size == plan.old_size:
            return True  # saved as patches in place
        try:
            st = os.fstat(self.mapped.fd)
        except OSError:
            return True
        if shift_save.shift_of(plan, st.st_blksize) is not None:
            return True
        folder = os.path.dirname(os.path.realpath(self.path))
        return tail_move.prefer_in_place(plan, st, folder, plan.final_size)

    def _preserve_history(self, kept: _KeptHistory | None, cancel: CancelToken | None) -> None:
        """Before an in-place save overwrites them: copy the old bytes the history needs into
        the add-buffer (cost: those bytes only). Runs on the save's thread."""
        if kept is None or kept.copies is not None:
            return
        copies: list[retired.Segment] = []
        for lo, hi in kept.changed:
            pos = lo
            while pos < hi:
                if cancel is not None:
                    cancel.check()
                n = min(PRESERVE_CHUNK, hi - pos)
                with self._lock:
                    at = self.add.append(self.mapped.read(pos, n))
                copies.append(retired.Segment(pos, pos + n, ADD, at))
                pos += n
        kept.copies = copies

    def _retire_layout(self, kept: _KeptHistory | None, old: MappedFile | None) -> bool:
        """A re-laid-out save is done: translate the old layout for the history; returns
        whether ``old`` (the file as it was, still mapped) must stay open for it."""
        epoch = self.epoch
        self.epoch += 1
        if kept is None:
            self._maps.clear()
            for mapped in self._retired_files.values():
                mapped.close()
            self._retired_files.clear()
            return False
        # Every byte shown is now the new file's byte at its offset; later edits change it
        # there, so the history must find it there too (not in the old file or the buffer).
        segments = list(kept.shown)
        keep_old = False
        if kept.copies is not None:
            segments += kept.copies
        elif kept.changed:
            # Copied and renamed: the old inode lives on while mapped; read the bytes there.
            if old is None:
                raise AssertionError("an in-place save must copy what the history needs first")
            source = -1 - epoch
            self._retired_files[source] = old
            segments += [retired.Segment(lo, hi, source, lo) for lo, hi in kept.changed]
            keep_old = True
        by_source = {ORIGINAL: retired.Translation(segments)}
        if kept.added:
            by_source[ADD] = retired.Translation(kept.added)
        self._maps[epoch] = retired.LayoutMap(by_source)
        self._release(kept.history, table=False)
        return keep_old

    @property
    def retired_files(self) -> int:
        """Old files kept open for the undo history (at most one per re-laid-out save)."""
        return len(self._retired_files)

    def release_history(self, history: Iterable[AnyEdit]) -> None:
        """The undo history is now ``history`` (steps were dropped, or it was cleared): forget
        the translations and close the old files that only dropped steps needed."""
        self._release(list(history), table=True)

    def _release(self, history: list[AnyEdit], *, table: bool) -> None:
        # A step from epoch e goes through the maps of e and every later save.
        oldest = min(retired.epochs_of(history), default=self.epoch)
        self._maps = {e: m for e, m in self._maps.items() if e >= oldest}
        if not self._retired_files:
            return
        needed = retired.sources_of(history)
        for layout in self._maps.values():
            needed |= layout.sources()
        if table and self._layout:
            with self._lock:
                needed |= {p.source for p in self.table.pieces() if p.source < 0}
        for source in [s for s in self._retired_files if s not in needed]:
            self._retired_files.pop(source).close()

    def back_at_saved_state(self) -> bool:
        """The history is back at the step saved last (undo, then redo): when the bytes shown
        are the file's, read the file straight again so the document is clean; returns whether
        it is. Compares only what may differ: pieces that are not the file's own bytes at their
        own offsets, and logged overwrites (up to CLEAN_CHECK_LIMIT bytes, else stays dirty).
        """
        with self._lock:
            if not self.modified:
                return True
            if self.size != self.mapped.size:
                return False
            checks: list[tuple[int, Piece]] = []
            for pos, piece in self.pieces_in(0, self.size):
                if piece.source == ORIGINAL and piece.start == pos:
                    checks += [
                        (lo, Piece(ORIGINAL, lo, hi - lo))
                        for lo, hi in self.edit_log.dirty_ranges_in(pos, pos + piece.length)
                    ]
                else:
                    checks.append((pos, piece))
            if sum(piece.length for _pos, piece in checks) > CLEAN_CHECK_LIMIT:
                return False
            for pos, piece in checks:
                if self._read_piece(piece, self.mapped.read) != self.mapped.read_original(
                    pos, piece.length
                ):
                    return False
            # Equal everywhere: overwrites logged on bytes no longer shown go with the pages.
            shaded = self.dirty_ranges()
            self.edit_log.clear()
            self._layout = False
            self.mapped.unpin_all()
            self.mapped.drop_windows(keep_pinned=False)
        if shaded:  # the bytes stay; only their unsaved shading goes
            self.notify(Change(ChangeKind.EDIT, shaded[0][0], shaded[-1][1]))
        return True

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        self.mapped.close()
        for mapped in self._retired_files.values():
            mapped.close()
        self._retired_files.clear()
        self._forget_scratch()
        self._listeners.clear()
