"""Rollback journal: the original bytes of every range a save is about to overwrite.

A save writes the journal beside the file (``.NAME.mmhex-journal``, O_EXCL, mode 0600), fsyncs it
and its folder, and only then touches the file; when the file is synced it marks the journal
complete and removes it. So a journal found later says exactly what to do:

- it is incomplete or its checksum is wrong: the crash came while writing it, before the file was
  touched; the file is unchanged and the journal is removed;
- it is valid and pending: the file may be half written; the original bytes go back (rollback);
- it is marked complete: the file has all the new bytes; the journal is removed.

This module never imports Qt and never raises for a bad journal: recovery returns an outcome
with one sentence for the user.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from mmhex.core.errors import MmhexError, describe_errno
from mmhex.core.mapping import FileIdentity

JOURNAL_SUFFIX = ".mmhex-journal"
MAGIC = b"MMHEXJNL"
VERSION = 1
PENDING = b"P"
COMPLETE = b"C"
# magic, status, version, padding: 16 bytes. The status byte (offset 8) is the only byte written
# after the journal is sealed, and the checksum does not cover it.
_PREFIX = struct.Struct("<8scB6x")
STATUS_OFFSET = 8
# device, inode, size, mtime_ns of the file before the save; number of ranges
_HEADER = struct.Struct("<QQQqQ")
_RANGE = struct.Struct("<QQ")  # offset, length; followed by the original bytes
_DIGEST_SIZE = hashlib.sha256().digest_size
# Original bytes are written in chunks of about this size (each write is a point a crash can hit).
_WRITE_CHUNK = 1 << 20

Checkpoint = Callable[[str], None]


def no_checkpoint(_name: str) -> None:
    """Production saves have no fault-injection points."""


def journal_path(path: str) -> str:
    """Where the journal for ``path`` lives: beside it, hidden, named after it."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}{JOURNAL_SUFFIX}")


def fsync_directory(path: str) -> None:
    """Make a created, renamed or removed directory entry durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalError(MmhexError):
    """A journal file that cannot be used; ``incomplete`` when a crash cut it short."""

    def __init__(self, sentence: str, *, incomplete: bool) -> None:
        super().__init__(sentence)
        self.incomplete = incomplete


@dataclass(frozen=True)
class JournalRange:
    offset: int
    original: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.original)


@dataclass(frozen=True)
class Journal:
    """A parsed, checksum-verified journal."""

    path: str
    identity: FileIdentity  # the file right before the interrupted save
    ranges: tuple[JournalRange, ...]
    complete: bool

    @property
    def restored_bytes(self) -> int:
        return sum(len(r.original) for r in self.ranges)


# --------------------------------------------------------------------------- writing
class JournalWriter:
    """Writes one journal: ``create``, ``add`` each range, ``seal``; later ``mark_complete`` and
    ``remove`` (or ``abandon`` if the save stops before the file was touched)."""

    def __init__(self, target: str, identity: FileIdentity, checkpoint: Checkpoint) -> None:
        self.target = os.path.abspath(target)
        self.path = journal_path(self.target)
        self.identity = identity
        self._checkpoint = checkpoint
        self._fd = -1
        self._digest = hashlib.sha256()
        self._pending = bytearray()
        self._ranges: list[tuple[int, int]] = []
        self._encoded: list[bytes] = []
        self.size = 0

    def create(self, range_count: int) -> None:
        """Create the file exclusively (an existing journal means an unfinished earlier save)."""
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.fchmod(self._fd, 0o600)  # whatever the umask: original bytes may be private
        self._checkpoint("journal-created")
        header = _HEADER.pack(
            self.identity.device,
            self.identity.inode,
            self.identity.size,
            self.identity.mtime_ns,
            range_count,
        )
        self._write(_PREFIX.pack(MAGIC, PENDING, VERSION), checksummed=False)
        self._write(header)
        self._flush()
        self._checkpoint("journal-header")

    def add(self, offset: int, original: bytes) -> None:
        self._write(_RANGE.pack(offset, len(original)))
        self._write(original)
        if len(self._pending) >= _WRITE_CHUNK:
            self._flush()
            self._checkpoint("journal-ranges")

    def seal(self) -> None:
        """Write the checksum, then make the journal and its directory entry durable."""
        self._flush()
        self._checkpoint("journal-ranges-written")
        self._write_all(self._digest.digest())
        self._checkpoint("journal-checksum")
        os.fsync(self._fd)
        self._checkpoint("journal-fsynced")
        fsync_directory(os.path.dirname(self.path))
        self._checkpoint("journal-dir-fsynced")

    def mark_complete(self) -> None:
        """Record that the file now holds every new byte (a one-byte write cannot tear).

        Not synced on its own: the removal right after is made durable by the directory fsync,
        and if power fails before that and the mark is lost, recovery rolls back to the old
        bytes, which is still exactly one of the two allowed outcomes.
        """
        os.pwrite(self._fd, COMPLETE, STATUS_OFFSET)
        self._checkpoint("journal-complete")

    def remove(self) -> None:
        self._close()
        os.unlink(self.path)
        self._checkpoint("journal-removed")
        fsync_directory(os.path.dirname(self.path))
        self._checkpoint("journal-removal-fsynced")

    def abandon(self) -> None:
        """Delete a journal whose save stopped before the file was touched (errors ignored)."""
        created = self._fd >= 0
        self._close()
        if created:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def _write(self, data: bytes, *, checksummed: bool = True) -> None:
        if checksummed:
            self._digest.update(data)
        self._pending += data

    def _flush(self) -> None:
        if self._pending:
            self._write_all(bytes(self._pending))
            self._pending.clear()

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, describe_errno(errno.ENOSPC))
            view = view[written:]
            self.size += written

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# --------------------------------------------------------------------------- reading
def read_journal(path: str) -> Journal:
    """Parse and verify the journal at ``path``; JournalError says why it cannot be used."""
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < _PREFIX.size:
        if MAGIC.startswith(data[: len(MAGIC)]):
            raise JournalError("the journal was cut short while being written", incomplete=True)
        raise JournalError("the journal file is not an mmhex journal", incomplete=False)
    magic, status, version = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise JournalError("the journal file is not an mmhex journal", incomplete=False)
    if version != VERSION:
        raise JournalError(f"the journal has an unknown version ({version})", incomplete=False)
    if status not in (PENDING, COMPLETE):
        raise JournalError("the journal's status byte is damaged", incomplete=False)
    body = memoryview(data)[_PREFIX.size :]
    if len(body) < _HEADER.size + _DIGEST_SIZE:
        raise JournalError("the journal was cut short while being written", incomplete=True)
    content, digest = body[:-_DIGEST_SIZE], bytes(body[-_DIGEST_SIZE:])
    if hashlib.sha256(content).digest() != digest:
        raise JournalError(
            "the journal's checksum does not match (it was cut short while being written)",
            incomplete=True,
        )
    device, inode, size, mtime_ns, count = _HEADER.unpack_from(content)
    pos = _HEADER.size
    ranges: list[JournalRange] = []
    for _ in range(count):
        if pos + _RANGE.size > len(content):
            raise JournalError("the journal's ranges are inconsistent", incomplete=False)
        offset, length = _RANGE.unpack_from(content, pos)
        pos += _RANGE.size
        if pos + length > len(content):
            raise JournalError("the journal's ranges are inconsistent", incomplete=False)
        ranges.append(JournalRange(offset, bytes(content[pos : pos + length])))
        pos += length
    if pos != len(content):
        raise JournalError("the journal's ranges are inconsistent", incomplete=False)
    identity = FileIdentity(device, inode, size, mtime_ns)
    return Journal(path, identity, tuple(ranges), status == COMPLETE)


# --------------------------------------------------------------------------- recovery
class RecoveryAction(enum.Enum):
    NOTHING = "nothing to recover"
    ROLLED_BACK = "rolled back to the contents before the interrupted save"
    KEPT_NEW = "the interrupted save had finished; new contents kept"
    DISCARDED_INCOMPLETE = "the save stopped before touching the file; incomplete journal removed"
    PENDING = "an interrupted save awaits recovery"
    FAILED = "recovery is not possible now"


@dataclass(frozen=True)
class RecoveryOutcome:
    """What recovery found and did, with the sentence to show the user."""

    path: str
    action: RecoveryAction
    message: str
    journal: str

    @property
    def ok(self) -> bool:
        """The file is consistent (old or new) and no journal is left over."""
        return self.action not in (RecoveryAction.PENDING, RecoveryAction.FAILED)


def has_journal(path: str) -> bool:
    return os.path.lexists(journal_path(path))


def inspect(path: str) -> RecoveryOutcome:
    """Say what ``recover`` would do, changing nothing (for a file opened read-only)."""
    jpath = journal_path(path)
    if not os.path.lexists(jpath):
        return RecoveryOutcome(path, RecoveryAction.NOTHING, "", jpath)
    return RecoveryOutcome(
        path,
        RecoveryAction.PENDING,
        f"{path}: an earlier save was interrupted (journal {jpath}); the file may be partly "
        f"written until it is recovered: open it for editing or run `mmhex recover {path}`.",
        jpath,
    )


def recover(path: str) -> RecoveryOutcome:
    """Finish an interrupted save of ``path``: roll it back, or keep it if it had completed."""
    path = os.path.abspath(path)
    jpath = journal_path(path)
    if not os.path.lexists(jpath):
        return RecoveryOutcome(
            path, RecoveryAction.NOTHING, f"{path}: no interrupted save to recover.", jpath
        )
    try:
        journal = read_journal(jpath)
    except JournalError as exc:
        if not exc.incomplete:
            return _failed(path, jpath, f"{exc}; it was left in place")
        return _remove_journal(
            path,
            jpath,
            RecoveryAction.DISCARDED_INCOMPLETE,
            f"{path}: an interrupted save stopped while writing its journal, before the file "
            "was touched; the file is unchanged and the incomplete journal was removed.",
        )
    except OSError as exc:
        return _failed(path, jpath, f"the journal cannot be read ({describe_errno(exc.errno)})")
    if journal.complete:
        return _remove_journal(
            path,
            jpath,
            RecoveryAction.KEPT_NEW,
            f"{path}: the interrupted save had finished writing; the file keeps the new "
            "contents and the leftover journal was removed.",
        )
    return _roll_back(path, journal)


def roll_back_into(
    fd: int, journal_ranges: list[JournalRange] | tuple[JournalRange, ...], mtime_ns: int
) -> None:
    """Write the original bytes back, verify them, and restore the modification time.

    With the old mtime too, a rolled-back file is indistinguishable from one never touched, so
    nothing (mmhex's own change detection included) mistakes it for someone else's change.
    """
    for item in journal_ranges:
        view = memoryview(item.original)
        pos = 0
        while pos < len(view):
            written = os.pwrite(fd, view[pos:], item.offset + pos)
            if written <= 0:
                raise OSError(errno.EIO, describe_errno(errno.EIO))
            pos += written
    os.fsync(fd)
    for item in journal_ranges:
        if os.pread(fd, len(item.original), item.offset) != item.original:
            raise OSError(errno.EIO, "the restored bytes read back differently")
    os.utime(fd, ns=(os.fstat(fd).st_atime_ns, mtime_ns))
    os.fsync(fd)


def _roll_back(path: str, journal: Journal) -> RecoveryOutcome:
    try:
        st = os.stat(path)
    except OSError as exc:
        return _failed(
            path, journal.path, f"the file cannot be found ({describe_errno(exc.errno)})"
        )
    if (st.st_dev, st.st_ino) != (journal.identity.device, journal.identity.inode):
        return _failed(
            path,
            journal.path,
            "the journal belongs to a different file (this path was replaced after the "
            "interrupted save), so nothing was changed and the journal was left in place",
        )
    if st.st_size != journal.identity.size:
        return _failed(
            path,
            journal.path,
            f"the file's size changed after the interrupted save ({journal.identity.size:,} → "
            f"{st.st_size:,} bytes), so rolling back could damage it; nothing was changed and "
            "the journal was left in place",
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return _failed(
            path, journal.path, f"it cannot be opened for writing ({describe_errno(exc.errno)})"
        )
    try:
        roll_back_into(fd, journal.ranges, journal.identity.mtime_ns)
    except OSError as exc:
        return _failed(path, journal.path, f"writing it failed ({describe_errno(exc.errno)})")
    finally:
        os.close(fd)
    count = len(journal.ranges)
    return _remove_journal(
        path,
        journal.path,
        RecoveryAction.ROLLED_BACK,
        f"{path}: an interrupted save was rolled back; the file has exactly its contents from "
        f"before that save ({journal.restored_bytes:,} bytes restored in {count:,} "
        f"range{'s' if count != 1 else ''}).",
    )


def _remove_journal(path: str, jpath: str, action: RecoveryAction, message: str) -> RecoveryOutcome:
    try:
        os.unlink(jpath)
        fsync_directory(os.path.dirname(jpath))
    except FileNotFoundError:
        pass
    except OSError as exc:
        return _failed(
            path, jpath, f"the journal could not be removed ({describe_errno(exc.errno)})"
        )
    return RecoveryOutcome(path, action, message, jpath)


def _failed(path: str, jpath: str, reason: str) -> RecoveryOutcome:
    return RecoveryOutcome(
        path,
        RecoveryAction.FAILED,
        f"{path}: an interrupted save cannot be recovered now: {reason} (journal {jpath}).",
        jpath,
    )
