"""Rollback journal: the original bytes of every range a save is about to overwrite.

A save takes the file's save lock (``flock``, held until it is done), writes the journal beside
the *real* file, named after its device and inode (``.mmhex-DEV-INODE.mmhex-journal``, O_EXCL,
mode 0600: every name of the file finds it, see journal_place), fsyncs it and its folder, and only
then touches the file; when the file is synced it marks the journal complete and removes it. So a
journal found later says exactly what to do:

- it is cut short (no checksum yet): the crash came while writing it, before the file was
  touched; if the file still holds the recorded original bytes, the journal is removed;
- it is whole, valid and pending: the file may be half written; the original bytes go back;
- it is marked complete: the file has all the new bytes; the journal is removed;
- it is whole but its checksum fails, or it is not ours: it is kept and reported, never used.

Nothing is read from a journal before ``trusted_journal_bytes`` accepted it (a regular file, not
a link, owned by the caller or the file's owner, mode 0600, one link, bounded size), and nothing
is done while another process holds the save lock. This module never imports Qt and never raises
for a bad journal: recovery returns an outcome with one sentence for the user.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import hashlib
import os
import stat
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from mmhex.core.errors import MmhexError, describe_errno
from mmhex.core.journal_place import NAME_MAX as NAME_MAX  # re-exported for the savers
from mmhex.core.journal_place import (
    JournalPlace,
    forget_journal,
    journal_location,
    locate_journal,
)
from mmhex.core.journal_place import short_name as short_name
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


# How long recovery waits for a live save by another process before saying so.
RECOVERY_LOCK_WAIT = 2.0


def journal_path(path: str, *, writing: os.stat_result | None = None) -> str:
    """Where the journal for ``path`` lives: named after the real file's device and inode
    (see journal_place: every hard link and symbolic link to it finds the same journal)."""
    return journal_location(path, JOURNAL_SUFFIX, writing=writing)


def lock_for_saving(fd: int, wait: float, check: Callable[[], None] | None = None) -> bool:
    """Take the save lock of the open file ``fd`` (``flock`` exclusive), waiting up to ``wait``
    seconds; False if another process kept holding it.

    The lock lives as long as the open file description: closing ``fd`` (or dying) drops it,
    so a crashed save never leaves it behind. ``check`` runs between attempts (e.g. to cancel).
    On a file system without ``flock`` the save proceeds unlocked rather than not at all.
    """
    deadline = time.monotonic() + wait
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError as exc:
            # No flock here (or, on NFS, only for files open for writing): go on unlocked.
            if exc.errno in (
                errno.ENOLCK,
                errno.EOPNOTSUPP,
                errno.EINVAL,
                errno.ENOSYS,
                errno.EBADF,
            ):
                return True
            raise
        if time.monotonic() >= deadline:
            return False
        if check is not None:
            check()
        time.sleep(delay)
        delay = min(2 * delay, 0.02)


def unlink_durably(jpath: str) -> None:
    """Remove a finished save's journal (if still there) and make the removal durable: the
    fallocate-shift and tail-move saves end with it."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(jpath)
    fsync_directory(os.path.dirname(jpath))


def fsync_directory(path: str) -> None:
    """Make a created, renamed or removed directory entry durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalProblem(enum.Enum):
    """Why a journal cannot be used as it is."""

    UNTRUSTED = "not ours"  # not a regular file, wrong owner/mode/links, too large: never read
    INCOMPLETE = "cut short"  # no checksum yet: the save never touched the file
    DAMAGED = "damaged"  # whole, but the checksum or the ranges are wrong: keep it
    FOREIGN = "not an mmhex journal"


class JournalError(MmhexError):
    """A journal file that cannot be used; ``problem`` says which kind (see JournalProblem).

    For a journal cut short, ``partial`` holds what was written of it (identity and the ranges
    that are whole), so recovery can check that the file really was left untouched.
    """

    def __init__(
        self, sentence: str, problem: JournalProblem, partial: Journal | None = None
    ) -> None:
        super().__init__(sentence)
        self.problem = problem
        self.partial = partial

    @property
    def incomplete(self) -> bool:
        return self.problem is JournalProblem.INCOMPLETE


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

    def __init__(
        self,
        target: str,
        identity: FileIdentity,
        checkpoint: Checkpoint,
        st: os.stat_result | None = None,
    ) -> None:
        """``st``: the fstat of the file being saved (held locked), whose device and inode name
        the journal; without it the path is stat'ed (a path that does not exist has only its
        name to go by)."""
        self.target = os.path.realpath(target)
        if st is None:
            with contextlib.suppress(OSError):
                st = os.stat(self.target)
        self.path = journal_path(self.target, writing=st)
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
        self._fd = os.open(
            self.path,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
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

    def close(self) -> None:
        """Stop writing but keep the journal on disk (it holds bytes the file no longer has)."""
        self._close()

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


# --------------------------------------------------------------------------- trust
# A journal's fixed bytes: prefix, header and checksum; each range adds 16 bytes and its data.
_FIXED_SIZE = _PREFIX.size + _HEADER.size + _DIGEST_SIZE
_CUT_SHORT = "the journal was cut short while being written"
_NOT_OURS = "the journal file is not an mmhex journal"


def max_journal_size(file_size: int) -> int:
    """The largest journal a save of a ``file_size``-byte file writes: its ranges lie inside the
    file, do not overlap and hold at least one byte, so at most 17 journal bytes per file byte."""
    return _FIXED_SIZE + (_RANGE.size + 1) * max(0, file_size)


def _kind_of(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _user_name(uid: int) -> str:
    import pwd  # only when a journal is refused

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _untrusted(reason: str) -> JournalError:
    return JournalError(f"the journal is not trusted: {reason}", JournalProblem.UNTRUSTED)


def open_trusted(jpath: str, *, owner: int | None = None) -> tuple[int, os.stat_result]:
    """Open a journal (read-only) only if a save of ours could have written it: a regular file
    (never a link: O_NOFOLLOW; never a FIFO or device, which could block or never end: checked
    before opening, and opened O_NONBLOCK anyway), owned by the caller or by ``owner`` (the
    file's owner, who could write the file itself), mode exactly 0600, one hard link. Anything
    else raises JournalError (UNTRUSTED) naming the reason, before a byte of it is read; OSError
    if it cannot be opened at all. The caller closes the descriptor."""
    before = os.lstat(jpath)
    if not stat.S_ISREG(before.st_mode):
        raise _untrusted(f"it is {_kind_of(before.st_mode)}, not a regular file")
    try:
        fd = os.open(
            jpath, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _untrusted("it was replaced by a symbolic link while being checked") from exc
        raise
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(st.st_mode):
            raise _untrusted("it was replaced while being checked")
        allowed = {os.geteuid()} | ({owner} if owner is not None else set())
        if st.st_uid not in allowed:
            raise _untrusted(
                f"it belongs to {_user_name(st.st_uid)}, neither to you nor to the file's owner"
            )
        if stat.S_IMODE(st.st_mode) != 0o600:
            raise _untrusted(f"its permissions are {stat.S_IMODE(st.st_mode):04o}, not 0600")
        if st.st_nlink != 1:
            raise _untrusted(f"it has {st.st_nlink} hard links, a journal has one")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_trusted(
    jpath: str, *, owner: int | None = None, file_size: int | None = None
) -> tuple[bytes, os.stat_result]:
    """The journal's bytes and status, read only if a save of ours could have written it.

    The checks of ``open_trusted``, and: no larger than a journal for a file of ``file_size``
    bytes (or of the size its own header records) can be. Anything else raises JournalError
    (UNTRUSTED) naming the reason, before a byte of it is read. OSError if it cannot be opened.
    """
    fd, st = open_trusted(jpath, owner=owner)
    try:
        limits = [] if file_size is None else [max_journal_size(file_size)]
        head = os.pread(fd, _PREFIX.size + _HEADER.size, 0)
        if len(head) == _PREFIX.size + _HEADER.size and head.startswith(MAGIC):
            limits.append(max_journal_size(_HEADER.unpack_from(head, _PREFIX.size)[2]))
        limit = min(limits, default=_FIXED_SIZE)
        if st.st_size > limit:
            raise _untrusted(
                f"it is larger ({st.st_size:,} bytes) than a journal for this file can be "
                f"({limit:,} bytes)"
            )
        return _read_at_most(fd, st.st_size), st
    finally:
        os.close(fd)


def _read_at_most(fd: int, size: int) -> bytes:
    """Read up to ``size`` bytes from the start: never more, whatever the file does meanwhile."""
    parts: list[bytes] = []
    done = 0
    while done < size:
        chunk = os.pread(fd, min(size - done, _WRITE_CHUNK), done)
        if not chunk:
            break
        parts.append(chunk)
        done += len(chunk)
    return b"".join(parts)


# --------------------------------------------------------------------------- reading
def parse_journal(data: bytes, path: str) -> Journal:
    """Parse and verify journal bytes; JournalError (with its JournalProblem) says why not.

    A journal shorter than its own ranges and checksum say is INCOMPLETE (the save crashed
    while writing it, before touching the file); one of exactly the right length whose checksum
    fails is DAMAGED (it may hold the only copy of the old bytes); a checksummed journal whose
    ranges leave the file's recorded size or overlap is UNTRUSTED (no save of ours wrote it).
    """
    if len(data) < _PREFIX.size:
        if MAGIC.startswith(data[: len(MAGIC)]):
            raise JournalError(_CUT_SHORT, JournalProblem.INCOMPLETE)
        raise JournalError(_NOT_OURS, JournalProblem.FOREIGN)
    magic, status, version = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise JournalError(_NOT_OURS, JournalProblem.FOREIGN)
    if version != VERSION:
        raise JournalError(
            f"the journal has an unknown version ({version})", JournalProblem.FOREIGN
        )
    if status not in (PENDING, COMPLETE):
        raise JournalError("the journal's status byte is damaged", JournalProblem.DAMAGED)
    if len(data) < _PREFIX.size + _HEADER.size:
        raise JournalError(_CUT_SHORT, JournalProblem.INCOMPLETE)
    device, inode, size, mtime_ns, count = _HEADER.unpack_from(data, _PREFIX.size)
    identity = FileIdentity(device, inode, size, mtime_ns)
    pos = _PREFIX.size + _HEADER.size
    ranges: list[JournalRange] = []
    cut = False
    for _ in range(count):
        if pos + _RANGE.size > len(data):
            cut = True
            break
        offset, length = _RANGE.unpack_from(data, pos)
        if pos + _RANGE.size + length > len(data):
            cut = True
            break
        start = pos + _RANGE.size
        ranges.append(JournalRange(offset, data[start : start + length]))
        pos = start + length
    outside = _range_outside(ranges, size)
    if outside:
        raise _untrusted(outside)
    partial = Journal(path, identity, tuple(ranges), False)
    if cut or pos + _DIGEST_SIZE > len(data):
        raise JournalError(_CUT_SHORT, JournalProblem.INCOMPLETE, partial)
    if pos + _DIGEST_SIZE != len(data):
        raise JournalError(
            "the journal is damaged (it is longer than its ranges and checksum)",
            JournalProblem.DAMAGED,
        )
    if hashlib.sha256(memoryview(data)[_PREFIX.size : pos]).digest() != data[pos:]:
        raise JournalError(
            "the journal is damaged: it is complete but its checksum does not match",
            JournalProblem.DAMAGED,
        )
    return Journal(path, identity, tuple(ranges), status == COMPLETE)


def _range_outside(ranges: list[JournalRange], size: int) -> str:
    """Why the ranges cannot come from a save of a ``size``-byte file ('' if they can)."""
    end = 0
    for item in ranges:
        if item.end > size:
            return (
                f"its range {item.offset:#x}–{item.end:#x} lies outside the file's recorded size "
                f"({size:,} bytes)"
            )
        if item.offset < end or not item.original:
            return f"its range at {item.offset:#x} overlaps another or is empty"
        end = item.end
    return ""


def read_journal(path: str) -> Journal:
    """Check, read and verify the journal at ``path``; JournalError says why it cannot be used."""
    return parse_journal(read_trusted(path)[0], path)


# --------------------------------------------------------------------------- recovery
class RecoveryAction(enum.Enum):
    NOTHING = "nothing to recover"
    ROLLED_BACK = "rolled back to the contents before the interrupted save"
    KEPT_NEW = "the interrupted save had finished; new contents kept"
    DISCARDED_INCOMPLETE = "the save stopped before touching the file; incomplete journal removed"
    PENDING = "an interrupted save awaits recovery"
    BUSY = "another mmhex is saving this file"
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
        return self.action not in (
            RecoveryAction.PENDING,
            RecoveryAction.BUSY,
            RecoveryAction.FAILED,
        )


def has_journal(path: str) -> bool:
    """A journal (or an index entry for one) exists for the file at ``path``."""
    place = locate_journal(path, JOURNAL_SUFFIX)
    return place.found or bool(place.refused)


def _place(fd: int, path: str) -> JournalPlace:
    return locate_journal(path, JOURNAL_SUFFIX, os.fstat(fd))


def _refused(path: str, place: JournalPlace) -> RecoveryOutcome:
    return _failed(path, place.path, f"{place.refused}; it was not followed and nothing changed")


def _open_target(path: str, jpath: str) -> int | RecoveryOutcome:
    """The real file, open read-only for its lock and its identity (never blocks on a FIFO)."""
    try:
        fd = os.open(
            os.path.realpath(path), os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        )
    except OSError as exc:
        return _failed(path, jpath, f"the file cannot be opened ({describe_errno(exc.errno)})")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return _failed(path, jpath, "the file is not a regular file; nothing was changed")
    return fd


def open_locked_for_recovery(
    path: str, jpath: str, reason: Callable[[OSError], str]
) -> tuple[int, os.stat_result] | str:
    """Open ``path`` read-write and take its save lock for a recovery: ``(fd, stat)``, or the
    sentence saying why not. A lock still held after RECOVERY_LOCK_WAIT is a live save, which a
    recovery must never race; the shift and tail-move recoveries share this prologue."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return f"{path} cannot be opened to recover it ({reason(exc)})."
    st = os.fstat(fd)
    if not lock_for_saving(fd, RECOVERY_LOCK_WAIT):
        os.close(fd)
        return (
            f"{path}: another mmhex is saving this file right now (journal {jpath}); it "
            "was left alone. Open it again when that save has finished."
        )
    return fd, st


def _busy(path: str, jpath: str) -> RecoveryOutcome:
    return RecoveryOutcome(
        path,
        RecoveryAction.BUSY,
        f"{path}: another mmhex is saving this file right now (journal {jpath}); it was left "
        "alone. Open it again when that save has finished.",
        jpath,
    )


def inspect(path: str) -> RecoveryOutcome:
    """Say what ``recover`` would do, changing nothing (for a file opened read-only)."""
    shown = os.path.abspath(path)
    place = locate_journal(path, JOURNAL_SUFFIX)
    jpath = place.path
    if not place.found and not place.refused:
        return RecoveryOutcome(shown, RecoveryAction.NOTHING, "", jpath)
    opened = _open_target(shown, jpath)
    if isinstance(opened, RecoveryOutcome):
        return opened
    try:
        place = _place(opened, shown)
        jpath = place.path
        if not place.found:
            return _refused(shown, place) if place.refused else _nothing(shown, jpath)
        if not lock_for_saving(opened, 0.0):
            return _busy(shown, jpath)
        st = os.fstat(opened)
        try:
            parse_journal(read_trusted(jpath, owner=st.st_uid, file_size=st.st_size)[0], jpath)
        except JournalError as exc:
            if not exc.incomplete:
                return _failed(shown, jpath, f"{exc}; it was left in place")
        except OSError as exc:
            return _failed(
                shown, jpath, f"the journal cannot be read ({describe_errno(exc.errno)})"
            )
    finally:
        os.close(opened)
    return RecoveryOutcome(
        shown,
        RecoveryAction.PENDING,
        f"{shown}: an earlier save was interrupted (journal {jpath}); the file may be partly "
        f"written until it is recovered: open it for editing or run `mmhex recover {shown}`.",
        jpath,
    )


def recover(path: str) -> RecoveryOutcome:
    """Finish an interrupted save of ``path``: roll it back, or keep it if it had completed.

    Holds the file's save lock throughout, so it never acts on the journal of a save that is
    still running (it waits up to RECOVERY_LOCK_WAIT seconds, then says so and leaves it).
    """
    shown = os.path.abspath(path)
    place = locate_journal(path, JOURNAL_SUFFIX)
    if not place.found and not place.refused:
        return _nothing(shown, place.path)
    opened = _open_target(shown, place.path)
    if isinstance(opened, RecoveryOutcome):
        return opened
    try:
        if not lock_for_saving(opened, RECOVERY_LOCK_WAIT):
            return _busy(shown, place.path)
        place = _place(opened, shown)  # of the file now open (and the save we waited for)
        if not place.found:
            return _refused(shown, place) if place.refused else _nothing(shown, place.path)
        return _recover_locked(shown, place.path, opened)
    finally:
        os.close(opened)  # drops the lock


def _nothing(path: str, jpath: str) -> RecoveryOutcome:
    return RecoveryOutcome(
        path, RecoveryAction.NOTHING, f"{path}: no interrupted save to recover.", jpath
    )


def _recover_locked(path: str, jpath: str, fd: int) -> RecoveryOutcome:
    st = os.fstat(fd)
    try:
        data, jst = read_trusted(jpath, owner=st.st_uid, file_size=st.st_size)
    except JournalError as exc:
        return _failed(path, jpath, f"{exc}; nothing was read from it or changed")
    except OSError as exc:
        return _failed(path, jpath, f"the journal cannot be read ({describe_errno(exc.errno)})")
    try:
        journal = parse_journal(data, jpath)
    except JournalError as exc:
        return _unusable(path, jpath, jst, fd, exc)
    if (st.st_dev, st.st_ino) != (journal.identity.device, journal.identity.inode):
        return _failed(path, jpath, _OTHER_FILE)
    if journal.complete:
        return _remove_journal(
            path,
            jpath,
            jst,
            RecoveryAction.KEPT_NEW,
            f"{path}: the interrupted save had finished writing; the file keeps the new "
            "contents and the leftover journal was removed.",
        )
    return _roll_back(path, journal, jst, fd)


_OTHER_FILE = (
    "the journal belongs to a different file (this path was replaced after the "
    "interrupted save), so nothing was changed and the journal was left in place"
)


def _unusable(
    path: str, jpath: str, jst: os.stat_result, fd: int, exc: JournalError
) -> RecoveryOutcome:
    """A journal that cannot be replayed: remove it only when it provably holds nothing needed."""
    if not exc.incomplete:
        kept = (
            "it may hold the only copy of the bytes from before the save, so it was kept and "
            "the file was not changed (it may hold some of that save's new bytes)"
            if exc.problem is JournalProblem.DAMAGED
            else "nothing was changed and it was left in place"
        )
        return _failed(path, jpath, f"{exc}; {kept}")
    partial = exc.partial
    if partial is not None:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (partial.identity.device, partial.identity.inode):
            return _failed(path, jpath, _OTHER_FILE)
        for item in partial.ranges:  # a save never touches the file before its journal is whole
            if os.pread(fd, len(item.original), item.offset) != item.original:
                return _failed(
                    path,
                    jpath,
                    f"{_CUT_SHORT}, yet the file no longer holds the original bytes it recorded "
                    f"at {item.offset:#x}; the journal was kept and nothing was changed",
                )
    return _remove_journal(
        path,
        jpath,
        jst,
        RecoveryAction.DISCARDED_INCOMPLETE,
        f"{path}: an interrupted save stopped while writing its journal, before the file "
        "was touched; the file is unchanged and the incomplete journal was removed.",
    )


def roll_back_into(
    fd: int, journal_ranges: list[JournalRange] | tuple[JournalRange, ...], mtime_ns: int
) -> int:
    """Write the original bytes back, verify them, and restore the modification time.

    With the old mtime too, a rolled-back file is indistinguishable from one never touched, so
    nothing (mmhex's own change detection included) mistakes it for someone else's change.
    Never writes past the file's current end (that would grow a file another program truncated
    with zeros): returns how many original bytes lay past it and were not put back; then the
    mtime is left as it is, since the file is not what it was.
    """
    size = os.fstat(fd).st_size
    missing = 0
    written: list[JournalRange] = []
    for item in journal_ranges:
        keep = max(0, min(len(item.original), size - item.offset))
        missing += len(item.original) - keep
        if keep:
            written.append(JournalRange(item.offset, item.original[:keep]))
    for item in written:
        view = memoryview(item.original)
        pos = 0
        while pos < len(view):
            count = os.pwrite(fd, view[pos:], item.offset + pos)
            if count <= 0:
                raise OSError(errno.EIO, describe_errno(errno.EIO))
            pos += count
    os.fsync(fd)
    for item in written:
        if os.pread(fd, len(item.original), item.offset) != item.original:
            raise OSError(errno.EIO, "the restored bytes read back differently")
    if not missing:
        os.utime(fd, ns=(os.fstat(fd).st_atime_ns, mtime_ns))
        os.fsync(fd)
    return missing


def _roll_back(path: str, journal: Journal, jst: os.stat_result, fd: int) -> RecoveryOutcome:
    st = os.fstat(fd)
    if st.st_size != journal.identity.size:
        return _failed(
            path,
            journal.path,
            f"the file's size changed after the interrupted save ({journal.identity.size:,} → "
            f"{st.st_size:,} bytes), so rolling back could damage it; nothing was changed and "
            "the journal was left in place",
        )
    try:
        wfd = os.open(os.path.realpath(path), os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return _failed(
            path, journal.path, f"it cannot be opened for writing ({describe_errno(exc.errno)})"
        )
    try:
        now = os.fstat(wfd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return _failed(path, journal.path, _OTHER_FILE)
        missing = roll_back_into(wfd, journal.ranges, journal.identity.mtime_ns)
    except OSError as exc:
        return _failed(path, journal.path, f"writing it failed ({describe_errno(exc.errno)})")
    finally:
        os.close(wfd)
    if missing:
        return _failed(
            path,
            journal.path,
            f"another program truncated the file to {os.fstat(fd).st_size:,} bytes during the "
            f"rollback; the original bytes inside it were put back but {missing:,} bytes past "
            "its new end were not (the file was not grown back), and the journal that holds "
            "them was kept",
        )
    count = len(journal.ranges)
    return _remove_journal(
        path,
        journal.path,
        jst,
        RecoveryAction.ROLLED_BACK,
        f"{path}: an interrupted save was rolled back; the file has exactly its contents from "
        f"before that save ({journal.restored_bytes:,} bytes restored in {count:,} "
        f"range{'s' if count != 1 else ''}).",
    )


def _remove_journal(
    path: str, jpath: str, jst: os.stat_result, action: RecoveryAction, message: str
) -> RecoveryOutcome:
    """Remove the journal that was checked (``jst``), not whatever bears its name now."""
    try:
        now = os.lstat(jpath)
        if (now.st_dev, now.st_ino) != (jst.st_dev, jst.st_ino):
            return _failed(path, jpath, "the journal was replaced while being recovered")
        os.unlink(jpath)
        fsync_directory(os.path.dirname(jpath))
        forget_journal(jpath)
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
