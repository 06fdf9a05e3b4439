"""Sparse files for the hole tests: a reference walk, filefrag's extents, an ext4 loop mount."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

KIB = 1024
MIB = 1024 * KIB

# (offset, length) of data written into the sparse test file, and (offset, length) preallocated.
WRITES = ((0, 100), (1 * MIB + 5, 3 * KIB), (4 * MIB - 1, 2), (9 * MIB, 64 * KIB))
PREALLOCATED = ((6 * MIB, 512 * KIB),)
SIZE = 12 * MIB + 123


def make_sparse(path: Path, *, seed: int = 1) -> bytes:
    """Write the layout above; return the file's bytes as a model (holes are zeros)."""
    model = bytearray(SIZE)
    rng = __import__("random").Random(seed)
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for offset, length in WRITES:
            data = bytes(rng.randrange(1, 256) for _ in range(length))
            os.pwrite(f.fileno(), data, offset)
            model[offset : offset + length] = data
        for offset, length in PREALLOCATED:
            with suppress(OSError):
                os.posix_fallocate(f.fileno(), offset, length)
        os.fsync(f.fileno())
    return bytes(model)


def reference_data_runs(path: Path, block: int = 4096) -> list[tuple[int, int]]:
    """Data runs found block by block: a block is data when SEEK_DATA from its start stays there."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        runs: list[tuple[int, int]] = []
        for start in range(0, size, block):
            try:
                is_data = os.lseek(fd, start, os.SEEK_DATA) == start
            except OSError as exc:
                assert exc.errno == errno.ENXIO
                is_data = False
            if not is_data:
                continue
            end = min(start + block, size)
            if runs and runs[-1][1] == start:
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((start, end))
        return runs
    finally:
        os.close(fd)


_FILEFRAG_ROW = re.compile(
    r"^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):\s*(\d*):?\s*(\S*)\s*$"
)


def filefrag_extents(path: Path) -> list[tuple[int, int, int, tuple[str, ...]]] | None:
    """filefrag -v rows as (logical, physical, length, flags) in bytes; None: unsupported."""
    out = subprocess.run(
        ["filefrag", "-v", "-b4096", str(path)], capture_output=True, text=True, check=False
    )
    if "unsupported" in out.stdout + out.stderr:
        return None
    rows = []
    for line in out.stdout.splitlines():
        m = _FILEFRAG_ROW.match(line)
        if m:
            first, _last, phys, _pend, length, _exp, flags = m.groups()
            names = tuple(f for f in flags.split(",") if f)
            rows.append((int(first) * 4096, int(phys) * 4096, int(length) * 4096, names))
    return rows


@contextmanager
def ext4_mount(tmp_path: Path) -> Iterator[Path]:
    """An ext4 file system on a loop device, mounted under tmp_path (skips where impossible)."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("losetup", "mkfs.ext4", "mount")):
        pytest.skip("needs root, losetup and mkfs.ext4 for an ext4 loop mount")
    image = tmp_path / "ext4.img"
    with open(image, "wb") as f:
        f.truncate(64 * MIB)
    made = subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-b", "4096", str(image)], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
    attached = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True
    )
    if attached.returncode != 0:
        pytest.skip(f"no loop device here: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    try:
        mounted = subprocess.run(["mount", device, str(mountpoint)], capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount ext4 here: {mounted.stderr.strip()}")
        try:
            yield mountpoint
        finally:
            subprocess.run(["umount", str(mountpoint)], check=False)
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


_CHILD = """
import mmap, sys
offset, length, writable = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
f = open(sys.argv[1], "r+b" if writable else "rb")
access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
m = mmap.mmap(f.fileno(), length, access=access, offset=offset)
print("ready", flush=True)
sys.stdin.readline()
"""


@contextmanager
def mapping_child(path: Path, offset: int, length: int, *, writable: bool) -> Iterator[int]:
    """A child process that maps ``[offset, offset+length)`` of ``path`` until the block ends."""
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(offset), str(length), str(int(writable))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        yield child.pid
    finally:
        child.communicate("\n", timeout=10)
