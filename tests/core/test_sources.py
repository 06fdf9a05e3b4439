"""The add-buffer (anonymous, then spilled to an unlinked file) and fill patterns, against bytes."""

from __future__ import annotations

import os
import random

import pytest

from mmhex.core.sources import AddBuffer, fill_bytes


def test_appends_read_back_across_segments_and_spill(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    buffer = AddBuffer(memory_budget=3 << 20)
    rng = random.Random(2)
    stored: list[tuple[int, bytes]] = []
    for size in (10, 1 << 20, 5, 3 << 20, 700_000, 1):
        data = rng.randbytes(size)
        stored.append((buffer.append(data), data))
    assert buffer.spilled_bytes > 0  # past the budget, segments live in an unlinked file
    assert os.listdir(tmp_path / "cache" / "mmhex") == []  # O_TMPFILE: no name on disk
    for offset, data in stored:
        assert buffer.read(offset, len(data)) == data
    offset, data = stored[3]
    buffer.write(offset + 5, b"XYZ")  # an overwrite of inserted bytes, in place
    assert buffer.read(offset, 10) == data[:5] + b"XYZ" + data[8:10]
    buffer.close()


@pytest.mark.parametrize("pattern", [b"\x00", b"ab", b"\x01\x02\x03"])
def test_fill_bytes_is_the_pattern_repeated_from_its_phase(pattern: bytes) -> None:
    endless = pattern * 100
    for phase in range(len(pattern) + 2):
        for length in (0, 1, 7, 31):
            start = phase % len(pattern)
            assert fill_bytes(pattern, phase, length) == endless[start : start + length]


@pytest.mark.parametrize("pattern", [b"\x00", b"ab", b"\x01\x02\x03", bytes(range(7)) * 3])
def test_long_fills_are_the_pattern_repeated_too(pattern: bytes) -> None:
    """Past 64 KiB a fill repeats a rotated block of whole periods: same bytes."""
    rng = random.Random(len(pattern))
    for _ in range(20):
        phase = rng.randrange(3 * len(pattern))
        length = rng.choice([65535, 65536, 65537, rng.randrange(65536, 400_000)])
        reps = (phase + length) // len(pattern) + 2
        start = phase % len(pattern)
        assert fill_bytes(pattern, phase, length) == (pattern * reps)[start : start + length]
