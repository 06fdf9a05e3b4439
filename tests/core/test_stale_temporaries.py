"""Temporary files of a copy-and-rename save killed mid-way (``.NAME.XXXXXXXX.mmhex-tmp``) are
removed on the next open, recover or save, but only when they are ours and their writer is gone:
a live save's temporary file is never taken (its writer holds a ``flock`` on it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from mmhex.core import save as saving
from mmhex.core.document import Document

ROOT = Path(__file__).resolve().parents[2]

# A child that saves and stops (sleeps) inside the save once it has written some of the
# temporary file, printing "ready": the parent then kills it with SIGKILL, mid-save.
SAVER = textwrap.dedent(
    """
    import sys, time
    from mmhex.core.document import Document
    path, how, target = sys.argv[1], sys.argv[2], sys.argv[3]
    document = Document.open(path)
    document.enable_editing()
    if how == "layout":
        document.insert(10, b"inserted bytes")
    else:
        document.write(10, b"new bytes")

    def stall(done, total):
        if 0 < done < total:
            print("ready", flush=True)
            time.sleep(60)

    if how == "layout":
        # The copy-and-rename save (in place is the default; the copy is taken when the
        # moves are too scattered or only a copy fits): it is the one with a temporary.
        from mmhex.core import tail_move

        tail_move.prefer_in_place = lambda *args: False
        document.save(on_progress=stall)
    else:
        # copy_file_range copies 48 MiB faster than one progress interval: stall after the
        # first chunk instead.
        from mmhex.core import save as saving

        copy = saving.copy_range

        def slow_copy(*args):
            copied = copy(*args)
            stall(1, 2)
            return copied

        saving.copy_range = slow_copy
        document.save_as(target)
    print("finished", flush=True)
    """
)


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".mmhex-tmp"))


def _start_saver(path: Path, how: str, target: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path), how, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", "the save never stalled mid-way"
    return child


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL


def _big_file(path: Path) -> bytes:
    data = os.urandom(48 * 1024 * 1024)  # several progress steps of the copy
    path.write_bytes(data)
    return data


def test_a_layout_save_killed_mid_way_leaves_a_temporary_that_the_next_open_removes(tmp_path):
    path = tmp_path / "data.bin"
    data = _big_file(path)
    child = _start_saver(path, "layout", path)
    try:
        live = _temporaries(tmp_path)
        assert len(live) == 1 and live[0].name.startswith(".data.bin.")
        # The writer is alive: neither a cleanup nor an open may take its file.
        assert saving.remove_stale_temporaries(str(path)) == []
        Document.open(str(path)).close()
        assert _temporaries(tmp_path) == live
    finally:
        _kill(child)
    assert _temporaries(tmp_path) == live  # SIGKILL: nothing cleaned up after itself
    document = Document.open(str(path))
    document.close()
    assert _temporaries(tmp_path) == []
    assert path.read_bytes() == data  # the interrupted save never touched the file


def test_a_save_as_killed_mid_way_is_cleaned_by_the_next_save_and_by_recover(tmp_path):
    path = tmp_path / "data.bin"
    data = _big_file(path)
    target = tmp_path / "copy.bin"
    for cleaner in ("save", "recover"):
        child = _start_saver(path, "save-as", target)
        try:
            live = _temporaries(tmp_path)
            assert [p.name[: len(".copy.bin.")] for p in live] == [".copy.bin."]
        finally:
            _kill(child)
        assert not target.exists()
        if cleaner == "save":
            document = Document.open(str(path))
            document.enable_editing()
            document.write(0, b"Z")
            document.save_as(str(target))
            document.close()
            assert target.read_bytes() == b"Z" + data[1:]
            target.unlink()
        else:
            target.write_bytes(b"something")  # recover needs the file to exist
            result = subprocess.run(
                [sys.executable, "-m", "mmhex", "recover", str(target)],
                capture_output=True,
                text=True,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
                check=False,
            )
            assert result.returncode == 0, result.stderr
            target.unlink()
        assert _temporaries(tmp_path) == []


def test_temporaries_that_are_not_provably_ours_and_dead_stay(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 100)
    names = [f".data.bin.{tag}.mmhex-tmp" for tag in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC")]
    theirs, link, linked = (tmp_path / n for n in names)
    theirs.write_bytes(b"t")
    os.chown(theirs, 65534, 65534)
    link.symlink_to(path)
    linked.write_bytes(b"l")
    os.link(linked, tmp_path / "second-name")
    fifo = tmp_path / ".data.bin.DDDDDDDD.mmhex-tmp"
    os.mkfifo(fifo)
    other = tmp_path / ".other.bin.EEEEEEEE.mmhex-tmp"  # another file's temporary
    other.write_bytes(b"o")
    dead = tmp_path / ".data.bin.FFFFFFFF.mmhex-tmp"
    dead.write_bytes(b"d")
    assert saving.remove_stale_temporaries(str(path)) == [str(dead)]
    for kept in (theirs, linked, other):
        assert kept.exists()
    assert link.is_symlink() and fifo.exists() and path.read_bytes() == b"x" * 100


def test_a_temporary_locked_by_another_users_live_writer_stays(tmp_path):
    """The lock, not the owner, says "alive": a live writer of ours in another process."""
    path = tmp_path / "data.bin"
    path.write_bytes(b"x")
    tmp = tmp_path / ".data.bin.GGGGGGGG.mmhex-tmp"
    tmp.write_bytes(b"partial")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(tmp),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert saving.remove_stale_temporaries(str(path)) == []
        assert tmp.exists()
    finally:
        _kill(holder)
    assert saving.remove_stale_temporaries(str(path)) == [str(tmp)]
    assert not tmp.exists()
