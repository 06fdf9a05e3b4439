"""CRC-32, MD5, SHA-1 and SHA-256 of a range of a document, window by window.

Digests come from ``zlib``/``hashlib`` fed with in-place views of the mapping (read under a lease,
see ``scan.SafeReader``), so a multi-gigabyte selection costs no copy and cannot SIGBUS; hashlib
releases the GIL on large buffers, so a worker thread leaves the window responsive.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

from mmhex.core.progress import Progress
from mmhex.core.read_through import scannable
from mmhex.core.scan import DEFAULT_CHUNK, SafeReader, iter_runs, view_region, zero_pieces

ALGORITHMS = ("CRC-32", "MD5", "SHA-1", "SHA-256")
_HASHLIB_NAMES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256"}


class _Crc32:
    """zlib.crc32 behind the hashlib interface."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: Any) -> None:
        self.value = zlib.crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


def _new(algorithm: str) -> Any:
    if algorithm == "CRC-32":
        return _Crc32()
    try:
        return hashlib.new(_HASHLIB_NAMES[algorithm])
    except KeyError:
        raise ValueError(
            f"unknown checksum {algorithm!r}; known: {', '.join(ALGORITHMS)}"
        ) from None


def compute_checksums(
    source: Any,
    start: int = 0,
    end: int | None = None,
    algorithms: tuple[str, ...] = ALGORITHMS,
    *,
    progress: Progress | None = None,
    use_lease: bool = True,
    chunk_size: int = DEFAULT_CHUNK,
) -> dict[str, str]:
    """``{algorithm: lowercase hex digest}`` of bytes ``[start, end)`` (edits included).

    Raises FileTruncatedError if the file shrinks meanwhile, Cancelled if cancelled.
    """
    mapped = scannable(source)  # see read_through
    end = mapped.size if end is None else min(end, mapped.size)
    start = max(0, min(start, end))
    hashers = {name: _new(name) for name in algorithms}
    with SafeReader(mapped, use_lease=use_lease) as reader:
        for run_start, run_end, is_data in iter_runs(source, start, end):
            if not is_data:  # a hole: zeros from the shared buffer, nothing read or faulted in
                for zeros in zero_pieces(run_end - run_start):
                    for hasher in hashers.values():
                        hasher.update(zeros)
                    if progress is not None:
                        progress.advance(len(zeros))
                continue
            _digest_run(mapped, reader, hashers, run_start, run_end, progress, chunk_size)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _digest_run(
    mapped: Any,  # a MappedFile or a ReadThrough (see read_through)
    reader: SafeReader,
    hashers: dict[str, Any],
    start: int,
    end: int,
    progress: Progress | None,
    chunk_size: int,
) -> None:
    """Feed ``[start, end)`` window piece by window piece, viewed in place where possible."""
    pos = start
    with reader.holding():
        while pos < end:
            piece_end = min(end, view_region(mapped, pos)[1], pos + chunk_size)
            with reader.view(pos, piece_end) as data:
                for hasher in hashers.values():
                    hasher.update(data)
            if progress is not None:
                progress.advance(piece_end - pos)
            pos = piece_end
