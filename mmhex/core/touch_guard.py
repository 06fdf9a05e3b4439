"""Whether Touch / Read ahead of a range deserves a question first, and the question's words.

Touching reads every data byte of the range into the page cache: past a set size, or past the
memory the kernel says is available, it pushes other programs' pages out and can run for minutes.
Holes are left out of the count (Touch skips them). Never imports Qt.
"""

from __future__ import annotations

from typing import Any

from mmhex.core.holes import readable_runs

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
    """The question to ask before touching ``[start, end)`` of a document, or None to go ahead."""
    # residency's reading of MemAvailable (the one its lock refusal uses too)
    from mmhex.core.residency import _memory_available, human_bytes

    data = sum(e - s for s, e in readable_runs(source, start, end))
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
