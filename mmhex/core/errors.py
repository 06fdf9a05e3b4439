"""Turn errno values and file-state surprises into one clear sentence for the user.

Never let a traceback be the message: every failure the mmap/munmap/mincore/msync man pages list
has a sentence here.
"""

from __future__ import annotations

import errno

# One plain sentence per errno that opening, mapping, syncing or residency calls can produce.
_ERRNO_SENTENCES: dict[int, str] = {
    errno.ENOENT: "The file does not exist.",
    errno.EACCES: "Permission denied: you are not allowed to read this file.",
    errno.EPERM: "The operation is not permitted (the file may be sealed, immutable or "
    "on a file system mounted noexec, or the kernel refused it for this user).",
    errno.EISDIR: "This is a directory, not a file.",
    errno.ELOOP: "The path contains a symbolic link loop.",
    errno.ENAMETOOLONG: "The path is too long.",
    errno.ENOTDIR: "A component of the path is not a directory.",
    errno.ENXIO: "This is a socket or a device without a driver; it cannot be opened as a file.",
    errno.ENODEV: "This kind of file cannot be memory-mapped (the file system or device does "
    "not support mmap).",
    errno.EINVAL: "The kernel rejected the mapping parameters (offset or length out of range "
    "for this file).",
    errno.EBADF: "The file descriptor is no longer valid (the file was closed).",
    errno.ENOMEM: "Not enough memory or address space to map this part of the file.",
    errno.ETXTBSY: "The file is being executed and cannot be written (text file busy).",
    errno.EAGAIN: "The file is locked or too much memory is locked (try again later).",
    errno.EOVERFLOW: "The offset is too large for this file.",
    errno.EIO: "An I/O error occurred reading the file (it may have been truncated by another "
    "program, or the device failed).",
    errno.EROFS: "The file system is read-only.",
    errno.ENOSPC: "The disk is full.",
    errno.EDQUOT: "The disk quota is exhausted.",
    errno.EFBIG: "The file would become larger than this file system allows.",
    errno.EBUSY: "The device or file is busy.",
    errno.ENOSYS: "The kernel does not provide this system call.",
}


class MmhexError(Exception):
    """An error whose ``str`` is already the sentence to show the user."""


class UnsupportedFileError(MmhexError, OSError):
    """The path exists but is not something mmhex can show (directory, FIFO, pseudo-file …)."""

    def __init__(self, err: int, sentence: str, path: str = "") -> None:
        OSError.__init__(self, err, sentence, path)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


class FileTruncatedError(MmhexError, OSError):
    """The file became shorter while mapped: the bytes asked for no longer exist."""

    def __init__(self, path: str, old_size: int, new_size: int) -> None:
        self.old_size = old_size
        self.new_size = new_size
        sentence = (
            f"The file was truncated by another program (from {old_size:,} to {new_size:,} "
            "bytes); the missing bytes can no longer be read."
        )
        OSError.__init__(self, errno.EIO, sentence, path)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


class SavingInProgressError(MmhexError, OSError):
    """A read of a document whose file's bytes an in-place save is moving (see
    Document.reads_held): they would be half-moved, so the read is refused instead."""

    def __init__(self, path: str = "") -> None:
        sentence = "Saving… try again when it finishes (the file's bytes are being moved)."
        OSError.__init__(self, errno.EBUSY, sentence, path)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


class FileChangingError(MmhexError, OSError):
    """The file's size changed again and again while mmhex was mapping it."""

    def __init__(self, path: str) -> None:
        sentence = (
            "The file changed size while it was being read (another program keeps rewriting "
            "it); try again."
        )
        OSError.__init__(self, errno.EAGAIN, sentence, path)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


def describe_errno(err: int | None) -> str:
    """The sentence for an errno (or a generic one naming the errno)."""
    if err is None:
        return "An unknown error occurred."
    try:
        name = errno.errorcode[err]
    except KeyError:
        name = f"errno {err}"
    return _ERRNO_SENTENCES.get(err, f"The system reported an error ({name}).")


def describe_error(exc: BaseException, path: str | None = None) -> str:
    """One sentence for any exception raised while opening, reading, mapping or saving."""
    if isinstance(exc, MmhexError):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.errno is not None:
        text = describe_errno(exc.errno)
        call = _named_call(exc)
        if call:
            text = f"{text} [{call}]"
    elif isinstance(exc, OSError):
        text = str(exc) or "An operating system error occurred."
    elif isinstance(exc, ValueError | OverflowError):
        text = f"Invalid value: {exc}"
    else:
        text = f"Unexpected error: {exc}"
    return f"{path}: {text}" if path else text


def _named_call(exc: OSError) -> str:
    """The syscall an OSError from ``_libc.raise_errno`` names, e.g. 'mincore'."""
    message = exc.strerror or ""
    if message.endswith(")") and "(" in message:
        return message[message.rindex("(") + 1 : -1]
    return ""
