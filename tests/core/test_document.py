"""Document: reads, generation, listeners, and outside changes (append, truncate, replace)."""

from __future__ import annotations

import os

import pytest

from mmhex.core.document import ChangeKind, Document
from mmhex.core.mapping import OpenMode


@pytest.fixture
def doc_path(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 16)
    return path


def collect(doc):
    changes = []
    doc.add_listener(changes.append)
    return changes


def test_read_and_original_agree_when_clean(doc_path):
    doc = Document.open(str(doc_path))
    data = doc_path.read_bytes()
    assert doc.size == len(data)
    assert doc.mode is OpenMode.READ_ONLY
    assert doc.read(10, 20) == doc.read_original(10, 20) == data[10:30]
    assert doc.readonly_reason is None
    doc.close()


def test_readonly_flag_sets_a_reason(doc_path):
    doc = Document.open(str(doc_path), readonly=True)
    assert doc.readonly_reason == "opened read-only"
    doc.close()


def test_nothing_changed_means_no_change(doc_path):
    doc = Document.open(str(doc_path))
    changes = collect(doc)
    assert doc.check_outside_change() is None
    assert changes == [] and doc.generation == 0
    doc.close()


def test_append_is_noticed(doc_path):
    doc = Document.open(str(doc_path))
    changes = collect(doc)
    with open(doc_path, "ab") as f:
        f.write(b"tail")
    change = doc.check_outside_change()
    assert change is not None and change.kind is ChangeKind.RELOAD
    assert "grew" in change.message
    assert doc.size == 4096 + 4
    assert doc.read(4096, 10) == b"tail"
    assert changes == [change] and doc.generation == 1
    doc.close()


def test_truncate_is_noticed(doc_path):
    doc = Document.open(str(doc_path))
    os.truncate(doc_path, 10)
    change = doc.check_outside_change()
    assert change is not None and "truncated" in change.message
    assert doc.size == 10
    assert doc.read(0, 100) == bytes(range(10))
    doc.close()


def test_rewrite_in_place_is_noticed_and_shows_new_bytes(doc_path):
    doc = Document.open(str(doc_path))
    assert doc.read(0, 4) == b"\0\1\2\3"
    with open(doc_path, "r+b") as f:
        f.write(b"NEW!")
        os.utime(f.fileno(), ns=(1, 1))  # a distinct mtime even on coarse-clock file systems
    change = doc.check_outside_change()
    assert change is not None and "modified" in change.message
    assert doc.read(0, 4) == b"NEW!"
    doc.close()


def test_atomic_replace_reopens_the_new_file(doc_path, tmp_path):
    doc = Document.open(str(doc_path))
    other = tmp_path / "new"
    other.write_bytes(b"replacement")
    os.replace(other, doc_path)
    change = doc.check_outside_change()
    assert change is not None and "replaced" in change.message
    assert doc.size == len(b"replacement")
    assert doc.read(0, 100) == b"replacement"
    doc.close()


def test_delete_is_reported_once_and_bytes_stay_readable(doc_path):
    doc = Document.open(str(doc_path))
    data = doc_path.read_bytes()
    os.unlink(doc_path)
    change = doc.check_outside_change()
    assert change is not None and "deleted" in change.message
    assert doc.check_outside_change() is None
    assert doc.read(0, 16) == data[:16]
    doc.close()
