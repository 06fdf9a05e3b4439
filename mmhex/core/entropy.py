"""Per-bucket Shannon entropy (0–8 bits per byte) and byte-class shares of a document range.

A bucket larger than its share of the sampling budget is represented by evenly spaced sample
pieces, so a terabyte costs the same few megabytes of reads as a gigabyte; holes inside a sample
count as zero bytes without being read. Histograms come from ``numpy.bincount`` (one vectorised
call per bucket, not a Python loop per byte). Never imports Qt.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from mmhex.core.holes import clip, readable_runs
from mmhex.core.lazy_module import LazyModule
from mmhex.core.progress import Progress

np = LazyModule("numpy")  # ~90 ms: loaded when a layer is first computed, not at start-up

# Bytes actually read for one profile, at most (holes are free).
DEFAULT_BUDGET = 4 * 1024 * 1024
# The size of one sample piece: a page, so a piece costs one fault.
SAMPLE_PIECE = 4096

# Byte classes as binvis/ImHex show them: what kind of bytes fill a region at a glance.
CLASS_NAMES = ("zero", "text", "control", "high", "0xff")


@functools.cache
def _class_table() -> np.ndarray:
    table = np.full(256, 3, dtype=np.int64)  # 0x80..0xFE: high
    table[:0x80] = 2  # control (below 0x80 and not text)
    table[0x20:0x7F] = 1
    table[[0x09, 0x0A, 0x0D]] = 1
    table[0x00] = 0
    table[0xFF] = 4
    return table


@dataclass(frozen=True)
class EntropyProfile:
    """``entropy[i]`` (bits/byte) and ``classes[i]`` (shares summing to 1) of bucket ``i``.

    Bucket ``i`` covers ``[edges[i], edges[i+1])``; ``sampled`` says whether some bucket was
    only sampled rather than read whole.
    """

    start: int
    end: int
    edges: tuple[int, ...]
    entropy: np.ndarray
    classes: np.ndarray
    sampled: bool
    bytes_read: int

    def __len__(self) -> int:
        return len(self.entropy)

    def bucket_of(self, offset: int) -> int:
        index = int(np.searchsorted(np.asarray(self.edges), offset, side="right")) - 1
        return max(0, min(len(self.entropy) - 1, index))


def entropy_of_counts(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits per byte of each row of a (n, 256) histogram (0 for empty rows)."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(totals > 0, counts / np.where(totals > 0, totals, 1), 0.0)
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1)), 0.0)
    return terms.sum(axis=-1)


def class_shares(counts: np.ndarray) -> np.ndarray:
    """(n, 5) shares of zero / text / control / high / 0xFF bytes from (n, 256) histograms."""
    counts = np.asarray(counts, dtype=np.float64)
    by_class = np.zeros((counts.shape[0], len(CLASS_NAMES)))
    for index in range(len(CLASS_NAMES)):
        by_class[:, index] = counts[:, index == _class_table()].sum(axis=1)
    totals = by_class.sum(axis=1, keepdims=True)
    return np.where(totals > 0, by_class / np.where(totals > 0, totals, 1), 0.0)


def _sample_pieces(lo: int, hi: int, share: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` whole if it fits in ``share`` bytes, else evenly spaced page-sized pieces."""
    length = hi - lo
    if length <= share:
        return [(lo, hi)]
    count = max(1, share // SAMPLE_PIECE)
    piece = min(SAMPLE_PIECE, length)
    step = (length - piece) // max(1, count - 1) if count > 1 else 0
    return [(lo + k * step, lo + k * step + piece) for k in range(count)]


def histograms(
    source: Any,
    start: int,
    end: int,
    buckets: int,
    *,
    budget: int = DEFAULT_BUDGET,
    progress: Progress | None = None,
) -> tuple[tuple[int, ...], np.ndarray, bool, int]:
    """(edges, (n, 256) byte counts, sampled, bytes read) of ``buckets`` equal parts of a range."""
    end = max(start, end)
    n = max(1, min(buckets, end - start)) if end > start else 0
    edges = tuple(start + (end - start) * i // n for i in range(n + 1)) if n else (start, start)
    counts = np.zeros((max(n, 1), 256), dtype=np.int64)
    runs = readable_runs(source, start, end)
    share = max(SAMPLE_PIECE, budget // max(n, 1))
    sampled = False
    bytes_read = 0
    for index in range(n):
        lo, hi = edges[index], edges[index + 1]
        pieces = _sample_pieces(lo, hi, share)
        sampled = sampled or pieces != [(lo, hi)]
        zeros = 0
        for piece_lo, piece_hi in pieces:
            covered = 0
            for data_lo, data_hi in clip(runs, piece_lo, piece_hi):
                data = source.read(data_lo, data_hi - data_lo)
                covered += data_hi - data_lo
                bytes_read += len(data)
                if data:
                    counts[index] += np.bincount(np.frombuffer(data, np.uint8), minlength=256)
            zeros += (piece_hi - piece_lo) - covered
        counts[index, 0] += zeros
        if progress is not None:
            progress.advance(hi - lo)
    return edges, counts[:n], sampled, bytes_read


def profile(
    source: Any,
    start: int,
    end: int,
    buckets: int,
    *,
    budget: int = DEFAULT_BUDGET,
    progress: Progress | None = None,
) -> EntropyProfile:
    """Entropy and byte classes of ``buckets`` equal parts of ``[start, end)`` of a document."""
    edges, counts, sampled, bytes_read = histograms(
        source, start, end, buckets, budget=budget, progress=progress
    )
    return EntropyProfile(
        start,
        max(start, end),
        edges,
        entropy_of_counts(counts),
        class_shares(counts),
        sampled,
        bytes_read,
    )
