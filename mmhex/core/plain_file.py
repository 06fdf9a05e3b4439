"""PlainFile: a regular file or block device read with ``pread`` alone, for one-shot commands.

``mmhex dump`` prints a few bytes and exits. A ``MappedFile`` would cost more start-up than the
whole dump (its windows need ctypes for their addresses, its lock ``threading``, its LRU
``collections``, its modes ``enum``: about 5 ms against 7 ms for ``python -c pass``). ``pread``
gives the same bytes (the page cache), never faults (a file truncated meanwhile gives a short
read, reported as FileTruncatedError), and hole runs (``SEEK_DATA``/``SEEK_HOLE``) are made as
zeros instead of read, as ``holes.reader_skipping_holes`` does for mapped files. The opening and
refusing (``open_classified``, shared with ``mapping.py``) imports only ``os``, ``stat``, ``errno``.
"""

from __future__ import annotations

import errno
import os
import stat

from mmhex.core.errors import FileTruncatedError, UnsupportedFileError


def classify(fd: int, st: os.stat_result, path: str) -> tuple[bool, int]:
    """``(is_block_device, size)`` of what ``fd`` is, refusing what cannot be shown as a file."""
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise UnsupportedFileError(errno.EISDIR, "This is a directory, not a file.", path)
    if stat.S_ISFIFO(mode):
        raise UnsupportedFileError(
            errno.ENODEV, "This is a named pipe (FIFO): it has no fixed contents to map.", path
        )
    if stat.S_ISSOCK(mode):
        raise UnsupportedFileError(errno.ENXIO, "This is a socket, not a file.", path)
    if stat.S_ISCHR(mode):
        raise UnsupportedFileError(
            errno.ENODEV,
            "This is a character device (a terminal, /dev/zero, …): it has no size and cannot be "
            "shown as a file.",
            path,
        )
    if stat.S_ISBLK(mode):
        # st_size is 0 for block devices; the end of the device is where lseek says.
        return True, os.lseek(fd, 0, os.SEEK_END)
    if not stat.S_ISREG(mode):
        raise UnsupportedFileError(errno.ENODEV, "This kind of file cannot be shown.", path)
    if st.st_size == 0 and os.pread(fd, 1, 0):
        raise UnsupportedFileError(
            errno.ENODEV,
            "This is a special file (like those under /proc or /sys) whose size the kernel "
            "reports as 0 although it has contents; it cannot be memory-mapped.",
            path,
        )
    return False, st.st_size


def open_classified(path: str, name: str | None = None) -> tuple[int, os.stat_result, bool, int]:
    """Open ``path`` read-only: ``(fd, stat, is_block_device, size)``; the fd is blocking.

    O_NONBLOCK while opening, so that a FIFO does not wait for a writer before it is refused.
    ``name`` is the path errors give (default ``path``).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        block, size = classify(fd, st, path if name is None else name)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st, block, size


class PlainFile:
    """The bytes of a file as it is on disk (and in the page cache), read with ``pread``."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.fd, _st, block, self.size = open_classified(path, self.path)
        self._seek_holes = not block  # SEEK_DATA where the file system answers it

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)`` clipped at the size; holes made, not read."""
        end = min(offset + length, self.size)
        parts: list[bytes] = []
        pos = offset
        while pos < end:
            data = self._data_at_or_after(pos, end)
            if data > pos:
                parts.append(bytes(data - pos))
                pos = data
                continue
            stop = self._hole_at_or_after(pos, end)
            chunk = os.pread(self.fd, min(stop - pos, 1 << 24), pos)
            if not chunk:
                raise FileTruncatedError(self.path, self.size, os.fstat(self.fd).st_size)
            parts.append(chunk)
            pos += len(chunk)
        return b"".join(parts)

    def _data_at_or_after(self, pos: int, end: int) -> int:
        if not self._seek_holes:
            return pos
        try:
            return min(end, os.lseek(self.fd, pos, os.SEEK_DATA))
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # no SEEK_DATA here: read everything
                self._seek_holes = False
                return pos
        # Only a hole up to the end of the file: zeros, unless the file is shorter than that now.
        now = os.fstat(self.fd).st_size
        if now < end:
            raise FileTruncatedError(self.path, self.size, now)
        return end

    def _hole_at_or_after(self, pos: int, end: int) -> int:
        if not self._seek_holes:
            return end
        try:
            return max(pos + 1, min(end, os.lseek(self.fd, pos, os.SEEK_HOLE)))
        except OSError:
            return end
