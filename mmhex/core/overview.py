"""The overview bar's layers: the whole document in ``n`` buckets, one value row per bucket.

Each layer is a plain value the bar only colours: data/holes/unwritten shares (SEEK_DATA and
FIEMAP), sampled entropy, byte-class shares, page-cache residency (cachestat), and the ranges
other processes map. Bounded cost whatever the size: holes are known without reading, entropy
reads a fixed budget. Buckets are document ranges: after an insert or delete, what is known per
file offset (holes, extents, cached, dirty and private pages, other mappers) is carried through
the pieces (core/piece_map.py), and inserted bytes, which live in memory and not in the file,
are counted apart (``not_in_file``). Never imports Qt.
"""

from __future__ import annotations

import enum
import itertools
import os
from dataclasses import dataclass
from typing import Any

from mmhex.core import _libc, entropy, piece_map
from mmhex.core.extents import extents_of_fd
from mmhex.core.holes import complement, hole_map, readable_runs
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
    ``others`` are the document ranges whose file bytes other processes map. ``not_in_file``
    is, per bucket, the share of inserted or filled bytes (in memory, not in the file; None
    when there are none): the file layers' shares leave them out.
    """

    layer: Layer
    size: int
    edges: tuple[int, ...]
    values: np.ndarray
    note: str = ""
    others: tuple[tuple[int, int], ...] = ()
    not_in_file: np.ndarray | None = None

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
    """Per bucket, the share of its bytes inside sorted disjoint ``ranges`` (vectorised: an
    edited document may have 10^5 ranges, so no Python loop over them)."""
    e = np.asarray(edges, dtype=np.float64)
    lengths = np.maximum(np.diff(e), 1)
    if not ranges:
        return np.zeros(len(e) - 1)
    r = np.asarray(ranges, dtype=np.float64)
    starts, ends = r[:, 0], r[:, 1]
    sizes = ends - starts
    before = np.concatenate([[0.0], np.cumsum(sizes)])
    # Covered bytes below each edge: the ranges ending at or before it, plus part of the next.
    k = np.searchsorted(ends, e, side="right")
    nxt = np.minimum(k, len(r) - 1)
    partial = np.where(k < len(r), np.clip(e - starts[nxt], 0, sizes[nxt]), 0)
    covered = before[k] + partial
    return np.diff(covered) / lengths


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The overlap of two sorted disjoint range lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def data_layer(document: Any, edges: tuple[int, ...]) -> tuple[np.ndarray, str]:
    size = edges[-1]
    in_file = complement(piece_map.not_in_file(document, 0, size), 0, size)
    data = _intersect(readable_runs(document, 0, size), in_file)
    note = ""
    unwritten: list[tuple[int, int]] = []
    mapped = getattr(document, "mapped", document)
    try:
        extents = extents_of_fd(mapped.fd, mapped.size)
        unwritten = piece_map.to_document(document, extents.unwritten_ranges(), 0, size)
        if not extents.supported:
            note = extents.error or ""
    except OSError as exc:
        note = f"Extents unknown: {exc.strerror}"
    holes = hole_map(mapped)
    if not holes.exact:
        note = (note + " " if note else "") + "Holes known only up to a limit."
    d = _shares(data, edges)
    u = np.minimum(_shares(unwritten, edges), 1 - d)
    m = _shares(complement(in_file, 0, size), edges)
    return np.stack([d, u, np.clip(1 - d - u - m, 0, 1)], axis=1), note


def bucket_file_spans(document: Any, edges: tuple[int, ...]) -> list[list[tuple[int, int]]]:
    """Per bucket, the ``(file offset, length)`` spans behind its document bytes (inserted and
    filled bytes have none). One walk over buckets and pieces together."""
    spans: list[list[tuple[int, int]]] = [[] for _ in range(len(edges) - 1)]
    parts = piece_map.file_parts(document, 0, edges[-1])
    k = 0
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        while k < len(parts) and parts[k].end <= lo:
            k += 1
        j = k
        while j < len(parts) and parts[j].start < hi:
            start, end = max(lo, parts[j].start), min(hi, parts[j].end)
            if start < end:
                at = start - parts[j].shift
                if spans[i] and sum(spans[i][-1]) == at:  # file bytes continue (an insert)
                    spans[i][-1] = (spans[i][-1][0], spans[i][-1][1] + end - start)
                else:
                    spans[i].append((at, end - start))
            j += 1
    return spans


def _cachestat_buckets(fd: int, spans: list[list[tuple[int, int]]]) -> list[tuple[int, ...]]:
    """Per bucket, (cached, dirty, writeback, pages asked) summed over its file spans."""
    # cachestat reads a length of 0 as "to the end of the file": empty spans are not asked.
    flat = [span for bucket in spans for span in bucket if span[1] > 0]
    stats = iter(_libc.cachestat_ranges(fd, flat) if flat else [])
    page = _libc.PAGE_SIZE
    rows = []
    for bucket in spans:
        cached = dirty = writeback = pages = 0
        for _offset, length in bucket:
            if length <= 0:
                continue
            row = next(stats)
            cached, dirty, writeback = cached + row[0], dirty + row[1], writeback + row[2]
            pages += -(-length // page)
        rows.append((cached, dirty, writeback, pages))
    return rows


def residency_layer(document: Any, edges: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """Per bucket, the cached share of its bytes (of its file bytes: inserted ones are apart)."""
    mapped = getattr(document, "mapped", document)
    spans = bucket_file_spans(document, edges)
    try:
        rows = _cachestat_buckets(mapped.fd, spans)
    except OSError as exc:
        return np.full((len(spans), 1), np.nan), f"Residency unknown: {exc.strerror}"
    lengths = np.maximum(np.diff(np.asarray(edges, dtype=np.float64)), 1)
    in_file = np.asarray([sum(n for _o, n in bucket) for bucket in spans], dtype=np.float64)
    cached = np.asarray([r[0] / max(1, r[3]) for r in rows], dtype=np.float64)
    return np.clip(cached * in_file / lengths, 0, 1)[:, None], ""


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
    elif piece_map.document_of(document) is not None:
        pages = sorted({(o, o + page) for o in private})
        copies = _shares(piece_map.to_document(document, pages, 0, edges[-1]), edges)
    else:
        counts, _ = np.histogram(np.asarray(private, dtype=np.float64), bins=np.asarray(edges))
        copies = counts * page / lengths
    try:
        if piece_map.document_of(document) is not None:
            rows = _cachestat_buckets(mapped.fd, bucket_file_spans(document, edges))
            dirty = np.asarray([r[1] for r in rows], dtype=np.float64) * page / lengths
            writeback = np.asarray([r[2] for r in rows], dtype=np.float64) * page / lengths
        else:
            stats = dirty_buckets(mapped.fd, edges)
            dirty = np.asarray(stats.dirty, dtype=np.float64) * page / lengths
            writeback = np.asarray(stats.writeback, dtype=np.float64) * page / lengths
    except OSError as exc:
        dirty = writeback = np.full(len(lengths), np.nan)
        note = (note + " " if note else "") + f"Dirty pages unknown: {exc.strerror}."
    return np.clip(np.stack([copies, dirty, writeback], axis=1), 0, 1), note


def others_mapping(document: Any) -> tuple[tuple[int, int], ...]:
    """Document ranges whose file bytes other processes map (ours are left out)."""
    mapped = file_of(document)
    if mapped is None:
        return ()
    try:
        st = os.fstat(mapped.fd)
        report = who_maps(device=st.st_dev, inode=st.st_ino)
    except OSError:
        return ()
    me = os.getpid()
    ranges = sorted((r.start, r.end) for m in report.mappers if m.pid != me for r in m.ranges)
    merged: list[tuple[int, int]] = []
    for start, end in ranges:  # several processes may map the same range
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(piece_map.to_document(document, merged))


def compute(
    document: Any, layer: Layer, buckets: int, *, budget: int = OVERVIEW_BUDGET
) -> OverviewLayer:
    """One layer of the whole document in ``buckets`` rows."""
    with piece_map.remembering():
        return _compute(document, layer, buckets, budget)


def _compute(document: Any, layer: Layer, buckets: int, budget: int) -> OverviewLayer:
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
    inserted = piece_map.not_in_file(document, 0, size)
    not_in_file = _shares(inserted, edges) if inserted else None
    return OverviewLayer(layer, size, edges, values, note, others_mapping(document), not_in_file)
