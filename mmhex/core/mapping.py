"""MappedFile: a file of any size seen through a few fixed-size mmap windows, read without faults.

Windows are aligned to ``mmap.ALLOCATIONGRANULARITY`` and kept in a small LRU, so a 1 TiB or an
8 EiB sparse file costs a handful of mappings and only the pages actually read become resident.
Reads never touch mapped memory from Python: they ``pread`` the process's own memory through
``/proc/self/mem``, which returns EIO for a page past a truncated end where a direct access would
raise SIGBUS and kill the process.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from mmhex.core._libc import madvise, mapping_address
from mmhex.core.errors import FileChangingError, FileTruncatedError
from mmhex.core.plain_file import open_classified
from mmhex.core.record import record  # not dataclasses: the command line's start-up

# Linux value; Python 3.11's mmap module has no constant, but passes the flag through. Without it
# a writable MAP_PRIVATE mapping is charged against memory (1 TiB fails with ENOMEM).
MAP_NORESERVE = 0x4000

DEFAULT_WINDOW_SIZE = 16 * 1024 * 1024
DEFAULT_MAX_WINDOWS = 16
# In private (edit) mode a file up to this size is mapped once, whole: every edited window is a
# view into that one mapping. Python's mmap duplicates the descriptor for every mapping, so one
# mapping per edited window ran out of descriptors after 1,024 scattered edits (EMFILE) and
# would run into vm.max_map_count (65,530) after that; one mapping costs one descriptor and one
# VMA whatever the number of edits, and an edit still costs one private (copy-on-write) page.
# Larger files (an 8 EiB tmpfs file does not fit the address space) keep one mapping per window.
WHOLE_PRIVATE_LIMIT = 1 << 44


class OpenMode(enum.Enum):
    """How the windows are mapped."""

    READ_ONLY = "read-only"
    PRIVATE = "private edit"  # MAP_PRIVATE + PROT_WRITE: copy-on-write, the disk is untouched


class FileKind(enum.Enum):
    REGULAR = "regular file"
    BLOCK_DEVICE = "block device"
    PIECES = "edited document"  # core/piece_view.py: bytes inserted or deleted, no one file


def open_process_memory(*, writable: bool = False) -> int:
    """A descriptor on ``/proc/self/mem`` (-1 where a hardened kernel refuses it).

    Reading or writing our own mapped pages through it returns EIO for a page past a truncated
    end, where touching the page directly would raise SIGBUS and kill the process.
    """
    try:
        return os.open("/proc/self/mem", (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
    except OSError:
        return -1


def write_process_memory(mem_fd: int, address: int, data: bytes | memoryview) -> int:
    """Copy ``data`` to ``address`` of this process; returns how many bytes landed before a fault.

    Writing a MAP_PRIVATE page this way copies it on write exactly as a store would; writing a
    MAP_SHARED page dirties the page cache. A page the file no longer backs stops the copy.
    """
    view = memoryview(data)
    done = 0
    while done < len(view):
        try:
            count = os.pwrite(mem_fd, view[done:], address + done)
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            return done
        if count <= 0:
            return done
        done += count
    return done


@record(frozen=True)
class FileIdentity:
    """What says 'this is still the same file, unchanged': compared to notice outside changes."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def from_stat(cls, st: os.stat_result, size: int | None = None) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size if size is None else size, st.st_mtime_ns)


@record
class Window:
    """One mapping of ``length`` bytes of the file starting at ``start``."""

    start: int
    length: int
    mm: mmap.mmap | memoryview  # a view into the whole-file private mapping (see above)
    address: int
    private: bool
    pinned: bool = False

    @property
    def end(self) -> int:
        return self.start + self.length

    def madvise(self, option: int, start: int = 0, length: int | None = None) -> None:
        """``madvise`` on ``[start, start + length)`` of the window (``start`` page-aligned)."""
        length = self.length - start if length is None else length
        if isinstance(self.mm, mmap.mmap):
            self.mm.madvise(option, start, length)
        else:
            madvise(self.address + start, length, option)


class MappedFile:
    """A file (regular or block device) mapped window by window; all offsets are 64-bit ints."""

    def __init__(
        self,
        path: str,
        mode: OpenMode = OpenMode.READ_ONLY,
        *,
        window_size: int = DEFAULT_WINDOW_SIZE,
        max_windows: int = DEFAULT_MAX_WINDOWS,
    ) -> None:
        if window_size <= 0 or window_size % mmap.ALLOCATIONGRANULARITY:
            raise ValueError("window_size must be a positive multiple of ALLOCATIONGRANULARITY")
        self.path = os.path.abspath(path)
        self.window_size = window_size
        self.max_windows = max(2, max_windows)
        self._mode = mode
        self._lock = threading.RLock()
        self._windows: OrderedDict[int, Window] = OrderedDict()  # unpinned, least recent first
        self._pinned: dict[int, Window] = {}  # windows holding private edits: never evicted
        self._whole: mmap.mmap | None = None  # private mode: the whole file, mapped once
        self._whole_view: memoryview | None = None
        self._whole_address = 0
        self._retired: list[mmap.mmap] = []  # close() refused (a memoryview is alive); retry later
        self._fd, st, block, self._size = open_classified(path, self.path)
        try:
            self.kind = FileKind.BLOCK_DEVICE if block else FileKind.REGULAR
            self.identity = FileIdentity.from_stat(st, self._size)
            self._mem_fd = self._open_self_mem()
            self._mem_write_fd = -1  # opened on the first private write
        except BaseException:
            os.close(self._fd)
            raise

    # ----------------------------------------------------------------- properties
    @property
    def size(self) -> int:
        return self._size

    @property
    def mode(self) -> OpenMode:
        return self._mode

    @property
    def fd(self) -> int:
        """The read-only descriptor (for pread of on-disk bytes, fadvise, fstat)."""
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def writable_on_disk(self) -> bool:
        """Whether this user may write the file in place (editing privately is always possible)."""
        return os.access(self.path, os.W_OK)

    # ----------------------------------------------------------------- windows
    def _open_self_mem(self) -> int:
        try:
            return os.open("/proc/self/mem", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return -1  # hardened kernels: reads fall back to pread on the file (read-only mode)

    def window_start(self, offset: int) -> int:
        return offset - offset % self.window_size

    def window_at(self, offset: int) -> Window:
        """The window covering ``offset`` (mapping it if needed); ``offset`` must be < size."""
        if not 0 <= offset < self._size:
            raise ValueError(f"offset {offset} outside the file (size {self._size})")
        start = self.window_start(offset)
        with self._lock:
            window = self._pinned.get(start)
            if window is not None:
                return window
            window = self._windows.get(start)
            if window is not None:
                self._windows.move_to_end(start)
                return window
            window = self._map(start, min(self.window_size, self._size - start))
            self._windows[start] = window
            self._evict_unpinned()
            return window

    def iter_windows(self, start: int, end: int) -> Iterator[Window]:
        """Windows overlapping ``[start, end)`` clipped to the file, in order."""
        pos = max(0, start)
        end = min(end, self._size)
        while pos < end:
            window = self.window_at(pos)
            yield window
            pos = window.end

    def mapped_windows(self) -> list[Window]:
        """The windows mapped now (a copy; for residency and tests)."""
        with self._lock:
            return [*self._pinned.values(), *self._windows.values()]

    @property
    def mapping_count(self) -> int:
        """Mappings (and so duplicated descriptors) held now: the whole-file one, or windows."""
        with self._lock:
            if self._whole is not None:
                return 1 + len(self._retired)
            return len(self._pinned) + len(self._windows) + len(self._retired)

    @contextmanager
    def windows_held(self) -> Iterator[list[Window]]:
        """The mapped windows, none of which can be unmapped until the block ends.

        For probes (mincore, /proc/self/pagemap) that read a window's address from another
        thread: without the lock the address could be unmapped and reused under them.
        """
        with self._lock:
            yield [*self._pinned.values(), *self._windows.values()]

    @contextmanager
    def forking(self) -> Iterator[None]:
        """Wrap ``os.fork()`` of a process that goes on reading this mapping (a search process).

        The lock is held across the fork, so the child never starts with it held by another
        thread; in the child, the fault-free reads are pointed at the child's own memory (an
        inherited /proc/self/mem descriptor still reads the parent's).
        """
        parent = os.getpid()
        with self._lock:
            yield
            if os.getpid() != parent:
                for fd in (self._mem_fd, self._mem_write_fd):
                    if fd >= 0:
                        os.close(fd)
                self._mem_write_fd = -1  # reopened by the first private write
                self._mem_fd = self._open_self_mem()

    def pin(self, offset: int) -> Window:
        """Keep the window holding ``offset`` mapped (it holds private edits)."""
        with self._lock:
            window = self.window_at(offset)
            if not window.pinned:
                window.pinned = True
                self._windows.pop(window.start, None)
                self._pinned[window.start] = window
            return window

    def unpin_all(self) -> None:
        with self._lock:
            for window in self._pinned.values():
                window.pinned = False
                self._windows[window.start] = window
            self._pinned.clear()
            self._evict_unpinned()

    def _map(self, start: int, length: int) -> Window:
        private = self._mode is OpenMode.PRIVATE
        if private and 0 < self._size <= WHOLE_PRIVATE_LIMIT:
            return self._whole_window(start, length)
        if private:
            flags = mmap.MAP_PRIVATE | MAP_NORESERVE
            prot = mmap.PROT_READ | mmap.PROT_WRITE
        else:
            flags = mmap.MAP_SHARED
            prot = mmap.PROT_READ
        try:
            mm = mmap.mmap(self._fd, length, flags=flags, prot=prot, offset=start)
        except ValueError as exc:
            # Python refuses a window past st_size: the file shrank since we last looked.
            new_size = self.current_size()
            if new_size >= start + length:
                # ... and grew back before we looked again: one more try settles it.
                try:
                    mm = mmap.mmap(self._fd, length, flags=flags, prot=prot, offset=start)
                except ValueError:
                    raise FileChangingError(self.path) from exc
            else:
                old = self._size
                self.refresh()
                raise FileTruncatedError(self.path, old, new_size) from exc
        return Window(start, length, mm, mapping_address(mm), private)

    def _whole_window(self, start: int, length: int) -> Window:
        """A window that is a view into the one private mapping of the whole file."""
        if self._whole is None or len(self._whole) < start + length:
            self._map_whole()
        assert self._whole_view is not None
        view = self._whole_view[start : start + length]
        return Window(start, length, view, self._whole_address + start, True)

    def _map_whole(self) -> None:
        """(Re-)map the whole file privately; edited windows move over with their bytes."""
        flags = mmap.MAP_PRIVATE | MAP_NORESERVE
        prot = mmap.PROT_READ | mmap.PROT_WRITE
        try:
            mm = mmap.mmap(self._fd, self._size, flags=flags, prot=prot)
        except ValueError as exc:
            old = self._size
            new_size = self.current_size()
            self.refresh()
            raise FileTruncatedError(self.path, old, new_size) from exc
        old_pinned = list(self._pinned.values())
        self._drop_whole()
        self._whole = mm
        self._whole_view = memoryview(mm)
        self._whole_address = mapping_address(mm)
        self._pinned = {}
        for window in old_pinned:
            if window.start >= self._size:
                continue
            length = min(self.window_size, self._size - window.start)
            moved = Window(
                window.start,
                length,
                self._whole_view[window.start : window.start + length],
                self._whole_address + window.start,
                True,
                True,
            )
            self._pinned[window.start] = moved
            # The old mapping is retired (closed when nothing uses it): copy its edited bytes.
            with contextlib.suppress(OSError, ValueError):
                content = bytes(window.mm[: min(window.length, length)])
                self._write_window(moved, moved.start, memoryview(content))

    def _drop_whole(self) -> None:
        """Unmap the whole-file mapping (and with it every private page); windows go too."""
        for window in list(self._windows.values()):
            if isinstance(window.mm, memoryview):
                self._windows.pop(window.start)
                self._close_mm(window.mm)
        if self._whole is None:
            return
        assert self._whole_view is not None
        self._close_mm(self._whole_view)
        self._close_mm(self._whole)
        self._whole = self._whole_view = None
        self._whole_address = 0

    def _evict_unpinned(self) -> None:
        # Pinned windows live apart, so the oldest unpinned window is the victim; with at least
        # two windows allowed it is never the one just handed out.
        while len(self._windows) > self.max_windows:
            self._close_mm(self._windows.popitem(last=False)[1].mm)
        self._retry_retired()

    def _close_mm(self, mm: mmap.mmap | memoryview) -> None:
        try:
            if isinstance(mm, memoryview):
                mm.release()
            else:
                mm.close()
        except BufferError:
            self._retired.append(mm)

    def _retry_retired(self) -> None:
        pending, self._retired = self._retired, []
        for mm in pending:
            self._close_mm(mm)

    def drop_windows(self, *, keep_pinned: bool = True) -> None:
        """Unmap windows (all, or all but those holding edits) so the next read maps afresh."""
        with self._lock:
            for window in self._windows.values():
                self._close_mm(window.mm)
            self._windows.clear()
            if not keep_pinned:
                for window in self._pinned.values():
                    self._close_mm(window.mm)
                self._pinned.clear()
                self._drop_whole()
            self._retry_retired()

    # ----------------------------------------------------------------- reads
    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset+length)`` as this process sees them (private edits included).

        Clipped at the end of the file. Raises FileTruncatedError, never SIGBUS, when another
        process shrank the file under the mapping.
        """
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be non-negative")
        end = min(offset + length, self._size)
        parts: list[bytes] = []
        pos = offset
        while pos < end:
            with self._lock:
                window = self.window_at(pos)
                count = min(end, window.end) - pos
                parts.append(self._read_window(window, pos, count))
            pos += count
        return b"".join(parts)

    def _read_window(self, window: Window, pos: int, count: int) -> bytes:
        if self._mem_fd < 0:
            if window.private:
                return bytes(memoryview(window.mm)[pos - window.start : pos - window.start + count])
            return self.read_original(pos, count)
        try:
            data = os.pread(self._mem_fd, count, window.address + (pos - window.start))
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            data = b""
        if len(data) == count:
            return data
        self._raise_if_truncated(pos + count)
        raise OSError(errno.EIO, f"I/O error reading offset {pos:#x}", self.path)

    def read_original(self, offset: int, length: int) -> bytes:
        """The bytes on disk now, ignoring private edits (pread on the file, never faults)."""
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be non-negative")
        parts: list[bytes] = []
        end = min(offset + length, self._size)
        while offset < end:
            chunk = os.pread(self._fd, min(end - offset, 1 << 24), offset)
            if not chunk:
                self._raise_if_truncated(end)
                break
            parts.append(chunk)
            offset += len(chunk)
        return b"".join(parts)

    def _raise_if_truncated(self, needed_end: int) -> None:
        new_size = self.current_size()
        if new_size < needed_end:
            old = self._size
            self.refresh()
            raise FileTruncatedError(self.path, old, new_size)

    # ----------------------------------------------------------------- private writes
    def write(self, offset: int, data: bytes | memoryview) -> None:
        """Copy ``data`` into the private pages at ``offset`` and pin their windows.

        Only in PRIVATE mode: the pages are copied on write, the file is never touched. Raises
        FileTruncatedError, never SIGBUS, when another process shrank the file under the mapping.
        """
        if self._mode is not OpenMode.PRIVATE:
            raise ValueError("writes need the private (copy-on-write) mode")
        view = memoryview(data)
        end = offset + len(view)
        if offset < 0 or end > self._size:
            raise ValueError(f"write [{offset}, {end}) outside the file (size {self._size})")
        pos = offset
        with self._lock:
            while pos < end:
                window = self.pin(pos)
                count = min(end, window.end) - pos
                self._write_window(window, pos, view[pos - offset : pos - offset + count])
                pos += count

    def _write_window(self, window: Window, pos: int, chunk: memoryview) -> None:
        if self._mem_write_fd < 0:
            self._mem_write_fd = open_process_memory(writable=True)
        if self._mem_write_fd < 0:
            # No /proc/self/mem: check the size right before the store to keep the SIGBUS window
            # as small as possible.
            self._raise_if_truncated(pos + len(chunk))
            memoryview(window.mm)[pos - window.start : pos - window.start + len(chunk)] = chunk
            return
        written = write_process_memory(
            self._mem_write_fd, window.address + (pos - window.start), chunk
        )
        if written < len(chunk):
            self._raise_if_truncated(pos + len(chunk))
            raise OSError(errno.EIO, f"I/O error writing offset {pos + written:#x}", self.path)

    # ----------------------------------------------------------------- outside changes
    def current_size(self) -> int:
        """The size of the open file now (fstat; lseek for block devices)."""
        if self.kind is FileKind.BLOCK_DEVICE:
            return os.lseek(self._fd, 0, os.SEEK_END)
        return os.fstat(self._fd).st_size

    def refresh(self) -> bool:
        """Re-read size and mtime of the open file; re-map if it changed. True if it changed."""
        with self._lock:
            st = os.fstat(self._fd)
            identity = FileIdentity.from_stat(st, self.current_size())
            if identity == self.identity:
                return False
            self.identity = identity
            self._size = identity.size
            # A window's length was fixed when mapped: drop them so none is stale or past EOF.
            self.drop_windows(keep_pinned=True)
            if self._whole is not None:
                if len(self._whole) < self._size and self._size <= WHOLE_PRIVATE_LIMIT:
                    self._map_whole()  # grew: map it whole again, edits moved over
                else:
                    for start in [s for s in self._pinned if s >= self._size]:
                        self._close_mm(self._pinned.pop(start).mm)
                return True
            for start in [s for s in self._pinned if s >= self._size]:
                self._close_mm(self._pinned.pop(start).mm)
            for window in list(self._pinned.values()):
                if window.length < min(self.window_size, self._size - window.start):
                    self._regrow_pinned(window)
            return True

    def _regrow_pinned(self, window: Window) -> None:
        """The file grew past a pinned (edited) tail window: map it longer, keeping its bytes."""
        try:
            content = self._read_window(window, window.start, window.length)
        except OSError:
            content = b""  # its pages went with a truncation in between; the edit log has them
        longer = self._map(window.start, min(self.window_size, self._size - window.start))
        longer.pinned = True
        self._pinned[window.start] = longer
        self._close_mm(window.mm)
        if content:
            # A failure here is yet another truncation; the edit log still has every byte.
            with contextlib.suppress(OSError):
                self._write_window(longer, longer.start, memoryview(content))

    def set_mode(self, mode: OpenMode) -> None:
        """Switch read-only <-> private edit; every window is re-mapped (private pages dropped)."""
        with self._lock:
            self.drop_windows(keep_pinned=False)
            self._mode = mode

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            self.drop_windows(keep_pinned=False)
            os.close(self._fd)
            self._fd = -1
            if self._mem_fd >= 0:
                os.close(self._mem_fd)
                self._mem_fd = -1
            if self._mem_write_fd >= 0:
                os.close(self._mem_write_fd)
                self._mem_write_fd = -1

    def __enter__(self) -> MappedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
