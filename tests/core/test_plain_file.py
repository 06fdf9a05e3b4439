"""PlainFile (the pread reader of `mmhex dump`): the file's bytes, holes made as zeros, and the
same refusals and truncation sentence as MappedFile."""

from __future__ import annotations

import errno
import os

import pytest

from mmhex.core.errors import FileTruncatedError, UnsupportedFileError
from mmhex.core.mapping import MappedFile
from mmhex.core.plain_file import PlainFile

MIB = 1 << 20


def test_reads_the_bytes_of_a_sparse_file_across_holes_and_data(tmp_path):
    path = tmp_path / "sparse.bin"
    blob = os.urandom(70_000)
    with open(path, "wb") as handle:
        handle.truncate(5 * MIB)
        handle.seek(MIB + 123)
        handle.write(blob)
        handle.seek(4 * MIB - 10)
        handle.write(b"tail-data!")
    expected = path.read_bytes()
    source = PlainFile(str(path))
    try:
        assert source.size == len(expected)
        for offset, length in [
            (0, 5 * MIB),
            (0, 100),
            (MIB, 200),
            (MIB + 100, 70_100),
            (MIB + 70_000, MIB),
            (4 * MIB - 20, 40),
            (5 * MIB - 5, 100),
            (5 * MIB, 10),
            (7 * MIB, 10),
        ]:
            assert source.read(offset, length) == expected[offset : offset + length], offset
    finally:
        source.close()


def test_refuses_what_mapped_file_refuses_with_the_same_sentence(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (str(tmp_path), str(fifo), "/dev/null"):
        with pytest.raises(UnsupportedFileError) as ours:
            PlainFile(path)
        with pytest.raises(UnsupportedFileError) as theirs:
            MappedFile(path)
        assert str(ours.value) == str(theirs.value)
        assert ours.value.errno == theirs.value.errno
    with pytest.raises(FileNotFoundError):
        PlainFile(str(tmp_path / "missing"))


def test_a_file_truncated_meanwhile_is_reported_not_read_as_zeros(tmp_path):
    path = tmp_path / "shrinks.bin"
    path.write_bytes(os.urandom(3 * MIB))
    source = PlainFile(str(path))
    try:
        os.truncate(path, MIB)
        assert source.read(0, 100) == path.read_bytes()[:100]
        with pytest.raises(FileTruncatedError) as caught:
            source.read(2 * MIB, 100)
        assert caught.value.errno == errno.EIO
        assert caught.value.new_size == MIB
        with pytest.raises(FileTruncatedError):
            source.read(MIB - 10, MIB)
    finally:
        source.close()
