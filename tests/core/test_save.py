"""Save planning, journaled save in place, every failure path, Save As, and crash injection."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import mmap
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmhex.core import journal, save
from mmhex.core.document import Document
from mmhex.core.journal import RecoveryAction, has_journal, journal_path, read_journal
from mmhex.core.mapping import FileIdentity
from mmhex.core.progress import Cancelled, CancelToken
from mmhex.core.save import (
    FileChangedOnDiskError,
    JournalPendingError,
    SaveError,
    copy_sparse,
    data_extents,
    plan_save,
)
from tests.residency_support import nobody  # noqa: F401  (fixture: the package staged for nobody)
from tests.save_support import drop_to_nobody, python_for_nobody

ROOT = Path(__file__).resolve().parents[2]
PAGE = mmap.PAGESIZE


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def edited(content: bytes, patches: list[tuple[int, bytes]]) -> bytes:
    data = bytearray(content)
    for offset, new in patches:
        data[offset : offset + len(new)] = new
    return bytes(data)


def open_with_edits(path: Path, patches: list[tuple[int, bytes]]) -> Document:
    document = Document.open(str(path))
    document.enable_editing()
    for offset, new in patches:
        document.write(offset, new)
    return document


# --------------------------------------------------------------------------- planning
def test_plan_merges_edits_into_page_aligned_ranges_without_io() -> None:
    plan = plan_save(
        "/nonexistent/dir/file.bin",  # planning never touches the file system
        [(PAGE * 10 + 5, b"z"), (3, b"ab"), (PAGE - 1, b"xy"), (PAGE * 3, b"q")],
        size=PAGE * 10 + 100,
    )
    assert plan.page_ranges == (
        (0, 2 * PAGE),  # 3 and PAGE-1..PAGE+1 share or touch pages: merged
        (3 * PAGE, 4 * PAGE),
        (10 * PAGE, 10 * PAGE + 100),  # the last page is clipped to the file size
    )
    assert [p.offset for p in plan.patches] == [3, PAGE - 1, 3 * PAGE, 10 * PAGE + 5]
    assert plan.changed_bytes == 6
    assert plan.dirty_page_bytes == 3 * PAGE + 100
    assert plan.journal_path == "/nonexistent/dir/.file.bin.mmhex-journal"
    # one mapping and one msync over all of them: msync writes only the dirty pages
    assert [(s.start, s.end) for s in plan.spans] == [(0, 10 * PAGE + 100)]


def test_plan_spans_stop_at_their_length_and_dirty_limits() -> None:
    patches = [(0, b"a"), (5 * PAGE, b"b"), (6 * PAGE + 1, b"c"), (20 * PAGE, b"d")]
    plan = plan_save("f", patches, size=30 * PAGE, max_span_length=8 * PAGE)
    assert [(s.start, s.end, s.pages) for s in plan.spans] == [
        (0, 7 * PAGE, ((0, PAGE), (5 * PAGE, 7 * PAGE))),
        (20 * PAGE, 21 * PAGE, ((20 * PAGE, 21 * PAGE),)),
    ]
    plan = plan_save("f", patches, size=30 * PAGE, max_span_dirty=2 * PAGE)
    assert [(s.start, s.end) for s in plan.spans] == [
        (0, PAGE),  # adding the next two dirty pages would pass the limit
        (5 * PAGE, 7 * PAGE),
        (20 * PAGE, 21 * PAGE),
    ]
    for span in plan.spans:
        assert span.start % PAGE == 0
        assert all(span.start <= p.offset and p.end <= span.end for p in span.patches)


def test_plan_splits_a_huge_range_into_spans_that_reassemble() -> None:
    data = random_bytes(10 * PAGE + 7)
    plan = plan_save("f", [(100, data)], size=12 * PAGE, max_span_dirty=3 * PAGE)
    assert [(s.start, s.end) for s in plan.spans] == [
        (0, 3 * PAGE),
        (3 * PAGE, 6 * PAGE),
        (6 * PAGE, 9 * PAGE),
        (9 * PAGE, 11 * PAGE),
    ]
    assert plan.page_ranges == ((0, 11 * PAGE),)
    assert b"".join(p.data for p in plan.patches) == data
    assert plan.patches[0].offset == 100


def test_plan_refuses_edits_past_the_end_and_overlaps() -> None:
    with pytest.raises(SaveError, match="past the end"):
        plan_save("f", [(99, b"ab")], size=100)
    with pytest.raises(ValueError, match="overlap"):
        plan_save("f", [(0, b"abc"), (2, b"x")], size=100)
    assert plan_save("f", [], size=100).is_empty


# --------------------------------------------------------------------------- save in place
class CountingMmap(mmap.mmap):
    """Counts msync calls and their arguments."""

    flushes: ClassVar[list[tuple[int, ...]]] = []

    def flush(self, *args: int) -> None:
        CountingMmap.flushes.append((self._start, *args))
        super().flush(*args)

    def __new__(cls, *args: object, **kwargs: object) -> CountingMmap:
        mm = super().__new__(cls, *args, **kwargs)
        mm._start = kwargs.get("offset", 0)
        return mm


def test_save_writes_only_the_edits_with_one_msync_per_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(40 * PAGE)
    path.write_bytes(old)
    patches = [
        (5, b"\x01\x02"),
        (PAGE + 3, b"\x03"),
        (20 * PAGE - 1, b"\x04\x05"),
        (39 * PAGE, b"x"),
    ]
    document = open_with_edits(path, patches)
    plan = document.plan_save()
    monkeypatch.setattr(save.mmap, "mmap", CountingMmap)
    CountingMmap.flushes = []
    steps: list[str] = []
    result = document.save(checkpoint=steps.append)
    assert path.read_bytes() == edited(old, patches)
    assert result.changed_bytes == 6 and result.ranges == 3 and result.msyncs == 1
    assert CountingMmap.flushes == [(s.start, 0, s.length) for s in plan.spans]
    assert CountingMmap.flushes == [(0, 0, 39 * PAGE + PAGE)]
    assert steps == [
        "journal-created",
        "journal-header",
        "journal-ranges-written",
        "journal-checksum",
        "journal-fsynced",
        "journal-dir-fsynced",
        "span-0-copied",
        "span-0-msynced",
        "file-fsynced",
        "journal-complete",
        "journal-removed",
        "journal-removal-fsynced",
    ]
    assert not has_journal(str(path))
    assert not document.modified
    document.close()


def test_each_span_is_mapped_copied_and_msynced_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(10 * PAGE)
    path.write_bytes(old)
    patches = [(i * 3 * PAGE, b"x") for i in range(3)]
    document = open_with_edits(path, patches)
    monkeypatch.setattr(save, "MAX_SPAN_LENGTH", 2 * PAGE)
    monkeypatch.setattr(save.mmap, "mmap", CountingMmap)
    CountingMmap.flushes = []
    steps: list[str] = []
    result = document.save(checkpoint=steps.append)
    assert [s for s in steps if s.startswith("span")] == [
        "span-0-copied",
        "span-0-msynced",
        "span-1-copied",
        "span-1-msynced",
        "span-2-copied",
        "span-2-msynced",
    ]
    assert CountingMmap.flushes == [(i * 3 * PAGE, 0, PAGE) for i in range(3)]
    assert result.msyncs == 3
    assert path.read_bytes() == edited(old, patches)
    document.close()


def test_journal_during_the_save_holds_the_original_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(8 * PAGE)
    path.write_bytes(old)
    patches = [(100, b"new!"), (5 * PAGE + 9, b"more")]
    document = open_with_edits(path, patches)
    seen: dict[str, object] = {}

    def look(step: str) -> None:
        if step == "span-0-copied":
            parsed = read_journal(journal_path(str(path)))
            seen["ranges"] = [(r.offset, r.original) for r in parsed.ranges]
            seen["complete"] = parsed.complete
            seen["identity"] = parsed.identity
            seen["mode"] = os.stat(journal_path(str(path))).st_mode & 0o777

    before = FileIdentity.from_stat(os.stat(path))
    document.save(checkpoint=look)
    assert seen["ranges"] == [
        (100, old[100:104]),
        (5 * PAGE + 9, old[5 * PAGE + 9 : 5 * PAGE + 13]),
    ]
    assert seen["complete"] is False
    assert seen["identity"] == before
    assert seen["mode"] == 0o600
    document.close()


def test_file_changed_on_disk_is_a_question_not_an_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(4 * PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(1, b"mine")])
    with open(path, "r+b") as handle:  # someone else's change, same size
        handle.seek(3 * PAGE)
        handle.write(b"theirs")
    theirs = path.read_bytes()
    with pytest.raises(FileChangedOnDiskError) as info:
        document.save()
    assert "changed on disk" in str(info.value)
    assert info.value.question.endswith("Overwrite it with your edits?")
    assert path.read_bytes() == theirs
    assert document.modified and not has_journal(str(path))
    document.save(overwrite_outside_changes=True)
    assert path.read_bytes() == edited(theirs, [(1, b"mine")])
    document.close()


def test_a_leftover_journal_blocks_the_save(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(random_bytes(PAGE))
    document = open_with_edits(path, [(0, b"x")])
    Path(journal_path(str(path))).write_bytes(b"MMHEXJNL")
    with pytest.raises(JournalPendingError, match="interrupted"):
        document.save()
    assert document.modified
    document.close()


def test_cancel_while_journaling_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(4 * PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(0, b"abc"), (3 * PAGE, b"def")])
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        document.save(cancel=token)
    assert path.read_bytes() == old
    assert not has_journal(str(path)) and document.modified
    document.close()


def test_cancel_while_writing_rolls_the_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(save, "MAX_SPAN_LENGTH", PAGE)  # one span per edited page
    path = tmp_path / "f.bin"
    old = random_bytes(4 * PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(0, b"abc"), (3 * PAGE, b"def")])
    token = CancelToken()
    on_disk_when_cancelled: list[bytes] = []

    def step(name: str) -> None:
        if name == "span-0-msynced":
            on_disk_when_cancelled.append(path.read_bytes())
            token.cancel()

    with pytest.raises(Cancelled):
        document.save(cancel=token, checkpoint=step)
    assert on_disk_when_cancelled[0][:3] == b"abc", "the first range had really been written"
    assert path.read_bytes() == old
    assert not has_journal(str(path)) and document.modified
    document.close()


def test_a_write_error_mid_save_restores_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(save, "MAX_SPAN_LENGTH", PAGE)  # one span per edited page
    path = tmp_path / "f.bin"
    old = random_bytes(4 * PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(0, b"abc"), (3 * PAGE, b"def")])

    def fail(name: str) -> None:
        if name == "span-1-copied":
            raise OSError(errno.EIO, "injected")

    with pytest.raises(SaveError, match="restored to its previous contents"):
        document.save(checkpoint=fail)
    assert path.read_bytes() == old
    assert not has_journal(str(path)) and document.modified
    document.save()
    assert path.read_bytes() == edited(old, [(0, b"abc"), (3 * PAGE, b"def")])
    document.close()


@pytest.mark.parametrize("step", ["journal-dir-fsynced", "span-0-copied", "file-fsynced"])
def test_a_file_truncated_mid_save_is_not_grown_back_or_called_saved(
    step: str, tmp_path: Path
) -> None:
    """Another program truncates the file while it is being saved: the save fails, the bytes
    inside the new size get their old values back, the file keeps its new size (no zeros
    appended), the message says what happened, and the journal keeps the bytes past the end."""
    path = tmp_path / "f.bin"
    old = random_bytes(4 * PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(10, b"abc"), (3 * PAGE + 5, b"def")])

    def truncate(name: str) -> None:
        if name == step:
            os.truncate(path, PAGE)

    with pytest.raises(SaveError) as info:
        document.save(checkpoint=truncate)
    message = str(info.value)
    assert "truncated" in message and f"{PAGE:,} bytes" in message
    assert "restored to its previous contents" not in message
    assert os.stat(path).st_size == PAGE
    assert path.read_bytes() == old[:PAGE]
    assert has_journal(str(path)), "the journal holds the only copy of the bytes past the end"
    assert document.modified
    document.close()


def test_a_save_waits_for_another_processs_save_then_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(save, "SAVE_LOCK_WAIT", 0.2)
    path = tmp_path / "f.bin"
    old = random_bytes(PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(0, b"abc")])
    holder = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(SaveError, match="Another mmhex is saving"):
            document.save()
        assert time.monotonic() - started >= 0.2
        assert path.read_bytes() == old and not has_journal(str(path))
    finally:
        os.close(holder)
    document.save()  # the lock is free again
    assert path.read_bytes()[:3] == b"abc"
    document.close()


def test_progress_is_reported_in_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(random_bytes(4 * PAGE))
    document = open_with_edits(path, [(0, b"abcd"), (3 * PAGE, b"ef")])
    reports: list[tuple[int, int]] = []
    document.save(on_progress=lambda done, total: reports.append((done, total)))
    assert reports[-1] == (12, 12)  # journaled 6 bytes, then wrote 6
    document.close()


def test_disk_full_while_journaling_is_reported_and_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(4 * PAGE)
    path.write_bytes(old)
    document = open_with_edits(path, [(0, b"abc")])
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(journal.JOURNAL_SUFFIX):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", full_disk)
    with pytest.raises(SaveError) as info:
        document.save()
    assert "disk is full" in str(info.value)
    assert "file is unchanged" in str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == old
    assert not has_journal(str(path)) and document.modified
    document.close()


# --------------------------------------------------------------------------- real failures
@contextlib.contextmanager
def small_tmpfs(size: str) -> Iterator[Path]:
    """A tiny tmpfs of its own (needs root and mount rights; skipped otherwise)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    where = Path(tempfile.mkdtemp(prefix="mmhex-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def test_real_disk_full_while_journaling(tmp_path: Path) -> None:
    with small_tmpfs("64k") as where:
        path = where / "f.bin"
        old = random_bytes(10 * PAGE)  # 40 KiB of 64 KiB: the journal of 30 KiB cannot fit
        path.write_bytes(old)
        patch = [(PAGE, b"\x5a" * (30 * 1024))]
        document = open_with_edits(path, patch)
        with pytest.raises(SaveError) as info:
            document.save()
        assert "disk is full" in str(info.value)
        assert path.read_bytes() == old
        assert not has_journal(str(path)) and document.modified
        document.close()


def test_read_only_file_system(tmp_path: Path) -> None:
    with small_tmpfs("1m") as where:
        path = where / "f.bin"
        old = random_bytes(4 * PAGE)
        path.write_bytes(old)
        document = open_with_edits(path, [(10, b"abc")])
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        assert document.save_blocker() == "The file is on a read-only file system; use Save As."
        with pytest.raises(SaveError) as info:
            document.save()
        assert "read-only file system" in str(info.value)
        assert "Save As" in str(info.value)
        assert path.read_bytes() == old and document.modified
        target = tmp_path / "copy.bin"
        document.save_as(str(target))
        assert target.read_bytes() == edited(old, [(10, b"abc")])
        document.close()


def test_running_program_cannot_be_saved_text_file_busy(tmp_path: Path) -> None:
    program = tmp_path / "sleeper"
    shutil.copy("/bin/sleep", program)
    old = program.read_bytes()
    running = subprocess.Popen([str(program), "30"])
    try:
        time.sleep(0.1)
        document = open_with_edits(program, [(len(old) - 1, bytes([old[-1] ^ 0xFF]))])
        with pytest.raises(SaveError) as info:
            document.save()
        assert "running right now" in str(info.value)
        assert info.value.errno == errno.ETXTBSY
        assert document.modified
        document.close()
    finally:
        running.kill()
        running.wait()
    assert program.read_bytes() == old


PERMISSION_CHILD = """
import json, sys
from mmhex.core.document import Document
from mmhex.core.save import SaveError
document = Document.open(sys.argv[1])
document.enable_editing()
document.write(0, b"xyz")
try:
    document.save()
    print(json.dumps({"saved": True}))
except SaveError as exc:
    print(json.dumps({"saved": False, "message": str(exc), "modified": document.modified}))
"""


@pytest.mark.parametrize(
    ("denied", "expected"),
    [("file", "You do not have permission to write"), ("folder", "is not writable")],
)
def test_permission_denied_as_an_ordinary_user(
    denied: str, expected: str, request: pytest.FixtureRequest
) -> None:
    """No write access to the file, or to its folder (where the journal goes).

    Root ignores permission bits, so as root the save runs as user nobody in a child process,
    from a world-readable copy of the package (the checkout may sit in a folder of mode 700).
    """
    folder = Path(tempfile.mkdtemp(prefix="mmhex-perm-"))
    folder.chmod(0o755)  # mkdtemp makes it 0700: nobody could not reach the file at all
    as_root = os.geteuid() == 0
    package_root = ROOT
    if as_root:
        _python, package_root = request.getfixturevalue("nobody")
    try:
        path = folder / "f.bin"
        old = random_bytes(PAGE)
        path.write_bytes(old)
        if denied == "file":
            path.chmod(0o644 if as_root else 0o444)  # root owns it: nobody may only read
            folder.chmod(0o755)
        else:
            path.chmod(0o666)
            folder.chmod(0o755 if as_root else 0o555)
        python = python_for_nobody() if as_root else sys.executable
        result = subprocess.run(
            [python, "-c", PERMISSION_CHILD, str(path)],
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(package_root)},
            preexec_fn=drop_to_nobody if as_root else None,
            check=True,
            cwd="/",
        )
        outcome = json.loads(result.stdout)
        assert outcome["saved"] is False
        assert expected in outcome["message"]
        assert outcome["modified"] is True
        assert path.read_bytes() == old
        assert not has_journal(str(path))
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- save as
def sparse_file(path: Path, size: int, extents: list[tuple[int, bytes]]) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)
        for offset, data in extents:
            handle.seek(offset)
            handle.write(data)


def test_data_extents_and_sparse_copy_keep_holes(tmp_path: Path) -> None:
    mib = 1 << 20
    source = tmp_path / "sparse.bin"
    extents = [(3 * mib, b"a" * 5000), (40 * mib, random_bytes(70_000))]
    sparse_file(source, 64 * mib, extents)
    fd = os.open(source, os.O_RDONLY)
    try:
        found = data_extents(fd, 64 * mib)
        for offset, data in extents:
            assert any(s <= offset and offset + len(data) <= e for s, e in found)
        assert sum(e - s for s, e in found) < 2 * mib
        target = tmp_path / "copy.bin"
        out = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        os.ftruncate(out, 64 * mib)
        copy_sparse(fd, out, 64 * mib, save.Progress(64 * mib))
        os.close(out)
    finally:
        os.close(fd)
    assert target.read_bytes() == source.read_bytes()
    assert os.stat(target).st_blocks * 512 < 2 * mib


def test_save_as_writes_a_sparse_copy_with_the_edits_and_switches(tmp_path: Path) -> None:
    mib = 1 << 20
    source = tmp_path / "src.bin"
    sparse_file(source, 32 * mib, [(mib, b"data" * 1000)])
    source.chmod(0o640)
    old = source.read_bytes()
    patches = [(0, b"head"), (20 * mib, b"in a hole"), (32 * mib - 1, b"!")]
    document = open_with_edits(source, patches)
    changes: list[str] = []
    document.add_listener(lambda change: changes.append(change.kind.value))
    target = tmp_path / "out" / "copy.bin"
    target.parent.mkdir()
    result = document.save_as(str(target))
    assert result.changed_bytes == 14
    assert target.read_bytes() == edited(old, patches)
    assert source.read_bytes() == old, "Save As never touches the original"
    assert os.stat(target).st_blocks * 512 < 2 * mib
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert document.path == str(target) and not document.modified and document.editing
    assert changes == ["saved"]
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"], "no temporary left"
    document.write(5, b"again")
    document.save()
    assert target.read_bytes()[5:10] == b"again"
    assert source.read_bytes() == old
    document.close()


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_save_as_onto_the_file_itself_saves_in_place(tmp_path: Path, how: str) -> None:
    path = tmp_path / "f.bin"
    old = random_bytes(8 * PAGE)
    path.write_bytes(old)
    alias = path
    if how == "symlink":
        alias = tmp_path / "link.bin"
        alias.symlink_to(path)
    elif how == "hard link":
        alias = tmp_path / "hard.bin"
        os.link(path, alias)
    inode = os.stat(path).st_ino
    document = open_with_edits(path, [(7 * PAGE, b"tail edit")])
    document.save_as(str(alias))
    assert os.stat(path).st_ino == inode, "saved in place, not replaced by a copy"
    assert path.read_bytes() == edited(old, [(7 * PAGE, b"tail edit")])
    assert not document.modified
    document.close()


def test_save_as_into_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(random_bytes(PAGE))
    document = open_with_edits(path, [(0, b"x")])
    with pytest.raises(SaveError, match="nothing was saved"):
        document.save_as(str(tmp_path / "missing" / "copy.bin"))
    assert document.modified and document.path == str(path)
    document.close()


def test_save_as_failure_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(random_bytes(PAGE))
    document = open_with_edits(path, [(0, b"x")])
    out = tmp_path / "out"
    out.mkdir()

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(save.os, "fsync", no_space)
    with pytest.raises(SaveError, match="disk is full"):
        document.save_as(str(out / "copy.bin"))
    assert list(out.iterdir()) == []
    assert document.modified and document.path == str(path)
    document.close()


# --------------------------------------------------------------------------- crash injection
# A long-lived helper process imports mmhex once and forks one child per save; the test kills
# that child with SIGKILL from outside, either at a named step (it waits there) or after a
# random delay into the save. Forking keeps hundreds of runs within a few seconds.
ZYGOTE = """
import json, os, sys, time
from mmhex.core import save
from mmhex.core.document import Document

def say(text):
    os.write(1, (text + "\\n").encode())

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            say(f"pid {os.getpid()}")
            save.MAX_SPAN_LENGTH = request["max_span"]
            document = Document.open(request["path"])
            document.enable_editing()
            for offset, data in request["edits"]:
                document.write(offset, bytes.fromhex(data))
            stop = request["stop"]

            def checkpoint(name):
                say(f"step {name}")
                if name == stop:
                    say("stopped")
                    time.sleep(600)

            say("saving")
            document.save(checkpoint=checkpoint)
            say("saved")
        except BaseException as exc:
            say(f"error {exc!r}")
        finally:
            # Never exit on its own: only our SIGKILL ends it, so its pid cannot be reaped and
            # reused before the test kills it.
            time.sleep(600)
            os._exit(0)
    os.waitpid(pid, 0)
    say("reaped")
"""

# name: (file size, edits, longest msync span: small ones give several msyncs per save)
SCENARIOS: dict[str, tuple[int, list[tuple[int, bytes]], int]] = {
    "scattered": (
        16 * PAGE,
        [(5, b"\xaa" * 3), (7 * PAGE + 100, b"\xbb" * 50), (15 * PAGE, b"\xcc")],
        PAGE,
    ),
    "spanning": (16 * PAGE, [(PAGE - 10, b"\xdd" * (3 * PAGE))], save.MAX_SPAN_LENGTH),
    "many bytes": (16 * PAGE, [(i * 1337 % (16 * PAGE), b"\xee") for i in range(12)], 4 * PAGE),
    "ragged end": (
        5000,
        [(0, b"\x11"), (4999, b"\x22"), (4090, b"\x33" * 10)],
        save.MAX_SPAN_LENGTH,
    ),
}
EXPECTED_AT_STEP = {
    "journal-created": RecoveryAction.DISCARDED_INCOMPLETE,
    "journal-header": RecoveryAction.DISCARDED_INCOMPLETE,
    "journal-ranges-written": RecoveryAction.DISCARDED_INCOMPLETE,
    "journal-checksum": RecoveryAction.ROLLED_BACK,
    "journal-fsynced": RecoveryAction.ROLLED_BACK,
    "journal-dir-fsynced": RecoveryAction.ROLLED_BACK,
    "file-fsynced": RecoveryAction.ROLLED_BACK,
    "journal-complete": RecoveryAction.KEPT_NEW,
    "journal-removed": RecoveryAction.NOTHING,
    "journal-removal-fsynced": RecoveryAction.NOTHING,
}
RANDOM_KILLS_PER_SCENARIO = 70


class Zygote:
    def __init__(self) -> None:
        self.last_step = ""  # the last step the child announced before it died
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def save(
        self,
        path: Path,
        edits: list[tuple[int, bytes]],
        *,
        max_span: int,
        stop: str | None,
        delay: float | None,
    ) -> tuple[bool, float]:
        """Run one save in a child; kill it at ``stop`` or ``delay`` s after it starts saving.

        Returns (whether the save finished before the kill, seconds it took if it finished).
        """
        request = {
            "path": str(path),
            "edits": [(o, d.hex()) for o, d in edits],
            "stop": stop,
            "max_span": max_span,
        }
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        pid = 0
        self.last_step = "(none)"
        killed = finished = False
        started = elapsed = 0.0
        while True:
            line = self.process.stdout.readline().decode().strip()
            assert line, "the helper process died"
            assert not line.startswith("error"), line
            if line.startswith("pid "):
                pid = int(line.split()[1])
            elif line.startswith("step "):
                self.last_step = line.split()[1]
            elif line == "saving":
                started = time.perf_counter()
                if delay is not None:
                    time.sleep(delay)
                    os.kill(pid, signal.SIGKILL)
                    killed = True
            elif line == "stopped":
                os.kill(pid, signal.SIGKILL)
                killed = True
            elif line == "saved":
                finished = True
                elapsed = time.perf_counter() - started
                if not killed:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
            elif line == "reaped":
                return finished, elapsed

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=10)


def save_steps(
    tmp_path: Path,
    size: int,
    edits: list[tuple[int, bytes]],
    max_span: int,
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    path = tmp_path / "steps.bin"
    path.write_bytes(random_bytes(size, 7))
    with monkeypatch.context() as patch:
        patch.setattr(save, "MAX_SPAN_LENGTH", max_span)
        document = open_with_edits(path, edits)
        steps: list[str] = []
        document.save(checkpoint=steps.append)
        document.close()
    path.unlink()
    return steps


def test_sigkill_at_any_point_of_a_save_leaves_old_or_new_after_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zygote = Zygote()
    rng = random.Random(2024)
    outcomes: dict[str, int] = {"old": 0, "new": 0}
    random_kill_steps: set[str] = set()
    runs = 0
    try:
        for name, (size, edits, max_span) in SCENARIOS.items():
            old = random_bytes(size, 3)
            new = edited(old, edits)
            assert new != old
            path = tmp_path / f"{name.replace(' ', '-')}.bin"
            steps = save_steps(tmp_path, size, edits, max_span, monkeypatch)
            # calibrate: how long does an unkilled save take here?
            durations = []
            for _ in range(3):
                path.write_bytes(old)
                finished, seconds = zygote.save(
                    path, edits, max_span=max_span, stop=None, delay=None
                )
                assert finished and path.read_bytes() == new
                durations.append(seconds)
            window = max(durations) * 1.3
            plans = [(step, None) for step in steps]
            plans += [(None, rng.uniform(0, window)) for _ in range(RANDOM_KILLS_PER_SCENARIO)]
            for stop, delay in plans:
                path.write_bytes(old)
                finished, _ = zygote.save(path, edits, max_span=max_span, stop=stop, delay=delay)
                runs += 1
                if delay is not None and not finished:
                    random_kill_steps.add(re.sub(r"span-\d+-", "span-", zygote.last_step))
                outcome = journal.recover(str(path))
                content = path.read_bytes()
                assert content in (old, new), f"{name}: torn file after kill at {stop or delay}"
                outcomes["old" if content == old else "new"] += 1
                assert not has_journal(str(path))
                if stop is not None:
                    expected = EXPECTED_AT_STEP.get(stop, RecoveryAction.ROLLED_BACK)
                    assert outcome.action is expected, (name, stop, outcome.message)
                    wanted = (
                        old
                        if expected
                        in (RecoveryAction.DISCARDED_INCOMPLETE, RecoveryAction.ROLLED_BACK)
                        else new
                    )
                    assert content == wanted, (name, stop)
    finally:
        zygote.close()
    assert runs >= 300
    # random kills land on both sides of the commit point
    assert outcomes["old"] > 50 and outcomes["new"] > 10, outcomes
    print(f"{runs} kills; files left old/new: {outcomes}; random kills after: {random_kill_steps}")
    assert len(random_kill_steps) >= 6, random_kill_steps


# --------------------------------------------------------------------------- bytes written
def cache_in_large_folios(path: Path) -> None:
    """Drop the file from the cache and read it back whole, as a search does: readahead then
    builds large folios (up to 2 MiB)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        size = os.fstat(fd).st_size
        for start in range(0, size, 4 << 20):
            os.pread(fd, 4 << 20, start)
    finally:
        os.close(fd)


def dirty_pages(fd: int) -> int:
    from mmhex.core._libc import cachestat

    return cachestat(fd, 0, 0)[1]


def test_a_save_dirties_the_edited_pages_not_whole_folios(tmp_path: Path) -> None:
    """Issue 10, item 4: a one-byte store through MAP_SHARED into a cached large folio dirties
    (and writes back) the whole folio. Counted with cachestat right before the msync: the
    dirty pages must be about the edited pages, with the document viewing the edited regions."""
    size = 32 << 20
    path = tmp_path / "cached.bin"
    path.write_bytes(random_bytes(size))
    cache_in_large_folios(path)
    fd = os.open(path, os.O_RDWR)
    try:
        try:  # does this kernel and file system cache the file in large folios at all?
            probe = mmap.mmap(fd, PAGE, offset=8 << 20)
            probe[0] = probe[0]
            folio_pages = dirty_pages(fd)
            probe.flush()
            probe.close()
        except OSError as exc:
            pytest.skip(f"no cachestat here ({exc})")
        if folio_pages <= 1:
            pytest.skip("this page cache holds the file in small folios: nothing to prove")
        cache_in_large_folios(path)
        rng = random.Random(4)
        edits = [(rng.randrange(size), bytes([rng.randrange(256)])) for _ in range(12)]
        document = Document.open(str(path))
        document.enable_editing()
        for offset, value in edits:
            document.read(max(0, offset - 100_000), 200_000)  # the user looks around each edit
            document.write(offset, value)
        pages = len(document.plan_save().page_ranges)
        seen: list[int] = []

        def count(step: str) -> None:
            if step == "span-0-copied":
                seen.append(dirty_pages(fd))

        document.save(checkpoint=count)
        document.close()
    finally:
        os.close(fd)
    assert seen[0] <= 2 * pages, (
        f"{seen[0]} dirty pages for {pages} edited pages (a whole folio is {folio_pages} pages)"
    )
    assert path.read_bytes() == edited(random_bytes(size), edits)


@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(1, 40)), max_size=12),
)
def test_sparse_folios_are_the_folios_with_few_dirty_pages(ranges: list[tuple[int, int]]) -> None:
    """Against a model that counts the dirty pages of each 16-page folio one by one."""
    folio = 16 * PAGE
    pages = sorted({page for first, count in ranges for page in range(first, first + count)})
    runs: list[tuple[int, int]] = []
    for page in pages:  # merged page ranges, as a plan holds them
        if runs and runs[-1][1] == page * PAGE:
            runs[-1] = (runs[-1][0], (page + 1) * PAGE)
        else:
            runs.append((page * PAGE, (page + 1) * PAGE))
    per_folio: dict[int, int] = {}
    for page in pages:
        per_folio[page // 16] = per_folio.get(page // 16, 0) + 1
    expected = [
        (index * folio, (index + 1) * folio)
        for index in sorted(per_folio)
        if per_folio[index] * PAGE * save.SPARSE_SHARE < folio
    ]
    assert save.sparse_folios(runs, folio) == expected
