"""Whether Touch / Read ahead of a range deserves a question first, and the question's words.

Touching reads every data byte of the range into the page cache: past a set size, or past the
memory the kernel says is available, it pushes other programs' pages out and can run for minutes.
Holes are left out of the count (Touch skips them). Never imports Qt.
"""

from __future__ import annotations

from typing import Any

from mmhex.core import piece_map
from mmhex.core.holes import hole_map, readable_runs

# Touch asks first above this many bytes of data (what HxD-style tools would read in ~1 s or more).
DEFAULT_TOUCH_LIMIT = 1024 * 1024 * 1024


def touch_question(
    source: Any,
    start: int,
    end: int,
    *,
    limit: int = DEFAULT_TOUCH_LIMIT,
    available: int | None = None,
) -> str | None:
    """The question to ask before touching file range ``[start, end)``, or None to go ahead."""
    # residency's reading of MemAvailable (the one its lock refusal uses too)
    from mmhex.core.residency import _memory_available, human_bytes

    # Touch reads the file, by file offset (the residency panel's), skipping the file's holes:
    # after an insert or delete those are not the document's offsets, so ask the file's map.
    document = piece_map.document_of(source)
    if document is not None:
        runs = hole_map(document.mapped).data_in(start, end)
    else:
        runs = readable_runs(source, start, end)
    data = sum(e - s for s, e in runs)
    available = _memory_available() if available is None else available
    if available is not None and data > available:
        return (
            f"Touch would read {human_bytes(data)} of data into memory, more than the "
            f"{human_bytes(available)} available now: other programs' pages would be pushed "
            "out. Touch anyway?"
        )
    if data > limit:
        return f"Touch would read {human_bytes(data)} of data into memory. Go ahead?"
    return None
