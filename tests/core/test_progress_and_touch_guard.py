"""Time left for long scans, and when Touch asks first (data bytes only: holes are skipped)."""

from __future__ import annotations

import os

from mmhex.core.mapping import MappedFile
from mmhex.core.progress import time_left
from mmhex.core.touch_guard import touch_question


def test_time_left():
    assert time_left(0, 100, 10.0) == ""  # no rate to go by yet
    assert time_left(100, 100, 10.0) == ""
    assert time_left(10, 100, 0.0) == ""
    assert time_left(10, 430, 1.0) == "7:00 left"
    assert time_left(1, 2 + 3 * 3600 + 61, 1.0) == "3:01:02 left"


def test_touch_asks_above_the_limit_or_the_free_memory_counting_data_only(tmp_path):
    path = tmp_path / "sparse"
    with open(path, "wb") as f:
        f.truncate(1 << 40)
        os.pwrite(f.fileno(), os.urandom(1 << 20), 1 << 30)
    with MappedFile(str(path)) as mapped:
        size = mapped.size
        assert touch_question(mapped, 0, size, limit=2 << 20, available=1 << 30) is None
        small_limit = touch_question(mapped, 0, size, limit=1 << 19, available=1 << 30)
        assert small_limit is not None and "1 MiB" in small_limit
        no_memory = touch_question(mapped, 0, size, limit=1 << 40, available=1 << 19)
        assert no_memory is not None and "more than the 512 KiB available" in no_memory
        assert touch_question(mapped, 0, 1 << 29, limit=1, available=1) is None  # a hole only


def test_touch_counts_the_file_data_after_inserts(tmp_path):
    """Touch acts on file offsets (the residency panel's): 1 GiB of fill inserted in front of
    the data changes nothing about how much of the file it would read."""
    from mmhex.core.document import Document

    path = tmp_path / "sparse"
    with open(path, "wb") as f:
        f.truncate(4 << 30)
        os.pwrite(f.fileno(), os.urandom(2 << 20), 0)
    document = Document.open(str(path))
    try:
        document.enable_editing()
        document.insert_fill(0, 1 << 30, b"\xaa")
        question = touch_question(document, 0, 4 << 30, limit=1 << 20, available=1 << 40)
        assert question is not None and "2 MiB" in question
        assert touch_question(document, 3 << 20, 4 << 30, limit=1, available=1) is None
    finally:
        document.close()
