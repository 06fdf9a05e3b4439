"""Saving inserts and deletes in place: the plan's shift, fallocate on ext4, the copy elsewhere,
and SIGKILL at random moments of either, recovered to exactly the old or the new file."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from mmhex.core import shift_save
from mmhex.core.document import Document
from mmhex.core.layout_save import LayoutPlan, Move
from mmhex.core.shift_save import COLLAPSE, INSERT, Shift, shift_of

BLOCK = 4096
SHM = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
KILLS = int(os.environ.get("MMHEX_STORM_KILLS", "160"))


def plan(copies: list[Move], writes: list[tuple[int, int]], old: int, final: int) -> LayoutPlan:
    return LayoutPlan(old, final, tuple(copies), tuple(writes))


def test_shift_of_finds_one_aligned_insert_or_delete() -> None:
    size = 10 * BLOCK
    insert = plan(
        [Move(0, 0, BLOCK), Move(BLOCK, 2 * BLOCK, 9 * BLOCK)],
        [(BLOCK, 2 * BLOCK)],
        size,
        size + BLOCK,
    )
    assert shift_of(insert, BLOCK) == Shift(INSERT, BLOCK, BLOCK, size)
    at_zero = plan([Move(0, BLOCK, size)], [(0, BLOCK)], size, size + BLOCK)
    assert shift_of(at_zero, BLOCK) == Shift(INSERT, 0, BLOCK, size)
    delete = plan(
        [Move(0, 0, BLOCK), Move(3 * BLOCK, BLOCK, 7 * BLOCK)], [], size, size - 2 * BLOCK
    )
    assert shift_of(delete, BLOCK) == Shift(COLLAPSE, BLOCK, 2 * BLOCK, size)
    # Not one aligned shift: unaligned, another write elsewhere, a cut end, two shifts.
    unaligned = plan(
        [Move(0, 0, 10), Move(10, 10 + BLOCK, size - 10)], [(10, 10 + BLOCK)], size, size + BLOCK
    )
    assert shift_of(unaligned, BLOCK) is None
    extra = plan(
        [Move(0, 0, BLOCK), Move(BLOCK, 2 * BLOCK, 9 * BLOCK)],
        [(BLOCK, 2 * BLOCK), (5 * BLOCK, 5 * BLOCK + 1)],
        size,
        size + BLOCK,
    )
    assert shift_of(extra, BLOCK) is None
    truncate = plan([Move(0, 0, 5 * BLOCK)], [], size, 5 * BLOCK)
    assert shift_of(truncate, BLOCK) is None
    two = plan(
        [Move(0, 0, BLOCK), Move(BLOCK, 2 * BLOCK, BLOCK), Move(2 * BLOCK, 4 * BLOCK, 8 * BLOCK)],
        [(BLOCK, 2 * BLOCK), (3 * BLOCK, 4 * BLOCK)],
        size,
        size + 2 * BLOCK,
    )
    assert shift_of(two, BLOCK) is None


def supports_shift(folder: Path) -> bool:
    probe = folder / "probe.bin"
    probe.write_bytes(bytes(3 * BLOCK))
    fd = os.open(probe, os.O_RDWR)
    try:
        shift_save.fallocate(fd, shift_save.FALLOC_FL_INSERT_RANGE, BLOCK, BLOCK)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        probe.unlink()


def test_aligned_insert_and_delete_shift_in_place_keeping_the_inode(tmp_path: Path) -> None:
    if not supports_shift(tmp_path):
        pytest.skip(f"{tmp_path} cannot fallocate(INSERT_RANGE) (not ext4/XFS)")
    path = tmp_path / "f.bin"
    content = random.Random(4).randbytes(64 * BLOCK)
    path.write_bytes(content)
    inode = path.stat().st_ino
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(0, b"\x11" * BLOCK)
    document.save()
    assert path.read_bytes() == b"\x11" * BLOCK + content
    document.delete(8 * BLOCK, 16 * BLOCK)
    document.save()
    model = (b"\x11" * BLOCK + content)[: 8 * BLOCK] + (b"\x11" * BLOCK + content)[24 * BLOCK :]
    assert path.read_bytes() == model
    assert path.stat().st_ino == inode  # shifted in place, not copied and renamed
    assert not shift_save.has_shift_journal(str(path))
    document.close()


@pytest.mark.skipif(SHM is None, reason="no writable /dev/shm")
def test_tmpfs_cannot_shift_so_the_save_copies(tmp_path: Path) -> None:
    folder = Path(os.path.join(str(SHM), f"mmhex-shift-{os.getpid()}"))
    folder.mkdir()
    try:
        path = folder / "f.bin"
        content = random.Random(5).randbytes(16 * BLOCK)
        path.write_bytes(content)
        document = Document.open(str(path))
        document.enable_editing()
        document.insert(BLOCK, b"\x22" * BLOCK)
        document.save()
        assert path.read_bytes() == content[:BLOCK] + b"\x22" * BLOCK + content[BLOCK:]
        document.close()
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def _storm(folder: Path, kills: int, seed: int) -> tuple[int, int]:
    """Fork savers that toggle a file between A and B (an insert, then its delete) and SIGKILL
    them at random moments; after each kill, opening the file must find exactly A or B."""
    rng = random.Random(seed)
    path = folder / "storm.bin"
    a = rng.randbytes(256 * BLOCK)
    inserted = rng.randbytes(2 * BLOCK)
    at = 64 * BLOCK
    b = a[:at] + inserted + a[at:]
    path.write_bytes(a)
    seen = {a: 0, b: 0}
    for _ in range(kills):
        pid = os.fork()
        if pid == 0:  # the saver: never returns into pytest
            try:
                while True:
                    document = Document.open(str(path))
                    document.enable_editing()
                    if document.size == len(a):
                        document.insert(at, inserted)
                    else:
                        document.delete(at, len(inserted))
                    document.save()
                    document.close()
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.04))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        document = Document.open(str(path))  # recovers what the kill interrupted
        document.close()
        content = path.read_bytes()
        assert content in seen, f"neither old nor new: {len(content)} bytes"
        seen[content] += 1
        for leftover in folder.glob(".storm.bin.*.mmhex-tmp"):
            leftover.unlink()  # a copy killed before its rename: never the file itself
    assert not shift_save.has_shift_journal(str(path))
    return seen[a], seen[b]


def test_sigkill_storm_on_the_fallocate_path(tmp_path: Path) -> None:
    if not supports_shift(tmp_path):
        pytest.skip(f"{tmp_path} cannot fallocate(INSERT_RANGE) (not ext4/XFS)")
    olds, news = _storm(tmp_path, KILLS, 1)
    assert olds + news == KILLS and olds and news


@pytest.mark.skipif(SHM is None, reason="no writable /dev/shm")
def test_sigkill_storm_on_tmpfs_copy_path() -> None:
    folder = Path(os.path.join(str(SHM), f"mmhex-storm-{os.getpid()}"))
    folder.mkdir()
    try:
        olds, news = _storm(folder, KILLS, 2)
        assert olds + news == KILLS and olds and news
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def test_cancel_rolls_back_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmhex.core.progress import Cancelled, CancelToken

    undone: list[Shift] = []
    real_undo = shift_save._undo_insert
    monkeypatch.setattr(
        shift_save, "_undo_insert", lambda fd, shift: (undone.append(shift), real_undo(fd, shift))
    )

    path = tmp_path / "f.bin"
    content = random.Random(7).randbytes(64 * BLOCK)
    path.write_bytes(content)
    inode = path.stat().st_ino
    document = Document.open(str(path))
    document.enable_editing()
    for edit in (lambda: document.insert(3, b"abc"), lambda: document.insert(0, bytes(BLOCK))):
        made = edit()  # the copy path, then (on ext4) the shift path
        token = CancelToken()
        token.cancel()  # pressed as the save starts: it stops at its first progress step
        with pytest.raises(Cancelled):
            document.save(cancel=token)
        assert path.read_bytes() == content and path.stat().st_ino == inode
        assert not list(tmp_path.glob(".*mmhex-*"))
        assert document.modified
        document.revert(made)
    # On a file system that shifts, the second save inserted the gap and collapsed it again.
    assert len(undone) == (1 if supports_shift(tmp_path) else 0)
    document.close()
