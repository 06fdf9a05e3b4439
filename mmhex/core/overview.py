"""The overview bar's layers: the whole document in ``n`` buckets, one value row per bucket.

Each layer is a plain value the bar only colours: data/holes/unwritten shares (SEEK_DATA and
FIEMAP), sampled entropy, byte-class shares, page-cache residency (cachestat), and the ranges
other processes map. Bounded cost whatever the size: holes are known without reading, entropy
reads a fixed budget. Never imports Qt.
"""

from __future__ import annotations

import enum
import itertools
import os
from dataclasses import dataclass
from typing import Any

from mmhex.core import _libc, entropy
from mmhex.core.extents import extents_of_fd
from mmhex.core.holes import hole_map, readable_runs
from mmhex.core.lazy_module import LazyModule
from mmhex.core.mappers import dirty_buckets, private_page_offsets, who_maps

np = LazyModule("numpy")  # ~90 ms: loaded when a layer is first computed, not at start-up

# Entropy budget for the bar: ~1 MiB of reads keeps a refresh well under 100 ms.
OVERVIEW_BUDGET = 1024 * 1024


class Layer(enum.Enum):
    DATA = "Data and holes"
    ENTROPY = "Entropy"
    CLASSES = "Byte class"
    RESIDENCY = "Residency"
    PAGES = "Private and dirty pages"


@dataclass(frozen=True)
class OverviewLayer:
    """``values[i]`` describes bucket ``[edges[i], edges[i+1])``.

    DATA: (data, unwritten, hole) shares; ENTROPY: (bits/8,); CLASSES: the five class shares of
    ``entropy.CLASS_NAMES``; RESIDENCY: (cached share,), NaN where the kernel will not say;
    PAGES: (private copy, dirty, writeback) shares, dirty/writeback NaN where unknown.
    ``others`` are file ranges that other processes map.
    """

    layer: Layer
    size: int
    edges: tuple[int, ...]
    values: np.ndarray
    note: str = ""
    others: tuple[tuple[int, int], ...] = ()

    def bucket_of(self, offset: int) -> int:
        index = int(np.searchsorted(np.asarray(self.edges), offset, side="right")) - 1
        return max(0, min(len(self.values) - 1, index))


def file_of(document: Any) -> Any | None:
    """The document's mapped file, or None when it shows no file (a process's memory)."""
    from mmhex.core.mapping import MappedFile

    try:
        mapped = getattr(document, "mapped", document)
    except AttributeError:
        return None
    if not isinstance(mapped, MappedFile) or mapped.kind is None:
        return None
    return mapped


def bucket_edges(size: int, buckets: int) -> tuple[int, ...]:
    n = max(1, min(buckets, size)) if size > 0 else 1
    return tuple(size * i // n for i in range(n + 1))


def _shares(ranges: list[tuple[int, int]], edges: tuple[int, ...]) -> np.ndarray:
    """Per bucket, the share of its bytes inside sorted disjoint ``ranges`` (vectorised)."""
    e = np.asarray(edges, dtype=np.float64)
    lengths = np.maximum(np.diff(e), 1)
    covered = np.zeros(len(e) - 1)
    if ranges:
        r = np.asarray(ranges, dtype=np.float64)
        # Cumulative covered bytes at each edge: sum over ranges of clip(edge - start, 0, len).
        for start, end in r:  # few runs in practice; each is one vector op over the edges
            cum = np.clip(e - start, 0, end - start)
            covered += np.diff(cum)
    return covered / lengths


def data_layer(document: Any, edges: tuple[int, ...]) -> tuple[np.ndarray, str]:
    size = edges[-1]
    data = readable_runs(document, 0, size)
    note = ""
    unwritten: list[tuple[int, int]] = []
    mapped = getattr(document, "mapped", document)
    try:
        extents = extents_of_fd(mapped.fd, size)
        unwritten = [(max(0, s), min(size, e)) for s, e in extents.unwritten_ranges() if s < size]
        if not extents.supported:
            note = extents.error or ""
    except OSError as exc:
        note = f"Extents unknown: {exc.strerror}"
    holes = hole_map(mapped)
    if not holes.exact:
        note = (note + " " if note else "") + "Holes known only up to a limit."
    d = _shares(data, edges)
    u = np.minimum(_shares(unwritten, edges), 1 - d)
    return np.stack([d, u, np.clip(1 - d - u, 0, 1)], axis=1), note


def residency_layer(document: Any, edges: tuple[int, ...]) -> tuple[np.ndarray, str]:
    mapped = getattr(document, "mapped", document)
    spans = [(lo, hi - lo) for lo, hi in itertools.pairwise(edges)]
    try:
        stats = _libc.cachestat_ranges(mapped.fd, [s for s in spans if s[1] > 0])
    except OSError as exc:
        return np.full((len(spans), 1), np.nan), f"Residency unknown: {exc.strerror}"
    page = _libc.PAGE_SIZE
    rows = iter(stats)
    values = [
        next(rows)[0] / max(1, -(-length // page)) if length > 0 else 0.0 for _, length in spans
    ]
    return np.clip(np.asarray(values, dtype=np.float64), 0, 1)[:, None], ""


def pages_layer(document: Any, edges: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """Our private copies (pagemap) and the file's dirty/writeback pages (cachestat) per bucket.

    Private copies are the unsaved edits' pages; dirty and writeback pages are what a save (or
    another writer) has left for the kernel to write: they fall to zero as msync finishes.
    """
    mapped = getattr(document, "mapped", document)
    lengths = np.maximum(np.diff(np.asarray(edges, dtype=np.float64)), 1)
    page = _libc.PAGE_SIZE
    note = ""
    private = private_page_offsets(mapped)
    if private is None:
        copies = np.zeros(len(lengths))
        note = "Private pages unknown (no /proc/self/pagemap)."
    else:
        counts, _ = np.histogram(np.asarray(private, dtype=np.float64), bins=np.asarray(edges))
        copies = counts * page / lengths
    try:
        stats = dirty_buckets(mapped.fd, edges)
        dirty = np.asarray(stats.dirty, dtype=np.float64) * page / lengths
        writeback = np.asarray(stats.writeback, dtype=np.float64) * page / lengths
    except OSError as exc:
        dirty = writeback = np.full(len(lengths), np.nan)
        note = (note + " " if note else "") + f"Dirty pages unknown: {exc.strerror}."
    return np.clip(np.stack([copies, dirty, writeback], axis=1), 0, 1), note


def others_mapping(document: Any) -> tuple[tuple[int, int], ...]:
    """File ranges that other processes map (ours are left out)."""
    mapped = file_of(document)
    if mapped is None:
        return ()
    try:
        st = os.fstat(mapped.fd)
        report = who_maps(device=st.st_dev, inode=st.st_ino)
    except OSError:
        return ()
    me = os.getpid()
    return tuple((r.start, r.end) for m in report.mappers if m.pid != me for r in m.ranges)


def compute(
    document: Any, layer: Layer, buckets: int, *, budget: int = OVERVIEW_BUDGET
) -> OverviewLayer:
    """One layer of the whole document in ``buckets`` rows."""
    size = document.size
    edges = bucket_edges(size, buckets)
    note = ""
    if file_of(document) is None and layer in (Layer.DATA, Layer.RESIDENCY, Layer.PAGES):
        # No file behind the document: no holes, page cache or private file pages to show.
        rows = len(edges) - 1
        values = np.tile([1.0, 0.0, 0.0], (rows, 1)) if layer is Layer.DATA else None
        if values is None:
            values = np.full((rows, 1 if layer is Layer.RESIDENCY else 3), np.nan)
        return OverviewLayer(layer, size, edges, values, "Not a file.")
    if layer is Layer.DATA:
        values, note = data_layer(document, edges)
    elif layer is Layer.RESIDENCY:
        values, note = residency_layer(document, edges)
    elif layer is Layer.PAGES:
        values, note = pages_layer(document, edges)
    else:
        _edges, counts, sampled, _read = entropy.histograms(
            document, 0, size, len(edges) - 1, budget=budget
        )
        if layer is Layer.ENTROPY:
            values = (entropy.entropy_of_counts(counts) / 8.0)[:, None]
        else:
            values = entropy.class_shares(counts)
        note = "Sampled." if sampled else ""
    return OverviewLayer(layer, size, edges, values, note, others_mapping(document))
