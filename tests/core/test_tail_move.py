"""The chunked in-place tail move: plan execution against a bytearray model on tmpfs, a SIGKILL
storm recovered to exactly the old or the new file, ENOSPC, a journal cut short, Cancel."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mmhex.core import tail_move
from mmhex.core.document import Document
from mmhex.core.layout_save import LayoutPlan, Move
from mmhex.core.progress import Cancelled, CancelToken
from mmhex.core.save import SaveError

SHM = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
KILLS = int(os.environ.get("MMHEX_MOVE_STORM_KILLS", "300"))
ROOT = Path(__file__).resolve().parents[2]

needs_shm = pytest.mark.skipif(SHM is None, reason="no writable /dev/shm (tmpfs)")


@pytest.fixture
def shm() -> Path:
    assert SHM is not None
    folder = Path(SHM) / f"mmhex-tailmove-{os.getpid()}-{random.randrange(1 << 30)}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def scan_journal(jpath: Path) -> tail_move.Parsed:
    fd = os.open(jpath, os.O_RDONLY)
    try:
        return tail_move.scan(fd)
    finally:
        os.close(fd)


def edit(document: Document, model: bytearray, rng: random.Random, count: int) -> None:
    """``count`` random inserts, deletes and overwrites, at 0, the end and anywhere, on both."""
    for _ in range(count):
        size = len(model)
        where = rng.choice([0, size, rng.randrange(size + 1)])
        kind = rng.choice(["insert", "delete", "write"]) if size else "insert"
        if kind == "insert":
            data = rng.randbytes(rng.choice([1, 3, 16, 100, 700]))
            document.insert(where, data)
            model[where:where] = data
        elif kind == "delete":
            where = min(where, size - 1)
            length = rng.randint(1, max(1, min(size - where, rng.choice([1, 5, 64, 900]))))
            document.delete(where, length)
            del model[where : where + length]
        else:
            where = min(where, size - 1)
            data = rng.randbytes(min(size - where, rng.choice([1, 8, 40])))
            document.write(where, data)
            model[where : where + len(data)] = data


def test_steps_never_overwrite_what_a_later_step_reads() -> None:
    """Pure plan check: replaying the steps on a list of byte labels gives the new layout."""
    plan = LayoutPlan(
        100, 104, (Move(0, 0, 10), Move(10, 13, 40), Move(52, 56, 48)), ((10, 13), (53, 56))
    )
    for chunk in (1, 3, 7, 64):
        cells: list[object] = list(range(100)) + [None] * 4
        for step in tail_move.steps_of(plan, chunk):
            if step.source is None:
                cells[step.target : step.target + step.length] = ["new"] * step.length
            else:
                cells[step.target : step.target + step.length] = cells[
                    step.source : step.source + step.length
                ]
        expected = list(range(10)) + ["new"] * 3 + list(range(10, 50)) + ["new"] * 3
        expected += list(range(52, 100))
        assert cells[:104] == expected, chunk


@needs_shm
@pytest.mark.parametrize("seed", range(12))
def test_in_place_save_matches_a_bytearray_model(shm: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = shm / "f.bin"
    model = bytearray(rng.randbytes(rng.choice([0, 1, 500, 5000])))
    path.write_bytes(model)
    inode = path.stat().st_ino
    document = Document.open(str(path))
    document.enable_editing()
    edit(document, model, rng, rng.randint(1, 8))
    plan = document.plan_layout_save()
    chunk = rng.choice([1, 7, 64, 512, 4096])
    seen: list[tuple[int, int]] = []
    tail_move.save_in_place(
        str(path),
        plan,
        document.read,
        None,
        chunk=chunk,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    document.close()
    assert path.read_bytes() == bytes(model)
    assert path.stat().st_ino == inode
    assert not tail_move.has_move_journal(str(path))
    if plan.moves or plan.writes:
        assert seen and seen[-1][0] == seen[-1][1]


def _saving_child(path: Path, seed: int, chunk: int, die: Callable[[str], None] | None) -> None:
    """In a forked child: edit ``path`` as the parent's model says and save it in place."""
    try:
        document = Document.open(str(path))
        document.enable_editing()
        edit(document, bytearray(path.read_bytes()), random.Random(seed), 4)
        plan = document.plan_layout_save()
        tail_move.save_in_place(str(path), plan, document.read, None, chunk=chunk, checkpoint=die)
        os._exit(0)
    finally:
        os._exit(1)


STEPS = ["journal-written", "grown", "chunk-journaled", "chunk-written", "file-fsynced"]
STEPS += ["completed", "truncated"]


@needs_shm
def test_sigkill_storm_recovers_to_exactly_old_or_new(shm: Path) -> None:
    """>= 300 kills, half at a random named step (its n-th passage), half after a random delay;
    recovery then leaves exactly the old or exactly the new bytes (checked with cmp)."""
    rng = random.Random(1234)
    path, old_copy, new_copy = shm / "f.bin", shm / "old.bin", shm / "new.bin"
    outcomes = {"old": 0, "new": 0}
    started = time.monotonic()
    for kill in range(KILLS):
        seed = rng.randrange(1 << 30)
        old = rng.randbytes(rng.choice([3000, 20000]))
        path.write_bytes(old)
        old_copy.write_bytes(old)
        model = bytearray(old)
        probe = Document.open(str(path))
        probe.enable_editing()
        edit(probe, model, random.Random(seed), 4)
        probe.close()
        new_copy.write_bytes(model)
        chunk = rng.choice([64, 256, 1024])
        at, nth = rng.choice(STEPS), rng.randint(1, 30)
        timed = kill % 2 == 1
        counter = {"n": 0}

        def die(step: str, at: str = at, nth: int = nth, counter: dict = counter) -> None:
            if step == at:
                counter["n"] += 1
                if counter["n"] >= nth:
                    os._exit(9)

        pid = os.fork()
        if pid == 0:
            _saving_child(path, seed, chunk, None if timed else die)
        if timed:
            time.sleep(rng.uniform(0, 0.02))
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        tail_move.recover_move(str(path))
        assert not tail_move.has_move_journal(str(path))
        same_old = subprocess.run(["cmp", "-s", path, old_copy]).returncode == 0
        same_new = subprocess.run(["cmp", "-s", path, new_copy]).returncode == 0
        assert same_old or same_new, f"kill {kill}: neither old nor new (step {at} #{nth})"
        outcomes["old" if same_old else "new"] += 1
    assert outcomes["old"] > KILLS // 10 and outcomes["new"] > KILLS // 10, outcomes
    assert time.monotonic() - started < 120


def _killed_at(path: Path, insert: tuple[int, bytes], at: str, nth: int, chunk: int) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            document = Document.open(str(path))
            document.enable_editing()
            document.insert(*insert)
            counter = [0]

            def die(step: str) -> None:
                if step == at:
                    counter[0] += 1
                    if counter[0] == nth:
                        os._exit(9)

            plan = document.plan_layout_save()
            tail_move.save_in_place(
                str(path), plan, document.read, None, chunk=chunk, checkpoint=die
            )
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, f"the save never reached {at!r} #{nth}"


@needs_shm
@pytest.mark.parametrize("cut", [1, 17, 40, "header"])
def test_a_journal_cut_short_is_a_chunk_never_touched(shm: Path, cut: int | str) -> None:
    """Killed while appending a record: the record is incomplete, its chunk untouched; and a
    header cut short means nothing was touched at all. Both recover to the old file."""
    path = shm / "f.bin"
    old = random.Random(5).randbytes(9000)
    path.write_bytes(old)
    if cut == "header":  # killed while the header was written: before any chunk moved
        _killed_at(path, (10, b"\xab" * 33), "journal-written", 1, 1000)
    else:
        _killed_at(path, (10, b"\xab" * 33), "chunk-journaled", 3, 1000)
    jpath = Path(tail_move.move_journal_path(str(path)))
    data = jpath.read_bytes()
    records = scan_journal(jpath).records
    assert len(records) == (0 if cut == "header" else 3)
    # Where the records end (the journal is preallocated: zeros follow them).
    end = records[-1].position + records[-1].length + tail_move._CRC.size if records else 0
    with open(jpath, "r+b") as handle:
        if cut == "header":
            handle.truncate(50)
        else:  # the third record loses its last bytes, as a write cut short would leave it
            handle.write(data[: end - int(cut)] + bytes(int(cut)))
    if cut != "header":
        assert len(scan_journal(jpath).records) == 2
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and not outcome.completed
    assert path.read_bytes() == old
    assert not jpath.exists()


@needs_shm
def test_completed_journal_finishes_the_save(shm: Path) -> None:
    path = shm / "f.bin"
    old = random.Random(6).randbytes(9000)
    path.write_bytes(old)
    pid = os.fork()
    if pid == 0:
        try:
            document = Document.open(str(path))
            document.enable_editing()
            document.delete(100, 4000)

            def die(step: str) -> None:
                if step == "completed":
                    os._exit(9)

            plan = document.plan_layout_save()
            tail_move.save_in_place(str(path), plan, document.read, None, checkpoint=die)
        finally:
            os._exit(1)
    os.waitpid(pid, 0)
    assert path.stat().st_size == len(old)  # not truncated yet
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and outcome.completed
    assert path.read_bytes() == old[:100] + old[4100:]


@needs_shm
def test_mmhex_recover_rolls_back_a_killed_in_place_move(shm: Path) -> None:
    path = shm / "f.bin"
    old = random.Random(7).randbytes(20000)
    path.write_bytes(old)
    _killed_at(path, (5, b"\x11" * 7), "chunk-written", 4, 2048)
    assert path.read_bytes() != old
    result = subprocess.run(
        [sys.executable, "-m", "mmhex", "recover", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "rolled back" in result.stdout
    assert path.read_bytes() == old
    assert not tail_move.has_move_journal(str(path))


@needs_shm
def test_open_recovers_and_hard_links_save_in_place(shm: Path) -> None:
    """A file with another hard link saves in place (the link sees the new bytes); a kill in
    the middle is rolled back by the next open, which says so."""
    path, link = shm / "f.bin", shm / "link.bin"
    old = random.Random(8).randbytes(30000)
    path.write_bytes(old)
    os.link(path, link)
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(3, b"xyz")
    document.delete(20000, 17)
    document.save()
    document.close()
    new = old[:3] + b"xyz" + old[3:19997] + old[20014:]
    assert link.read_bytes() == new and path.read_bytes() == new
    _killed_at(path, (1, b"Q"), "chunk-written", 2, 4096)
    reopened = Document.open(str(path))
    assert reopened.shift_recovery is not None and "rolled back" in reopened.shift_recovery.message
    assert reopened.read(0, reopened.size) == new
    reopened.close()


@needs_shm
def test_cancel_rolls_back(shm: Path) -> None:
    path = shm / "f.bin"
    old = random.Random(9).randbytes(50000)
    path.write_bytes(old)
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(0, b"head")
    token = CancelToken()
    written = [0]

    def press_cancel(step: str) -> None:
        if step == "chunk-written":
            written[0] += 1
            if written[0] == 10:  # the user presses Cancel in the middle of the move
                token.cancel()

    plan = document.plan_layout_save()
    with pytest.raises(Cancelled):
        tail_move.save_in_place(
            str(path), plan, document.read, None, chunk=1000, cancel=token, checkpoint=press_cancel
        )
    assert written[0] == 10
    document.close()
    assert path.read_bytes() == old
    assert not tail_move.has_move_journal(str(path))


def test_space_needed_is_growth_plus_journal() -> None:
    plan = LayoutPlan(1000, 1016, (Move(0, 0, 16), Move(16, 32, 984)), ((16, 32),))
    steps = tail_move.steps_of(plan, 100)
    overwritten = sum(max(0, min(s.target + s.length, 1000) - s.target) for s in steps)
    assert overwritten == 984 - 16 + 16  # the tail's destinations inside the old size + the gap
    assert tail_move.space_needed(plan, 100) == 16 + tail_move.journal_size(plan, 100)
    assert tail_move.journal_size(plan, 100) >= overwritten


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("mounting a 1 MiB tmpfs needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (no CAP_SYS_ADMIN in this container)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("checked", [True, False])
def test_enospc_on_a_tiny_tmpfs_leaves_the_file_unchanged(
    tiny_tmpfs: Path, checked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the statvfs check: refused first with the exact bytes needed. Without it (space
    taken meanwhile): fallocate of the growth fails, nothing moved, the journal is gone."""
    path = tiny_tmpfs / "f.bin"
    old = random.Random(10).randbytes(600 * 1024)
    path.write_bytes(old)
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(16, bytes(500 * 1024))
    plan = document.plan_layout_save()
    if not checked:
        monkeypatch.setattr(tail_move, "free_bytes", lambda _folder: None)
    with pytest.raises(SaveError) as caught:
        tail_move.save_in_place(str(path), plan, document.read, None)
    document.close()
    message = str(caught.value)
    if checked:
        assert f"needs {tail_move.space_needed(plan):,} bytes" in message
        assert "nothing was changed" in message
    else:
        # The journal's space is allocated first, then the growth: either fails before a
        # byte of the file moved.
        assert "ran out of space" in message
        assert "nothing was changed" in message or "restored" in message
    assert path.read_bytes() == old
    assert not tail_move.has_move_journal(str(path))


@needs_shm
def test_document_saves_in_place_when_space_is_short_for_a_copy(
    shm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Free space below the file's size but above the growth + journal: Save moves the tail in
    place (same inode) instead of failing for want of room for a copy."""
    path = shm / "f.bin"
    old = random.Random(11).randbytes(100_000)
    path.write_bytes(old)
    inode = path.stat().st_ino
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(99_000, b"tail")
    plan = document.plan_layout_save()
    assert tail_move.space_needed(plan) < plan.final_size
    monkeypatch.setattr(tail_move, "free_bytes", lambda _f: tail_move.space_needed(plan) + 10)
    document.save()
    document.close()
    assert path.read_bytes() == old[:99_000] + b"tail" + old[99_000:]
    assert path.stat().st_ino == inode
    # And with plenty of room the default stays the copy and rename (a new inode).
    monkeypatch.setattr(tail_move, "free_bytes", lambda _f: 1 << 40)
    again = Document.open(str(path))
    again.enable_editing()
    again.delete(0, 1)
    again.save()
    again.close()
    assert path.stat().st_ino != inode


@needs_shm
def test_recovery_leaves_a_live_save_alone(shm: Path) -> None:
    """While another process holds the save lock (a save running now), recovery at open must
    not roll its journal back under its feet; it says so and leaves both alone."""
    import fcntl

    path = shm / "f.bin"
    old = random.Random(12).randbytes(9000)
    path.write_bytes(old)
    _killed_at(path, (10, b"\x22" * 5), "chunk-written", 2, 1000)
    after_kill = path.read_bytes()
    holder = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        outcome = tail_move.recover_move(str(path))
        assert outcome is not None and "another mmhex is saving" in outcome.message
        assert tail_move.has_move_journal(str(path)) and path.read_bytes() == after_kill
    finally:
        os.close(holder)
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and "rolled back" in outcome.message
    assert path.read_bytes() == old


@needs_shm
def test_recovery_itself_can_be_killed(shm: Path) -> None:
    """SIGKILL during recovery, again and again: the next recovery still gives the old file.
    Opened read-only meanwhile, the document says the save was interrupted and touches nothing."""
    rng = random.Random(13)
    path = shm / "f.bin"
    old = rng.randbytes(200_000)
    path.write_bytes(old)
    _killed_at(path, (7, b"\x33" * 9), "chunk-written", 150, 1024)
    broken = path.read_bytes()
    viewer = Document.open(str(path), readonly=True)
    assert viewer.shift_recovery is not None
    assert "interrupted in-place save" in viewer.shift_recovery.message
    viewer.close()
    assert path.read_bytes() == broken and tail_move.has_move_journal(str(path))
    for _ in range(40):
        pid = os.fork()
        if pid == 0:
            try:
                tail_move.recover_move(str(path))
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.004))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not tail_move.has_move_journal(str(path)):
            break
    if tail_move.has_move_journal(str(path)):
        tail_move.recover_move(str(path))
    assert path.read_bytes() == old
