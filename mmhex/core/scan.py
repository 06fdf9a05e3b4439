"""Bulk scans over a mapped file that another process may truncate meanwhile, without SIGBUS.

Search and checksums read gigabytes; copying them out of the mapping (the viewer's fault-free
``MappedFile.read``) halves the speed, while reading mapped memory directly dies with SIGBUS if the
file shrinks under the scan. A *read lease* (``fcntl(F_SETLEASE, F_RDLCK)``) is the kernel's own
answer: while we hold it, any other process that opens the file for writing or truncates it
blocks (up to ``/proc/sys/fs/lease-break-time``) until we release it. So each window is scanned
in place under a lease held only for that window; when no lease can be had (the file is open for
writing somewhere, we neither own it nor have CAP_LEASE, a block device, a file system without
leases) the window is copied through the fault-free read instead. Nothing here ever touches
mapped memory without one of the two protections.

A lease holds only while we can answer its break: a process stopped (SIGSTOP, Ctrl+Z) in the
middle of a leased piece loses it after lease-break-time, and the writer truncates. So each leased
view is also watched by ``fault_guard`` (a SIGBUS there reads zeros instead of killing us), and
after the piece it is re-validated (fault seen, lease still held, size) before anything computed
from it is used: a spoiled piece ends the scan with the truncation sentence.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import mmap
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from mmhex.core import fault_guard, holes
from mmhex.core.errors import FileTruncatedError, MmhexError
from mmhex.core.mapping import FileKind, MappedFile, Window
from mmhex.core.record import record  # not dataclasses: `mmhex find`'s start-up

TYPE_CHECKING = False  # `re` only types a parameter here; `mmhex find` need not import it
if TYPE_CHECKING:
    import re

# Linux delivers the lease-break notice as SIGIO unless told otherwise, and SIGIO's default action
# kills the process. SIGURG's default action is to ignore it, and nothing in mmhex uses it.
LEASE_BREAK_SIGNAL = signal.SIGURG
# Below this the kernel would force our lease away while a window is still being scanned.
MIN_LEASE_BREAK_SECONDS = 5
# madvise(MADV_POPULATE_READ), Linux 5.14: fill the page tables of a window in one call instead
# of taking a fault per page (measured +5% on a cached 1 GiB scan). Ignored where unsupported.
MADV_POPULATE_READ = 22

DEFAULT_CHUNK = 16 * 1024 * 1024
# Inside ``SafeReader.holding``, one lease and one view of a window serve the views that follow
# in that window for at most this long (a writer waits at most this plus one view for it).
HOLD_SECONDS = 0.05


def lease_break_seconds() -> int:
    """The kernel's grace period before it breaks a lease by force (0 if leases are disabled)."""
    try:
        with open("/proc/sys/fs/leases-enable") as f:
            if f.read().strip() == "0":
                return 0
        with open("/proc/sys/fs/lease-break-time") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def view_region(mapped: MappedFile, offset: int) -> tuple[int, int]:
    """The range around ``offset`` that one zero-copy view may cover: the mapping window, or
    for an edited document the piece (FILE pieces also cut at the file's windows). A scan cuts
    its pieces at these bounds and copies the short seams across them."""
    region = getattr(mapped, "view_region", None)
    if region is not None:
        return region(offset)
    start = mapped.window_start(offset)
    return start, start + mapped.window_size


class FileChangedError(MmhexError, OSError):
    """The file's size changed back and forth under a scan (another program is rewriting it)."""

    def __init__(self, path: str) -> None:
        sentence = (
            "The file changed size while it was being read (another program is truncating or "
            "rewriting it); the operation stopped."
        )
        OSError.__init__(self, errno.EIO, sentence, path)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


@record
class _ViewOutcome:
    """What the fault guard saw while one leased view was in use."""

    faulted: bool = False


@record
class ScanStats:
    """How the windows of one scan were read (for tests, benchmarks and the curious)."""

    leased: int = 0
    copied: int = 0
    lease_refusals: int = 0


class _Hold:
    """A leased, watched view of one whole window, kept across views (``SafeReader.holding``)."""

    def __init__(self, window: Window, whole: memoryview, taken: float) -> None:
        self.window = window
        self.whole = whole
        self.taken = taken
        self.watching = fault_guard.watch(window.address, window.address + window.length)
        self.watch = self.watching.__enter__()

    def covers(self, start: int, end: int, now: float) -> bool:
        window = self.window
        return window.start <= start and end <= window.end and now - self.taken < HOLD_SECONDS

    def close(self) -> None:
        try:
            self.watching.__exit__(None, None, None)
        finally:
            self.whole.release()


class SafeReader:
    """Zero-copy (leased) or copied views of a MappedFile's bytes, one window piece at a time.

    One reader serves one scan in one thread: it owns a separate descriptor of the same open file
    so that its lease and lease signal never disturb the MappedFile's own descriptor.
    """

    def __init__(self, mapped: MappedFile, *, use_lease: bool = True) -> None:
        self.mapped = mapped
        # The file whose windows are viewed in place: the mapping itself, or for an edited
        # document's PieceScanView the document's file (views of FILE pieces, file offsets).
        self.file: MappedFile = getattr(mapped, "file", mapped)
        self._pieces = self.file is not mapped
        self.stats = ScanStats()
        self._lease_fd = -1
        self._holding = 0
        self._hold: _Hold | None = None
        self._lease_possible = (
            use_lease
            and self.file.kind is FileKind.REGULAR
            and lease_break_seconds() >= MIN_LEASE_BREAK_SECONDS
        )
        if self._lease_possible:
            self._lease_fd = self._open_same_file()
            self._lease_possible = self._lease_fd >= 0

    def _open_same_file(self) -> int:
        """A new read-only descriptor of the very inode the mapping uses (not just its path)."""
        try:
            return os.open(f"/proc/self/fd/{self.file.fd}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            pass
        try:
            fd = os.open(self.file.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return -1
        st = os.fstat(fd)
        identity = self.file.identity
        if (st.st_dev, st.st_ino) != (identity.device, identity.inode):
            os.close(fd)
            return -1
        return fd

    @property
    def leasing(self) -> bool:
        """Whether scans may still read mapped memory in place."""
        return self._lease_possible

    def close(self) -> None:
        self.release()
        if self._lease_fd >= 0:
            os.close(self._lease_fd)
            self._lease_fd = -1
        self._lease_possible = False

    def __enter__(self) -> SafeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- leases
    def _take_lease(self) -> bool:
        """Try to hold a read lease now; False means 'copy this piece instead'."""
        if not self._lease_possible:
            return False
        try:
            # The signal must be chosen before every lease: releasing one resets it to SIGIO.
            fcntl.fcntl(self._lease_fd, fcntl.F_SETSIG, LEASE_BREAK_SIGNAL)
            fcntl.fcntl(self._lease_fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        except OSError as exc:
            self.stats.lease_refusals += 1
            if exc.errno not in (errno.EAGAIN, errno.EBUSY):
                # Not the owner, no CAP_LEASE, or no lease support here: stop asking.
                self._lease_possible = False
            return False
        if fcntl.fcntl(self._lease_fd, fcntl.F_GETSIG) != LEASE_BREAK_SIGNAL:
            # A kernel that forgot the signal would kill us with SIGIO on a break: don't rely on it.
            self._drop_lease()
            self._lease_possible = False
            return False
        return True

    def _drop_lease(self) -> None:
        # EAGAIN: the kernel already broke the lease while we could not answer (stopped).
        with suppress(BlockingIOError):
            fcntl.fcntl(self._lease_fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)

    # ----------------------------------------------------------------- views
    def fits_one_window(self, start: int, end: int) -> bool:
        """Whether file range ``[start, end)`` lies in one mapping window (zero-copy possible)."""
        window_start = self.file.window_start(start)
        return end <= window_start + self.file.window_size

    @contextmanager
    def view(self, start: int, end: int) -> Iterator[memoryview]:
        """The bytes ``[start, end)`` (edits included) for the duration of the ``with`` block.

        In place under a lease when the range lies in one window (of an edited document: in
        one FILE piece and one window of the file) and a lease is available; inside one piece
        of inserted bytes, in place in the add-buffer; otherwise a fault-free copy. Raises
        FileTruncatedError if the file no longer reaches ``end``. Keep the block short and
        bounded in time: a writer waits for it.
        """
        file_start: int | None = start
        if self._pieces and end > start:
            file_start, added = self.mapped.view_target(start, end)
            if added is not None:  # anonymous memory nobody else can truncate
                self.stats.leased += 1
                try:
                    yield added
                finally:
                    added.release()
                return
        if file_start is not None and end > start:
            file_end = file_start + end - start
            hold = self._hold_for(file_start, file_end) if self._holding else None
            if hold is not None:
                # No MADV_POPULATE_READ here: one call per short view cost more than the page
                # faults it saves (1,000 pieces: 1.34x the unedited search with it, 1.19x
                # without), and populating a whole window would fault its holes into the cache.
                begin = file_start - hold.window.start
                part = hold.whole[begin : file_end - hold.window.start]
                self.stats.leased += 1
                try:
                    yield part
                finally:
                    part.release()
                # Under the lease the file cannot shrink; if the lease was lost meanwhile (we
                # were stopped), the pages past the new end faulted and the guard saw it.
                if hold.watch.faulted:
                    self.release()
                    self._revalidate(_ViewOutcome(True), file_end)
                return
            if self.fits_one_window(file_start, file_end) and self._take_lease():
                try:
                    if self.file.current_size() < file_end:
                        self._raise_truncated(file_end)
                    outcome = _ViewOutcome()
                    with self._mapped_view(file_start, file_end, outcome) as data:
                        self.stats.leased += 1
                        yield data
                    self._revalidate(outcome, file_end)
                finally:
                    self._drop_lease()
                return
        data = memoryview(self.copy(start, end))
        self.stats.copied += 1
        try:
            yield data
        finally:
            data.release()

    # ----------------------------------------------------------------- holding
    @contextmanager
    def holding(self) -> Iterator[None]:
        """Within the block, views in one window share one lease and one view of the window
        (each hold lasts at most HOLD_SECONDS): a scan of many short pieces (an edited document
        after scattered inserts) then pays a slice per piece, not lease calls and a mapping view.
        Each view is still checked after its block (a fault seen, the file's size). For loops
        that do not hand control to anyone between views: call ``release`` before yielding."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                self.release()

    def release(self) -> None:
        """End the current hold (if any): its view, its watch and its lease."""
        hold, self._hold = self._hold, None
        if hold is None:
            return
        try:
            hold.close()
        finally:
            self._drop_lease()

    def _read_file(self, start: int, length: int) -> bytes:
        """File bytes for a copy through an edited document's pieces: from the held window's
        view when it has them (a seam between two pieces then costs no system call)."""
        hold = self._hold
        if self.mapped.in_hole(start, start + length):  # touching it would fault it in
            return bytes(length)
        if hold is not None and hold.covers(start, start + length, time.monotonic()):
            window = hold.window
            data = bytes(hold.whole[start - window.start : start + length - window.start])
            if hold.watch.faulted:
                self.release()
                self._revalidate(_ViewOutcome(True), start + length)
            return data
        return self.mapped.read_file(start, length)

    def _hold_for(self, start: int, end: int) -> _Hold | None:
        """The hold that covers file range ``[start, end)``, taken now if needed (None: no
        lease now, or the range crosses windows)."""
        now = time.monotonic()
        hold = self._hold
        if hold is not None and hold.covers(start, end, now):
            return hold
        self.release()
        if not self.fits_one_window(start, end) or not self._take_lease():
            return None
        try:
            if self.file.current_size() < end:
                self._raise_truncated(end)
            window, whole = self._window_view(start)
            try:
                self._hold = _Hold(window, whole, now)
            except BaseException:
                whole.release()
                raise
        except BaseException:
            self._drop_lease()
            raise
        return self._hold

    def copy(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` copied through the fault-free read; never short."""
        try:
            if self._pieces and self._hold is not None:
                data = self.mapped.read(start, end - start, self._read_file)
            else:
                data = self.mapped.read(start, end - start)
        except ValueError:
            # MappedFile refuses a window past the end, and the file grew back before it looked.
            raise FileChangedError(self.mapped.path) from None
        if len(data) < end - start:
            self._raise_truncated(end)
        return data

    @contextmanager
    def _mapped_view(
        self, start: int, end: int, outcome: _ViewOutcome | None = None
    ) -> Iterator[memoryview]:
        window, whole = self._window_view(start)
        # While our export lives, MappedFile cannot unmap the window (it retires it instead).
        try:
            begin = start - window.start
            aligned = begin - begin % mmap.PAGESIZE
            with suppress(OSError, ValueError):
                window.madvise(MADV_POPULATE_READ, aligned, end - window.start - aligned)
            part = whole[begin : end - window.start]
            try:
                with self._watched(window, begin, end - window.start, outcome):
                    yield part
            finally:
                part.release()
        finally:
            whole.release()

    # ----------------------------------------------------------------- after a pause
    @contextmanager
    def _watched(
        self, window: Window, begin: int, stop: int, outcome: _ViewOutcome | None
    ) -> Iterator[None]:
        """Survive a SIGBUS on the view's pages (see fault_guard) and note whether one came."""
        with fault_guard.watch(window.address + begin, window.address + stop) as watch:
            yield
        if outcome is not None:
            outcome.faulted = watch.faulted

    def _revalidate(self, outcome: _ViewOutcome, end: int) -> None:
        """After a leased piece: were its bytes still the file's the whole time?

        A fault the guard absorbed (pages read as zeros) or a file now shorter than the piece
        mean no: the kernel broke our lease while we could not answer (stopped past
        lease-break-time) and a writer truncated. The windows whose pages the guard replaced
        are dropped by the refresh that the truncation sentence makes.
        """
        if self.file.current_size() < end:
            self._raise_truncated(end)
        if outcome.faulted:  # truncated and grown back meanwhile
            self.file.refresh()
            self.file.drop_windows(keep_pinned=True)
            raise FileChangedError(self.file.path)

    def _window_view(self, offset: int) -> tuple[Window, memoryview]:
        """The window holding file offset ``offset`` and a view of all of it (release it)."""
        for _attempt in range(8):
            window = self._window_at(offset)
            try:
                return window, memoryview(window.mm)
            except ValueError:
                continue  # another thread evicted and closed this window meanwhile; map it again
        raise OSError(errno.EIO, "the mapping kept changing during the scan")

    def _window_at(self, offset: int) -> Window:
        try:
            return self.file.window_at(offset)
        except ValueError:
            # Outside the (re-measured) file, or a mapping refused while the size was changing.
            if self.file.current_size() <= offset:
                self._raise_truncated(offset + 1)
            raise FileChangedError(self.file.path) from None

    def _raise_truncated(self, needed_end: int) -> None:
        """The file ends before file offset ``needed_end`` now: say so (and let it notice)."""
        old = max(self.file.size, needed_end)
        new = self.file.current_size()
        self.file.refresh()
        raise FileTruncatedError(self.file.path, old, new)


# ===================================================================== holes
# Every scan asks here which parts of its range it must read: holes (see core/holes.py) read as
# zeros, so a scan either knows the answer there without reading (checksums: feed zeros; search:
# no match, or every start matches) or reads them like data.

# The shared zeros fed to digests for hole runs (calloc'd: its pages are never touched).
ZEROS = memoryview(bytes(DEFAULT_CHUNK))


def iter_runs(source: object, lo: int, hi: int) -> Iterator[tuple[int, int, bool]]:
    """``[lo, hi)`` of a Document/MappedFile as ``(start, end, is_data)`` runs; holes are zeros."""
    return holes.iter_runs(source, lo, hi)


def zero_pieces(length: int) -> Iterator[memoryview]:
    """``length`` zero bytes as views of the shared zero buffer (for digests of hole runs)."""
    while length > 0:
        piece = min(length, len(ZEROS))
        yield ZEROS[:piece]
        length -= piece


class SpanKind(enum.Enum):
    """What a search knows about the starts of one span of its range."""

    READ = "read"  # data within reach: read the bytes and look
    NONE = "none"  # only zeros within reach, and the pattern cannot match zeros: no match starts
    EVERY = "every"  # only zeros within reach, and the fixed-length pattern matches zeros


def matches_zeros(
    regex: re.Pattern[bytes] | None,
    *,
    fixed_length: int | None,
    literal: bytes | None,
    factor: bytes | None,
) -> bool:
    """Whether a match may start at a place whose whole reach is zeros (True when unsure).

    Fixed shapes are tried on zeros (linear: they are classes of bytes, no backtracking). A
    regex is never run on a large zero buffer (a backtracking pattern could take minutes); it
    cannot match zeros when every match contains a non-zero byte it must contain (``factor``).
    """
    if literal is not None:
        return not any(literal)
    if fixed_length is not None and regex is not None:
        return regex.match(bytes(fixed_length)) is not None
    return not (factor and any(factor))


def start_spans(
    source: object,
    lo: int,
    hi: int,
    *,
    scope: tuple[int, int],
    before: int,
    after: int,
    zero_match: bool,
    fixed_length: int | None,
) -> list[tuple[int, int, SpanKind]]:
    """Cut the starts ``[lo, hi)`` of a search into spans that need reading and spans that don't.

    A start's reach is ``[start - before, start + after]`` (clipped to ``scope``): a start whose
    reach holds no data sees only zeros. If the pattern cannot match there (``zero_match`` False)
    no match starts in that span; if it can and has ``fixed_length``, every start whose match fits
    in the scope matches. A variable-length pattern that matches zeros reads everything.
    """
    if lo >= hi:
        return []
    if zero_match and fixed_length is None:
        return [(lo, hi, SpanKind.READ)]
    data = holes.readable_runs(source, scope[0], scope[1])
    reach = holes.union([(max(lo, s - after), min(hi, e + before)) for s, e in data])
    spans = [(s, e, SpanKind.READ) for s, e in reach]
    for s, e in holes.complement(reach, lo, hi):
        if not zero_match or fixed_length is None:
            spans.append((s, e, SpanKind.NONE))
            continue
        last_fit = scope[1] - fixed_length + 1  # starts from here on have no room for a match
        if s < min(e, last_fit):
            spans.append((s, min(e, last_fit), SpanKind.EVERY))
        if max(s, last_fit) < e:
            spans.append((max(s, last_fit), e, SpanKind.NONE))
    return sorted(spans, key=lambda span: span[0])
