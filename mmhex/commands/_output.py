"""Standard output of the headless commands: a write that fails is an *output* error.

Commands catch OSError to report trouble with their input file. Writes to standard output go
through ``Output``, which turns a failure (disk full, stdout closed, broken pipe) into
OutputError, not an OSError, so it is never blamed on the input; ``cli.run_command`` prints one
line naming standard output and returns an exit status. File names that are not valid in the
locale's encoding are written back as the bytes they were given as (surrogateescape).
"""

from __future__ import annotations

import errno
import io  # already loaded at start-up; typing is not, and costs milliseconds
import os
import sys

Stream = io.TextIOBase | io.BufferedIOBase | io.RawIOBase | None

BROKEN_PIPE_STATUS = 128 + 13  # what a shell reports for a tool killed by SIGPIPE (xxd, grep)

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EBADF: "standard output is closed",
    errno.EPIPE: "the reading end of the pipe was closed",
    errno.EIO: "an input/output error occurred",
    errno.EFBIG: "the output file would be larger than allowed",
    errno.EROFS: "the file system is read-only",
    errno.EAGAIN: "standard output is non-blocking and full",
}


class OutputError(Exception):
    """Writing to standard output failed; ``str`` is the clause saying why."""

    def __init__(self, err: int | None) -> None:
        self.errno = err
        reason = _REASONS.get(err or 0) or os.strerror(err or errno.EIO).lower()
        super().__init__(reason)

    @property
    def broken_pipe(self) -> bool:
        return self.errno == errno.EPIPE


class Output:
    """A stand-in for ``sys.stdout`` (or its ``buffer``) whose write failures are OutputError.

    Bytes go to the binary layer in a loop until all are accepted: when a pipe's reader goes
    away mid-write the kernel reports a short write, and Python's buffered and text layers
    then drop the rest without an error; the next write of the loop gets EPIPE instead.
    """

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def write(self, data: str | bytes | memoryview) -> int:
        if self._stream is None:
            raise OutputError(errno.EBADF)
        try:
            if isinstance(data, str):
                self._write_text(data)
            else:
                _write_all(self._stream, data)
        except OSError as exc:
            raise OutputError(exc.errno) from exc
        return len(data)

    def _write_text(self, text: str) -> None:
        binary = getattr(self._stream, "buffer", None)
        if binary is None:  # a plain text stream (tests): nothing lower to loop over
            self._stream.write(text)
            return
        encoding = self._stream.encoding or "utf-8"
        try:
            data = text.encode(encoding, self._stream.errors or "strict")
        except UnicodeEncodeError:
            data = text.encode(encoding, "backslashreplace")
        self._stream.flush()  # anything written around us first, in order
        _write_all(binary, data)
        if getattr(self._stream, "line_buffering", False) and "\n" in text:
            binary.flush()

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputError(exc.errno) from exc

    @property
    def buffer(self) -> Output:
        return Output(getattr(self._stream, "buffer", None))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _write_all(stream: Stream, data: bytes | memoryview) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = stream.write(view)
        if written is None:  # a non-blocking stream that could take nothing now
            raise OSError(errno.EAGAIN, "standard output is full")
        view = view[written:]


def install() -> None:
    """Route ``sys.stdout`` through Output; make names in any encoding printable."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") == "utf8":
            reconfigure(errors="surrogateescape")
    if sys.stderr is None:  # print(file=None) would fall back to stdout
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if not isinstance(sys.stdout, Output):
        sys.stdout = Output(sys.stdout)


def abandon_output() -> None:
    """After a failed write, drop what is still buffered: the interpreter's final flush would
    fail again and print a second, Python-worded error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def report(text: str) -> OutputError | None:
    """Print ``text`` and flush it at once; the error instead of raising (for commands whose
    work is done and only the report is lost)."""
    try:
        print(text)
        sys.stdout.flush()
    except OutputError as exc:
        abandon_output()
        return exc
    return None
