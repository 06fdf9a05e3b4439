"""Entropy and byte classes against a math.log2 reference computed byte by byte."""

from __future__ import annotations

import math
import os
import random
from collections import Counter

import numpy as np
import pytest

from mmhex.core import entropy
from mmhex.core.mapping import MappedFile


def reference_entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = Counter(data)
    total = len(data)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def reference_class(byte: int) -> str:
    if byte == 0:
        return "zero"
    if byte == 0xFF:
        return "0xff"
    if 0x20 <= byte < 0x7F or byte in (9, 10, 13):
        return "text"
    return "control" if byte < 0x80 else "high"


@pytest.mark.parametrize("buckets", [1, 3, 7, 64])
def test_unsampled_profile_equals_reference(tmp_path, buckets):
    rng = random.Random(buckets)
    data = (
        bytes(rng.randrange(256) for _ in range(5000))
        + b"hello world\n" * 300
        + bytes(2000)
        + bytes(rng.randrange(0, 4) for _ in range(3001))
    )
    path = tmp_path / "f"
    path.write_bytes(data)
    with MappedFile(str(path)) as mapped:
        got = entropy.profile(mapped, 0, len(data), buckets)
    assert not got.sampled and got.bytes_read == len(data)
    assert len(got) == buckets and got.edges[0] == 0 and got.edges[-1] == len(data)
    for i in range(buckets):
        part = data[got.edges[i] : got.edges[i + 1]]
        assert got.entropy[i] == pytest.approx(reference_entropy(part), abs=1e-9)
        shares = Counter(reference_class(b) for b in part)
        for k, name in enumerate(entropy.CLASS_NAMES):
            assert got.classes[i][k] == pytest.approx(shares[name] / len(part), abs=1e-12)


def test_extremes():
    assert entropy.entropy_of_counts(np.array([[5] + [0] * 255]))[0] == 0.0
    assert entropy.entropy_of_counts(np.ones((1, 256)))[0] == pytest.approx(8.0)
    assert entropy.entropy_of_counts(np.zeros((1, 256)))[0] == 0.0


def test_sampled_huge_sparse_file_reads_only_its_budget(tmp_path):
    path = tmp_path / "huge"
    size = 1 << 40
    with open(path, "wb") as f:
        f.truncate(size)
        os.pwrite(f.fileno(), os.urandom(1 << 20), size // 2)
    with MappedFile(str(path)) as mapped:
        got = entropy.profile(mapped, 0, size, 512, budget=1 << 20)
    assert got.sampled and got.bytes_read <= 1 << 20
    middle = got.bucket_of(size // 2)
    assert got.entropy[middle] > 7.0  # random bytes were sampled there
    others = np.delete(got.entropy, middle)
    assert (others == 0).all()  # holes: all zeros, never read
    assert got.classes[0][0] == 1.0
