"""MappedFile checked against the file's own bytes and the man pages' error cases."""

from __future__ import annotations

import errno
import os
import socket
import subprocess

import pytest

from mmhex.core.errors import FileTruncatedError, UnsupportedFileError, describe_error
from mmhex.core.mapping import FileKind, MappedFile, OpenMode

GRANULE = 4096
SMALL_WINDOW = 4 * GRANULE


def make_file(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def test_reads_equal_file_bytes_across_window_boundaries(tmp_path):
    data = os.urandom(SMALL_WINDOW * 5 + 123)
    path = make_file(tmp_path / "f", data)
    with MappedFile(path, window_size=SMALL_WINDOW, max_windows=2) as mf:
        assert mf.size == len(data)
        assert mf.kind is FileKind.REGULAR
        for offset, length in [
            (0, 10),
            (SMALL_WINDOW - 3, 7),
            (0, len(data)),
            (len(data) - 5, 100),
            (2 * SMALL_WINDOW, SMALL_WINDOW * 2 + 1),
        ]:
            assert mf.read(offset, length) == data[offset : offset + length]
        # LRU keeps at most max_windows mappings even after reading everything.
        assert len(mf.mapped_windows()) <= 2
        assert mf.read(len(data), 10) == b""


def test_windows_are_aligned_to_allocation_granularity(tmp_path):
    path = make_file(tmp_path / "f", os.urandom(SMALL_WINDOW * 3))
    with MappedFile(path, window_size=SMALL_WINDOW) as mf:
        window = mf.window_at(SMALL_WINDOW + 17)
        assert window.start == SMALL_WINDOW
        assert window.start % GRANULE == 0
    with pytest.raises(ValueError):
        MappedFile(path, window_size=1000)


def test_empty_file_is_an_empty_document_not_an_error(tmp_path):
    path = make_file(tmp_path / "empty", b"")
    with MappedFile(path) as mf:
        assert mf.size == 0
        assert mf.read(0, 16) == b""
        assert list(mf.iter_windows(0, 100)) == []


def test_read_original_ignores_private_edits(tmp_path):
    data = bytes(range(256)) * 64
    path = make_file(tmp_path / "f", data)
    with MappedFile(path, OpenMode.PRIVATE, window_size=SMALL_WINDOW) as mf:
        window = mf.pin(100)
        window.mm[100:104] = b"\xde\xad\xbe\xef"
        assert mf.read(98, 8) == data[98:100] + b"\xde\xad\xbe\xef" + data[104:106]
        assert mf.read_original(98, 8) == data[98:106]
    assert (tmp_path / "f").read_bytes() == data  # copy-on-write: the disk never changed


def test_truncation_under_the_mapping_raises_instead_of_sigbus(tmp_path):
    data = os.urandom(SMALL_WINDOW * 3)
    path = make_file(tmp_path / "f", data)
    with MappedFile(path, window_size=SMALL_WINDOW) as mf:
        assert mf.read(SMALL_WINDOW * 2, 16) == data[SMALL_WINDOW * 2 : SMALL_WINDOW * 2 + 16]
        os.truncate(path, 100)
        with pytest.raises(FileTruncatedError) as info:
            mf.read(SMALL_WINDOW * 2, 16)
        assert info.value.new_size == 100
        assert "truncated" in str(info.value)
        # The mapping has re-read the size; what is left is still readable.
        assert mf.size == 100
        assert mf.read(0, 200) == data[:100]


def test_refresh_notices_growth(tmp_path):
    path = make_file(tmp_path / "f", b"abc")
    with MappedFile(path) as mf:
        assert mf.read(0, 10) == b"abc"
        with open(path, "ab") as f:
            f.write(b"defg")
        assert mf.refresh() is True
        assert mf.size == 7
        assert mf.read(0, 10) == b"abcdefg"
        assert mf.refresh() is False


def test_one_tebibyte_sparse_file_reads_its_last_byte(tmp_path):
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(1 << 40)
        f.seek((1 << 40) - 1)
        f.write(b"\x7f")
    with MappedFile(str(path)) as mf:
        assert mf.size == 1 << 40
        assert mf.read((1 << 40) - 4, 8) == b"\0\0\0\x7f"
        assert len(mf.mapped_windows()) == 1


def test_eight_exbibyte_sparse_file_on_tmpfs():
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm (tmpfs) on this machine")
    path = f"/dev/shm/mmhex-test-{os.getpid()}"
    try:
        subprocess.run(["truncate", "-s", "8000P", path], check=True)
        with MappedFile(path) as mf:
            assert mf.size == 8000 * (1 << 50)
            assert mf.read(mf.size - 3, 10) == b"\0\0\0"
            window = mf.window_at(mf.size - 1)
            assert window.end == mf.size
    finally:
        os.unlink(path)


@pytest.mark.parametrize(
    ("make", "expected_errno", "words"),
    [
        (lambda d: str(d / "missing"), errno.ENOENT, "does not exist"),
        (lambda d: str(d), errno.EISDIR, "directory"),
        (lambda d: (os.mkfifo(d / "fifo"), str(d / "fifo"))[1], errno.ENODEV, "pipe"),
        (lambda d: "/dev/null", errno.ENODEV, "character device"),
        (lambda d: "/proc/self/status", errno.ENODEV, "special file"),
        (lambda d: (os.symlink(d / "loop", d / "loop"), str(d / "loop"))[1], errno.ELOOP, "loop"),
    ],
    ids=["missing", "directory", "fifo", "chardev", "procfile", "symlink-loop"],
)
def test_unopenable_paths_give_one_clear_sentence(tmp_path, make, expected_errno, words):
    path = make(tmp_path)
    with pytest.raises(OSError) as info:
        MappedFile(path)
    assert info.value.errno == expected_errno
    message = describe_error(info.value, path)
    assert words in message.lower()
    assert "Traceback" not in message


def test_socket_is_refused(tmp_path):
    path = str(tmp_path / "sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    try:
        with pytest.raises(OSError) as info:
            MappedFile(path)
        assert info.value.errno == errno.ENXIO
        assert "socket" in describe_error(info.value).lower()
    finally:
        server.close()


def test_unreadable_file_as_unprivileged_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to user nobody")
    secret = tmp_path / "secret"
    secret.write_bytes(b"x")
    secret.chmod(0o600)
    tmp_path.chmod(0o755)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become nobody (no exec needed, the module is already imported)
        status = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                MappedFile(str(secret))
            except OSError as exc:
                os.write(write_end, describe_error(exc).encode())
                status = 3
        finally:
            os._exit(status)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    message = os.read(read_end, 4096).decode()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 3
    assert "Permission denied" in message


def test_unsupported_file_error_is_an_oserror_with_errno():
    exc = UnsupportedFileError(errno.ENODEV, "Nope.", "/x")
    assert isinstance(exc, OSError)
    assert exc.errno == errno.ENODEV
    assert str(exc) == "Nope."


def test_window_refused_then_file_regrown_maps_on_retry(tmp_path, monkeypatch):
    """The file shrank (mmap refused) and grew back before the size check: map it again."""
    import mmap as mmap_module

    from mmhex.core import mapping

    data = os.urandom(SMALL_WINDOW * 2)
    path = make_file(tmp_path / "f", data)
    real_mmap = mmap_module.mmap
    refusals = []

    def refuse_once(*args, **kwargs):
        if not refusals:
            refusals.append(1)
            raise ValueError("mmap length is greater than file size")
        return real_mmap(*args, **kwargs)

    monkeypatch.setattr(mapping.mmap, "mmap", refuse_once)
    with MappedFile(path, window_size=SMALL_WINDOW) as mf:
        assert mf.read(SMALL_WINDOW, 8) == data[SMALL_WINDOW : SMALL_WINDOW + 8]
    assert refusals == [1]


def test_scattered_private_edits_share_one_mapping_and_descriptor(tmp_path):
    """Python's mmap dups the descriptor per mapping: one mapping per edited window ran out of
    descriptors (EMFILE) after 1,024 scattered edits. Now 3,000 edits in 3,000 windows of a
    1 TiB sparse file hold one mapping, and the process's descriptors do not grow."""
    import random

    path = tmp_path / "tib.bin"
    with open(path, "wb") as handle:
        handle.truncate(1 << 40)
    before = len(os.listdir("/proc/self/fd"))
    rng = random.Random(7)
    offsets = sorted(rng.sample(range(0, 1 << 40, 1 << 28), 3000))  # 3,000 distinct windows
    with MappedFile(str(path), OpenMode.PRIVATE) as mf:
        for offset in offsets:
            mf.write(offset, b"\xa5")
        assert mf.mapping_count == 1
        # The file, /proc/self/mem for reading and for writing, the mapping's duplicate.
        assert len(os.listdir("/proc/self/fd")) <= before + 4
        assert all(mf.read(offset, 1) == b"\xa5" for offset in offsets[::100])
        assert mf.read_original(offsets[0], 1) == b"\0"
        with open("/proc/self/maps") as maps:
            assert sum(1 for _ in maps) < 2000  # one VMA, not one per edited window
        mf.set_mode(OpenMode.READ_ONLY)  # private pages are dropped with the mapping
        assert mf.read(offsets[0], 1) == b"\0"


def test_a_child_forked_inside_forking_reads_and_writes_its_own_memory(tmp_path):
    """Reads and private writes go through /proc/self/mem; a descriptor inherited over fork
    still names the parent's memory, so the child would read the parent's edits, not its own."""
    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789" * 1000)
    with MappedFile(str(path), OpenMode.PRIVATE) as mf:
        mf.write(0, b"P")  # the parent's private edit, before the fork
        read_end, write_end = os.pipe()
        with mf.forking():
            pid = os.fork()
        if pid == 0:  # the child: its own edit must be what it reads back
            status = 1
            try:
                mf.write(1, b"C")
                os.write(write_end, mf.read(0, 3))
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        answer = os.read(read_end, 16)
        os.close(read_end)
        _pid, status = os.waitpid(pid, 0)
        assert status == 0
        assert answer == b"PC2"  # the parent's edit (inherited) and the child's own
        assert mf.read(0, 3) == b"P12"  # the child's write stayed in the child
