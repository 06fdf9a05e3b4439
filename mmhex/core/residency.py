"""Which pages of a file are in the page cache, which this process holds, and acting on them.

Counts come from ``cachestat(2)`` where the kernel has it and otherwise from ``mincore(2)`` on
short-lived read-only mappings of at most ``MINCORE_WINDOW`` bytes, so a 1 TiB file never needs
one 268 M-entry vector. Every probe goes through the probe's own descriptor and mappings: a viewer
unmapping its windows on another thread can never pull an address out from under ``mincore``.
Never imports Qt; the panel and ``mmhex residency`` only present what this module measures.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmhex.core import _libc
from mmhex.core.errors import MmhexError, describe_errno
from mmhex.core.holes import next_data
from mmhex.core.mapping import MappedFile, OpenMode
from mmhex.core.progress import Progress

if TYPE_CHECKING:  # the command line needs no Document (and none of the save machinery)
    from mmhex.core.document import Document

PAGE_SIZE = _libc.PAGE_SIZE
# A refresh whose whole-file cachestat counters equal the last ones reuses the last buckets (one
# kernel call instead of one per bucket: the panel's idle cost); every bucket is measured anew at
# least this often all the same, for changes the totals cannot show (one page evicted, another
# cached in the same interval) and for this process's own pages (reclaim unmaps them silently).
FULL_REFRESH_S = 10.0
# Bytes per read-ahead advice: the smallest usual per-advice limit of the kernel (128 KiB, the
# default read_ahead_kb); about 6 µs per advice, 50 ms per GiB of cached file.
READ_AHEAD_CHUNK = 128 << 10
MINCORE_WINDOW = 1 << 30  # bytes per mincore call: a 256 KiB vector, whatever the file size
MAX_PAGE_MAP = 1 << 24  # pages in one per-page map (64 GiB of file); larger ranges use buckets
TOUCH_CHUNK = 1 << 20

METHOD_CACHESTAT = "cachestat"
METHOD_MINCORE = "mincore"
METHOD_NONE = "none"  # the kernel hides this file's page cache from us

UNKNOWN_REASON = (
    "The kernel does not reveal which pages of this file are cached to a user who can neither "
    "write nor own it: mincore would report every page as resident and cachestat refuses "
    "(EPERM). Only pages this process has mapped and touched itself are known."
)

# Bit 0 of each mincore byte says "resident"; the other bits are reserved.
_LOW_BIT = bytes(value & 1 for value in range(256))
# /proc/self/pagemap entries are little-endian u64; their top byte holds bits 56..63:
# 63 present, 62 swapped, 61 file page (or shared anonymous), 56 exclusively mapped.
_PAGEMAP_PRESENT = 0x80
_PAGEMAP_SWAPPED = 0x40
_PAGEMAP_FILE = 0x20
_PRESENT_TABLE = bytes(1 if value & _PAGEMAP_PRESENT else 0 for value in range(256))
# A private (copy-on-write) copy is an anonymous page: present without the file bit, or swapped.
_PRIVATE_COPY_TABLE = bytes(
    1 if (value & _PAGEMAP_PRESENT and not value & _PAGEMAP_FILE) or value & _PAGEMAP_SWAPPED else 0
    for value in range(256)
)
_CAP_FOWNER = 3
_CAP_IPC_LOCK = 14


# ----------------------------------------------------------------- values
@dataclass(frozen=True)
class PageCounts:
    """Page counts of one byte range; ``None`` where the kernel cannot or will not say."""

    pages: int
    resident: int | None
    dirty: int | None = None
    writeback: int | None = None
    evicted: int | None = None
    recently_evicted: int | None = None

    @property
    def known(self) -> bool:
        return self.resident is not None


@dataclass(frozen=True)
class BucketLayout:
    """``[start, end)`` cut into buckets of ``bucket_pages`` whole pages (the last may be short)."""

    start: int  # page-aligned byte offset
    end: int  # byte offset (the file's end need not be page-aligned)
    bucket_pages: int

    @classmethod
    def covering(cls, start: int, end: int, wanted: int) -> BucketLayout:
        """At most ``wanted`` equal buckets over ``[start, end)``, each a whole number of pages."""
        start -= start % PAGE_SIZE
        end = max(start, end)
        pages = -(-(end - start) // PAGE_SIZE)
        per_bucket = max(1, -(-pages // max(1, wanted)))
        return cls(start, end, per_bucket)

    @property
    def first_page(self) -> int:
        return self.start // PAGE_SIZE

    @property
    def end_page(self) -> int:
        return -(-self.end // PAGE_SIZE)

    @property
    def bucket_bytes(self) -> int:
        return self.bucket_pages * PAGE_SIZE

    @property
    def count(self) -> int:
        return -(-(self.end_page - self.first_page) // self.bucket_pages)

    def __len__(self) -> int:
        return self.count

    def bucket_range(self, index: int) -> tuple[int, int]:
        """Bytes ``[start, end)`` of bucket ``index``, clipped to the layout's end."""
        first = self.start + index * self.bucket_bytes
        return first, min(first + self.bucket_bytes, self.end)

    def page_count(self, index: int) -> int:
        first, last = self.bucket_range(index)
        return -(-(last - first) // PAGE_SIZE)

    def bucket_of(self, offset: int) -> int:
        """The bucket holding byte ``offset``, clamped to the layout."""
        index = (offset - self.start) // self.bucket_bytes
        return min(max(index, 0), self.count - 1)

    def add_page_flags(self, first_page: int, flags: bytes | bytearray, totals: list[int]) -> None:
        """Add ``flags`` (one 0/1 byte per page from ``first_page`` on) into bucket ``totals``."""
        page = max(first_page, self.first_page)
        stop = min(first_page + len(flags), self.end_page)
        while page < stop:
            index = (page - self.first_page) // self.bucket_pages
            bucket_stop = min(stop, self.first_page + (index + 1) * self.bucket_pages)
            totals[index] += flags.count(1, page - first_page, bucket_stop - first_page)
            page = bucket_stop


@dataclass(frozen=True)
class Buckets:
    """Per-bucket counts over a layout; a list is ``None`` where that count is not known."""

    layout: BucketLayout
    resident: tuple[int, ...] | None
    dirty: tuple[int, ...] | None = None
    writeback: tuple[int, ...] | None = None
    evicted: tuple[int, ...] | None = None
    recently_evicted: tuple[int, ...] | None = None
    private: tuple[int, ...] | None = None  # copy-on-write pages of this process
    touched: tuple[int, ...] | None = None  # pages present in this process's own page tables

    def __len__(self) -> int:
        return self.layout.count

    def counts(self, index: int) -> PageCounts:
        def pick(values: tuple[int, ...] | None) -> int | None:
            return None if values is None else values[index]

        return PageCounts(
            self.layout.page_count(index),
            pick(self.resident),
            pick(self.dirty),
            pick(self.writeback),
            pick(self.evicted),
            pick(self.recently_evicted),
        )


@dataclass(frozen=True)
class FaultCounters:
    """This process's page faults since it started, as ``ps -o majflt,minflt`` shows them."""

    major: int
    minor: int

    @classmethod
    def now(cls) -> FaultCounters:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(usage.ru_majflt, usage.ru_minflt)

    def __sub__(self, other: FaultCounters) -> FaultCounters:
        return FaultCounters(self.major - other.major, self.minor - other.minor)


@dataclass(frozen=True)
class ActionResult:
    """What Touch/Evict/Lock/Unlock did to a range: counts before and after, and how long."""

    action: str
    start: int
    end: int
    before: PageCounts
    after: PageCounts
    seconds: float
    note: str = ""

    def describe(self) -> str:
        span = f"{self.start:#x}–{self.end:#x}"
        if self.before.known and self.after.known:
            counts = (
                f"{self.before.resident:,} → {self.after.resident:,} of {self.after.pages:,} "
                "pages resident"
            )
        else:
            counts = f"{self.after.pages:,} pages, residency unknown"
        text = f"{self.action.capitalize()} {span}: {counts} ({_duration(self.seconds)})."
        return f"{text} {self.note}" if self.note else text


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


class MemoryLockError(MmhexError, OSError):
    """``mlock`` refused; the sentence explains RLIMIT_MEMLOCK when that is the reason."""

    def __init__(self, err: int, sentence: str) -> None:
        OSError.__init__(self, err, sentence)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


# ----------------------------------------------------------------- probe
@dataclass
class _LockedRange:
    start: int
    end: int
    address: int
    length: int


@dataclass
class ResidencyProbe:
    """Residency of one open file through a descriptor the probe owns (and closes).

    Thread-safe: every query maps and unmaps its own short-lived windows; only the list of locked
    ranges is shared, under a lock.
    """

    fd: int
    path: str
    force_mincore: bool = False
    method: str = field(init=False)
    known: bool = field(init=False)
    unknown_reason: str | None = field(init=False, default=None)
    _locks: list[_LockedRange] = field(init=False, default_factory=list)
    _guard: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.method, self.known = self._choose_method()
        if not self.known:
            self.unknown_reason = UNKNOWN_REASON

    @classmethod
    def open(cls, path: str, *, force_mincore: bool = False) -> ResidencyProbe:
        """Open ``path`` (refusing what MappedFile refuses, with its sentences)."""
        with MappedFile(path) as mapped:
            fd = os.dup(mapped.fd)
        return cls(fd, os.path.abspath(path), force_mincore=force_mincore)

    @classmethod
    def for_mapped(cls, mapped: MappedFile, *, force_mincore: bool = False) -> ResidencyProbe:
        """A probe on the same open file as ``mapped`` (a duplicate of its descriptor)."""
        with mapped.windows_held():  # close() takes the same lock: the fd cannot be reused
            fd = os.dup(mapped.fd)
        return cls(fd, mapped.path, force_mincore=force_mincore)

    def _choose_method(self) -> tuple[str, bool]:
        """cachestat if the kernel has it; it also tells whether the kernel will answer at all."""
        try:
            _libc.cachestat(self.fd, 0, PAGE_SIZE)
        except OSError as exc:
            if exc.errno == errno.EPERM:
                return METHOD_NONE, False
            if exc.errno == errno.EBADF:
                raise
            known = _kernel_reveals_cache(self.fd)
            return (METHOD_MINCORE if known else METHOD_NONE), known
        if self.force_mincore:
            return METHOD_MINCORE, True
        return METHOD_CACHESTAT, True

    # ------------------------------------------------------------- sizes and ranges
    def size(self) -> int:
        """The file's size now (block devices: where lseek puts the end)."""
        st = os.fstat(self.fd)
        if stat.S_ISBLK(st.st_mode):
            return os.lseek(self.fd, 0, os.SEEK_END)
        return st.st_size

    def clip(self, start: int, end: int | None, size: int | None = None) -> tuple[int, int]:
        """``[start, end)`` clipped to the file (``end`` None: to its end)."""
        size = self.size() if size is None else size
        end = size if end is None else min(end, size)
        start = min(max(0, start), end)
        return start, end

    # ------------------------------------------------------------- queries
    def counts(self, start: int = 0, end: int | None = None) -> PageCounts:
        """Counts over ``[start, end)`` (default: the whole file)."""
        start, end = self.clip(start, end)
        layout = BucketLayout.covering(start, end, 1)
        if layout.count == 0:
            return PageCounts(0, 0 if self.known else None)
        return self.buckets_for(layout).counts(0)

    def buckets(self, start: int, end: int | None, count: int) -> Buckets:
        """At most ``count`` buckets over ``[start, end)`` clipped to the file."""
        start, end = self.clip(start, end)
        return self.buckets_for(BucketLayout.covering(start, end, count))

    def buckets_for(self, layout: BucketLayout) -> Buckets:
        if not self.known:
            return Buckets(layout, None)
        if self.method == METHOD_CACHESTAT:
            return self._cachestat_buckets(layout)
        totals = [0] * layout.count
        for first_page, flags in self._mincore_flags(layout.first_page, layout.end_page):
            layout.add_page_flags(first_page, flags, totals)
        return Buckets(layout, tuple(totals))

    def _cachestat_buckets(self, layout: BucketLayout) -> Buckets:
        ranges = []
        for index in range(layout.count):
            first, last = layout.bucket_range(index)
            ranges.append((first, last - first))
        if not ranges:
            return Buckets(layout, (), (), (), (), ())
        columns = zip(*_libc.cachestat_ranges(self.fd, ranges), strict=True)
        resident, dirty, writeback, evicted, recent = columns
        return Buckets(layout, resident, dirty, writeback, evicted, recent)

    def whole_file_counters(self, size: int) -> tuple[int, ...] | None:
        """One cachestat over the whole file (None without cachestat): a change detector."""
        if self.method != METHOD_CACHESTAT:
            return None
        return (size, *_libc.cachestat(self.fd, 0, max(size, 1)))

    def page_map(self, start: int, end: int | None = None) -> bytes | None:
        """One byte per page of ``[start, end)`` (page-aligned down), 1 = resident; None if unknown.

        Always from mincore (cheaper per page than one cachestat call each).
        """
        start, end = self.clip(start, end)
        if not self.known:
            return None
        first_page, end_page = start // PAGE_SIZE, -(-end // PAGE_SIZE)
        if end_page - first_page > MAX_PAGE_MAP:
            raise ValueError(f"a page map is limited to {MAX_PAGE_MAP:,} pages; use buckets")
        return b"".join(bytes(flags) for _, flags in self._mincore_flags(first_page, end_page))

    def _mincore_flags(self, first_page: int, end_page: int) -> Iterator[tuple[int, bytearray]]:
        """(first page, one 0/1 byte per page) for each window of ``[first_page, end_page)``.

        The bytearray is reused for the next window: copy what must outlive the iteration.
        """
        window_pages = MINCORE_WINDOW // PAGE_SIZE
        vector = bytearray(min(window_pages, max(0, end_page - first_page)))
        page = first_page
        while page < end_page:
            pages = min(window_pages, end_page - page)
            length = pages * PAGE_SIZE
            with _readonly_mapping(self.fd, page * PAGE_SIZE, length) as address:
                _libc.mincore(address, length, vector)
            flags = vector if pages == len(vector) else vector[:pages]
            # Only bit 0 is defined; the kernel leaves the others 0, which is checked, not assumed.
            if flags.count(0) + flags.count(1) != pages:
                flags = flags.translate(_LOW_BIT)
            yield page, flags
            page += pages

    # ------------------------------------------------------------- actions
    def touch(
        self, start: int = 0, end: int | None = None, *, progress: Progress | None = None
    ) -> ActionResult:
        """Read every page of the range once (it is resident when this returns)."""
        start, end = self.clip(start, end)
        before = self.counts(start, end)
        began = time.perf_counter()
        buffer = memoryview(bytearray(TOUCH_CHUNK))
        position = start
        while position < end:
            skipped = next_data(self.fd, position, end) - position  # holes: nothing to touch
            if skipped and progress is not None:
                progress.advance(skipped)
            position += skipped
            if position >= end:
                break
            got = os.preadv(self.fd, [buffer[: min(TOUCH_CHUNK, end - position)]], position)
            if got <= 0:
                break  # the file shrank meanwhile
            position += got
            if progress is not None:
                progress.advance(got)
        seconds = time.perf_counter() - began
        return ActionResult("touch", start, end, before, self.counts(start, end), seconds)

    def read_ahead(
        self, start: int = 0, end: int | None = None, *, progress: Progress | None = None
    ) -> ActionResult:
        """Ask the kernel to read the range in the background (POSIX_FADV_WILLNEED).

        One advice per ``READ_AHEAD_CHUNK``: the kernel reads at most its device's read-ahead
        size (``read_ahead_kb``, or the largest request) per advice and silently drops the
        rest, so one advice over 64 MiB brought in 8 MiB. Holes are stepped over (nothing to
        read). Returns once every read is queued; the pages enter the page cache at once and
        fill as the device answers. Cancellable between chunks.
        """
        start, end = self.clip(start, end)
        before = self.counts(start, end)
        began = time.perf_counter()
        position = start  # the kernel rounds each advice out to whole pages
        while position < end:
            data, run_end = _data_run(self.fd, position, end)
            if progress is not None and data > position:
                progress.advance(data - position)
            position = data
            while position < run_end:
                length = min(READ_AHEAD_CHUNK, run_end - position)
                os.posix_fadvise(self.fd, position, length, os.POSIX_FADV_WILLNEED)
                position += length
                if progress is not None:
                    progress.advance(length)
        seconds = time.perf_counter() - began
        return ActionResult(
            "read ahead",
            start,
            end,
            before,
            self.counts(start, end),
            seconds,
            "The kernel keeps reading in the background.",
        )

    def evict(self, start: int = 0, end: int | None = None) -> ActionResult:
        """Drop the range's clean, unmapped pages from the cache (POSIX_FADV_DONTNEED)."""
        start, end = self.clip(start, end)
        before = self.counts(start, end)
        began = time.perf_counter()
        if end > start:
            os.posix_fadvise(self.fd, start, end - start, os.POSIX_FADV_DONTNEED)
        seconds = time.perf_counter() - began
        after = self.counts(start, end)
        note = ""
        if after.resident:
            note = (
                "Pages still resident are dirty, under writeback, locked, or mapped by a "
                "process (the kernel keeps those)."
            )
        return ActionResult("evict", start, end, before, after, seconds, note)

    def lock(self, start: int = 0, end: int | None = None) -> ActionResult:
        """Read the range in and keep it resident (mlock) until ``unlock`` or ``close``."""
        start, end = self.clip(start, end)
        before = self.counts(start, end)
        aligned = start - start % PAGE_SIZE
        length = -(-(end - aligned) // PAGE_SIZE) * PAGE_SIZE
        if length == 0:
            return ActionResult("lock", start, end, before, before, 0.0)
        _refuse_lock_beyond_memory(length)
        began = time.perf_counter()
        with self._guard:
            address = _libc.map_readonly(self.fd, aligned, length)
            try:
                _libc.mlock(address, length)
            except OSError as exc:
                _libc.unmap(address, length)
                raise _explain_lock_refusal(exc, length, self._locked_bytes()) from exc
            self._locks.append(_LockedRange(start, end, address, length))
        seconds = time.perf_counter() - began
        return ActionResult("lock", start, end, before, self.counts(start, end), seconds)

    def unlock(self, start: int = 0, end: int | None = None) -> ActionResult:
        """Release every lock that overlaps ``[start, end)``."""
        start, end = self.clip(start, end)
        before = self.counts(start, end)
        began = time.perf_counter()
        released = 0
        with self._guard:
            for locked in [lk for lk in self._locks if lk.start < end and start < lk.end]:
                self._release(locked)
                released += locked.length
        seconds = time.perf_counter() - began
        note = f"Released {released:,} locked bytes." if released else "Nothing was locked there."
        return ActionResult("unlock", start, end, before, self.counts(start, end), seconds, note)

    def _release(self, locked: _LockedRange) -> None:
        self._locks.remove(locked)
        try:
            _libc.munlock(locked.address, locked.length)
        finally:
            _libc.unmap(locked.address, locked.length)

    def locked_ranges(self) -> list[tuple[int, int]]:
        with self._guard:
            return [(lk.start, lk.end) for lk in self._locks]

    def locked_bytes(self) -> int:
        with self._guard:
            return self._locked_bytes()

    def _locked_bytes(self) -> int:
        return sum(lk.length for lk in self._locks)

    # ------------------------------------------------------------- lifetime
    def close(self) -> None:
        with self._guard:
            for locked in list(self._locks):
                self._release(locked)
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1

    def __enter__(self) -> ResidencyProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _data_run(fd: int, position: int, end: int) -> tuple[int, int]:
    """The next run of data at or after ``position``, within ``end``: [data, hole)."""
    data = next_data(fd, position, end)
    if data >= end:
        return end, end
    try:
        hole = os.lseek(fd, data, os.SEEK_HOLE)
    except OSError:  # no hole information: all of it is data
        hole = end
    return data, min(max(hole, data + 1), end)


@contextlib.contextmanager
def _readonly_mapping(fd: int, offset: int, length: int) -> Iterator[int]:
    address = _libc.map_readonly(fd, offset, length)
    try:
        yield address
    finally:
        _libc.unmap(address, length)


def _effective_capabilities() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def _kernel_reveals_cache(fd: int) -> bool:
    """The kernel's rule for mincore/cachestat on a file: the caller may write it or owns it.

    Used only where cachestat (which answers the question itself with EPERM) is missing.
    """
    if os.fstat(fd).st_uid == os.geteuid():
        return True
    if _effective_capabilities() & (1 << _CAP_FOWNER):
        return True
    # /proc/self/fd/N is the open inode itself, even if the path was replaced since.
    return os.access(f"/proc/self/fd/{fd}", os.W_OK, effective_ids=True)


def _memory_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _refuse_lock_beyond_memory(length: int) -> None:
    """Locking more than half the available memory would push the machine into swap or OOM."""
    available = _memory_available()
    if available is not None and length > available // 2:
        raise MemoryLockError(
            errno.ENOMEM,
            f"Locking {human_bytes(length)} in memory was not attempted: only "
            f"{human_bytes(available)} is available. Lock a smaller range.",
        )


def _explain_lock_refusal(exc: OSError, length: int, already: int) -> MemoryLockError:
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    capable = bool(_effective_capabilities() & (1 << _CAP_IPC_LOCK))
    err = exc.errno or errno.ENOMEM
    if err in (errno.ENOMEM, errno.EPERM, errno.EAGAIN) and not capable:
        limit = "nothing" if soft == 0 else human_bytes(soft)
        if soft == resource.RLIM_INFINITY:
            limit = "an unlimited amount"
        held = f", and this file already holds {human_bytes(already)} locked" if already else ""
        return MemoryLockError(
            err,
            f"Locking {human_bytes(length)} was refused [mlock]: this user may lock at most "
            f"{limit} of memory (RLIMIT_MEMLOCK){held}. Lock a smaller range, or raise the "
            "limit (ulimit -l, or a memlock line in /etc/security/limits.conf).",
        )
    return MemoryLockError(
        err, f"Locking {human_bytes(length)} failed: {describe_errno(err)} [mlock]"
    )


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KiB' (binary units, for sentences and the panel)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            if unit == "B":
                return f"{count:,} B"
            return f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{count} B"


# ----------------------------------------------------------------- a document's residency
@dataclass(frozen=True)
class ResidencySnapshot:
    """Everything the residency panel draws, measured at one moment."""

    path: str
    size: int
    method: str
    known: bool
    unknown_reason: str | None
    totals: PageCounts
    overview: Buckets
    detail: Buckets | None
    visible: tuple[int, int]
    private_pages: int | None  # copy-on-write pages (private-edit mode); None otherwise
    touched_pages: int | None  # pages of the file present in this process's page tables
    faults: FaultCounters
    fault_delta: FaultCounters | None
    locked_bytes: int
    seconds: float


class DocumentResidency:
    """Residency of an open Document: the file's page cache plus this process's own pages.

    The file's cache state comes from a ResidencyProbe on a duplicate of the document's
    descriptor; private copies and the pages this process has touched come from
    ``/proc/self/pagemap`` over the document's windows, read while MappedFile holds them mapped.
    """

    def __init__(self, document: Document, *, force_mincore: bool = False) -> None:
        self.document = document
        self.path = document.path
        self.force_mincore = force_mincore
        self._mapped: MappedFile | None = None
        self._probe: ResidencyProbe | None = None
        self._last_faults: FaultCounters | None = None
        self._guard = threading.Lock()
        self._reuse: _Measured | None = None
        try:
            self._pagemap_fd = os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._pagemap_fd = -1

    @property
    def probe(self) -> ResidencyProbe:
        """The probe on the document's current file (a new one after the file was replaced)."""
        with self._guard:
            mapped = self.document.mapped
            if self._probe is None or self._mapped is not mapped:
                if self._probe is not None:
                    self._probe.close()
                self._probe = ResidencyProbe.for_mapped(mapped, force_mincore=self.force_mincore)
                self._mapped = mapped
            return self._probe

    def snapshot(
        self,
        *,
        overview_buckets: int = 1024,
        detail: BucketLayout | None = None,
        visible: tuple[int, int] = (0, 0),
        full: bool = False,
    ) -> ResidencySnapshot:
        """Measure now: the whole file in ``overview_buckets``, and ``detail`` (the zoomed map).

        Unless ``full``, an unchanged file (same whole-file cachestat counters, layouts, view and
        edits, measured less than FULL_REFRESH_S ago) costs one kernel call: the bucket values
        (the very same objects, so a viewer can skip redrawing) come from the last measurement.
        """
        began = time.perf_counter()
        probe = self.probe
        size = probe.size()
        overview_layout = BucketLayout.covering(0, size, overview_buckets)
        layouts = [overview_layout]
        if detail is not None:
            start, end = probe.clip(detail.start, detail.end, size)
            layouts.append(BucketLayout(start - start % PAGE_SIZE, end, detail.bucket_pages))
        measured = self._measure(probe, size, layouts, visible, full)
        totals, filled, own = measured.totals, measured.filled, measured.own
        faults = FaultCounters.now()
        delta = None if self._last_faults is None else faults - self._last_faults
        self._last_faults = faults
        return ResidencySnapshot(
            path=probe.path,
            size=size,
            method=probe.method,
            known=probe.known,
            unknown_reason=probe.unknown_reason,
            totals=totals,
            overview=filled[0],
            detail=filled[1] if detail is not None else None,
            visible=visible,
            private_pages=own[1],
            touched_pages=own[2],
            faults=faults,
            fault_delta=delta,
            locked_bytes=probe.locked_bytes(),
            seconds=time.perf_counter() - began,
        )

    def _measure(
        self,
        probe: ResidencyProbe,
        size: int,
        layouts: list[BucketLayout],
        visible: tuple[int, int],
        full: bool,
    ) -> _Measured:
        """The file's and this process's bucket counts, each reused when it cannot have changed.

        The file's buckets depend on the page cache (the whole-file counters tell) and the
        layouts; this process's own pages on the view, the edits and the mode. Scrolling thus
        re-reads only the page tables, and an idle refresh nothing but one cachestat.
        """
        quick = probe.whole_file_counters(size)
        document = self.document
        file_key = (id(probe), size, tuple(layouts))
        own_key = (*file_key, visible, document.generation, document.mode)
        last = self._reuse
        now = time.monotonic()
        recent = (
            not full
            and last is not None
            and last.probe is probe
            and now - last.when < FULL_REFRESH_S
        )
        file_same = (
            recent and quick is not None and (last.file_key, last.quick) == (file_key, quick)
        )
        own_same = recent and last.own_key == own_key
        if file_same and own_same:
            return last
        if file_same:
            file_buckets, when = last.file_buckets, last.when
        else:
            file_buckets, when = [probe.buckets_for(layout) for layout in layouts], now
        own = last.own if own_same else self._own_pages(layouts)
        filled = [
            _with_own(buckets, own_counts)
            for buckets, own_counts in zip(file_buckets, own[0], strict=True)
        ]
        if last is not None and filled == last.filled:
            filled = last.filled  # the same values: the same objects, so nothing is redrawn
        totals = last.totals if file_same else _sum_counts(file_buckets[0])
        measured = _Measured(
            probe, file_key, own_key, quick, when, totals, file_buckets, own, filled
        )
        self._reuse = measured
        return measured

    def _own_pages(
        self, layouts: list[BucketLayout]
    ) -> tuple[list[tuple[list[int] | None, list[int] | None]], int | None, int | None]:
        """Per layout (private, touched) bucket counts, then the private and touched totals."""
        if self._pagemap_fd < 0:
            return [(None, None) for _ in layouts], None, None
        mapped = self.document.mapped
        any_private = False
        private = [[0] * layout.count for layout in layouts]
        touched = [[0] * layout.count for layout in layouts]
        private_total = touched_total = 0
        with mapped.windows_held() as windows:
            for window in windows:
                pages = -(-window.length // PAGE_SIZE)
                entries = os.pread(self._pagemap_fd, pages * 8, window.address // PAGE_SIZE * 8)
                top_bytes = entries[7::8]
                first_page = window.start // PAGE_SIZE
                present = top_bytes.translate(_PRESENT_TABLE)
                touched_total += present.count(1)
                for layout, totals in zip(layouts, touched, strict=True):
                    layout.add_page_flags(first_page, present, totals)
                if window.private:
                    any_private = True
                    copies = top_bytes.translate(_PRIVATE_COPY_TABLE)
                    private_total += copies.count(1)
                    for layout, totals in zip(layouts, private, strict=True):
                        layout.add_page_flags(first_page, copies, totals)
        private_mode = any_private or self.document.mode is OpenMode.PRIVATE
        per_layout = [
            (private[i] if private_mode else None, touched[i]) for i in range(len(layouts))
        ]
        return per_layout, (private_total if private_mode else None), touched_total

    # ------------------------------------------------------------- actions
    def touch(self, start: int, end: int, *, progress: Progress | None = None) -> ActionResult:
        return self.probe.touch(start, end, progress=progress)

    def read_ahead(self, start: int, end: int, *, progress: Progress | None = None) -> ActionResult:
        return self.probe.read_ahead(start, end, progress=progress)

    def evict(self, start: int, end: int) -> ActionResult:
        """Evict, after unmapping the viewer's windows without edits (mapped pages stay cached).

        Windows holding private edits are pinned and stay: their bytes exist nowhere else.
        """
        self.document.mapped.drop_windows(keep_pinned=True)
        return self.probe.evict(start, end)

    def lock(self, start: int, end: int) -> ActionResult:
        return self.probe.lock(start, end)

    def unlock(self, start: int, end: int) -> ActionResult:
        return self.probe.unlock(start, end)

    def close(self) -> None:
        with self._guard:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
            if self._pagemap_fd >= 0:
                os.close(self._pagemap_fd)
                self._pagemap_fd = -1


@dataclass(frozen=True)
class _Measured:
    """One full measurement and what it depended on (DocumentResidency._measure reuses it)."""

    probe: ResidencyProbe
    file_key: tuple[object, ...]
    own_key: tuple[object, ...]
    quick: tuple[int, ...] | None
    when: float  # when the file's buckets were measured
    totals: PageCounts
    file_buckets: list[Buckets]
    own: tuple[list[tuple[list[int] | None, list[int] | None]], int | None, int | None]
    filled: list[Buckets]


def _sum_counts(buckets: Buckets) -> PageCounts:
    layout = buckets.layout
    pages = layout.end_page - layout.first_page

    def total(values: tuple[int, ...] | None) -> int | None:
        return None if values is None else sum(values)

    return PageCounts(
        pages,
        total(buckets.resident),
        total(buckets.dirty),
        total(buckets.writeback),
        total(buckets.evicted),
        total(buckets.recently_evicted),
    )


def _with_own(buckets: Buckets, own: tuple[list[int] | None, list[int] | None]) -> Buckets:
    private, touched = own
    return Buckets(
        buckets.layout,
        buckets.resident,
        buckets.dirty,
        buckets.writeback,
        buckets.evicted,
        buckets.recently_evicted,
        None if private is None else tuple(private),
        None if touched is None else tuple(touched),
    )
