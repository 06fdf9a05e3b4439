"""Checksums against hashlib/zlib over the same bytes, across windows, with edits and cancel."""

from __future__ import annotations

import hashlib
import os
import zlib

import pytest

from mmhex.core.checksums import ALGORITHMS, compute_checksums
from mmhex.core.document import Document
from mmhex.core.progress import Cancelled, CancelToken, Progress

PAGE = 4096


def reference(data: bytes) -> dict[str, str]:
    return {
        "CRC-32": f"{zlib.crc32(data):08x}",
        "MD5": hashlib.md5(data).hexdigest(),
        "SHA-1": hashlib.sha1(data).hexdigest(),
        "SHA-256": hashlib.sha256(data).hexdigest(),
    }


@pytest.fixture
def doc(tmp_path):
    data = os.urandom(10 * PAGE + 123)
    path = tmp_path / "c.bin"
    path.write_bytes(data)
    document = Document.open(str(path), window_size=2 * PAGE, max_windows=3)
    yield document, data
    document.close()


@pytest.mark.parametrize("lease", [True, False])
@pytest.mark.parametrize(
    ("start", "end"), [(0, None), (0, 0), (1, 2), (PAGE - 5, 5 * PAGE + 7), (3, 10 * PAGE + 123)]
)
def test_matches_hashlib_and_zlib(doc, lease, start, end):
    document, data = doc
    got = compute_checksums(document, start, end, use_lease=lease, chunk_size=3000)
    assert got == reference(data[start:end])
    assert list(got) == list(ALGORITHMS)


def test_includes_unsaved_edits(doc):
    document, data = doc
    document.enable_editing()
    document.write(3 * PAGE, bytes([data[3 * PAGE] ^ 0xFF]))
    edited = bytearray(data)
    edited[3 * PAGE] ^= 0xFF
    assert compute_checksums(document) == reference(bytes(edited))


def test_subset_unknown_and_cancel(doc):
    document, data = doc
    assert compute_checksums(document, algorithms=("SHA-1",)) == {
        "SHA-1": hashlib.sha1(data).hexdigest()
    }
    with pytest.raises(ValueError, match="unknown checksum"):
        compute_checksums(document, algorithms=("SHA-3",))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        compute_checksums(document, progress=Progress(len(data), None, token), chunk_size=PAGE)
    seen = []
    compute_checksums(
        document, progress=Progress(len(data), lambda d, t: seen.append(d), interval=0)
    )
    assert seen[-1] == len(data)
