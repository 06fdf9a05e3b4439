"""The chunked in-place tail move: the plan and its journal needs as values (no I/O), execution
against a bytearray model on tmpfs, torn pages, a SIGKILL storm (also during recovery and during
a Cancel's roll back) recovered to exactly the old or the new file, ENOSPC, Cancel, the
previous version's journals, and the default path of Save."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from mmhex.core import tail_move
from mmhex.core.document import Document
from mmhex.core.layout_save import Fill, LayoutPlan, Move
from mmhex.core.progress import Cancelled, CancelToken
from mmhex.core.save import SaveError
from mmhex.core.sources import fill_bytes
from mmhex.core.tail_move import Step

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


def edit(
    document: Document, model: bytearray, rng: random.Random, count: int, fills: bool = False
) -> None:
    """``count`` random inserts, deletes and overwrites (and with ``fills`` inserted fills of
    short patterns), at 0, the end and anywhere, on both."""
    for _ in range(count):
        size = len(model)
        where = rng.choice([0, size, rng.randrange(size + 1)])
        kinds = ["insert", "delete", "write"] + ["fill"] * (2 * fills)
        kind = rng.choice(kinds) if size else "insert"
        if kind == "fill":
            pattern = rng.choice([b"\0", b"\xab", b"ab", rng.randbytes(3)])
            length = rng.choice([1, 37, 300, 2000])
            document.insert_fill(where, length, pattern)
            model[where:where] = fill_bytes(pattern, 0, length)
        elif kind == "insert":
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


def replay(plan: LayoutPlan, steps: list[Step]) -> list[object]:
    """The steps applied to a list of byte labels (no I/O)."""
    cells: list[object] = list(range(plan.old_size)) + [None] * max(
        0, plan.final_size - plan.old_size
    )
    for step in steps:
        if step.source is None:
            cells[step.target : step.target + step.length] = ["new"] * step.length
        else:
            cells[step.target : step.target + step.length] = cells[
                step.source : step.source + step.length
            ]
    return cells[: plan.final_size]


# ---------------------------------------------------------------------- the plan, no I/O
def test_steps_never_overwrite_what_a_later_step_reads() -> None:
    """Pure plan check: replaying the steps on a list of byte labels gives the new layout."""
    plan = LayoutPlan(
        100, 104, (Move(0, 0, 10), Move(10, 13, 40), Move(52, 56, 48)), ((10, 13), (53, 56))
    )
    for chunk in (1, 3, 7, 64):
        expected = list(range(10)) + ["new"] * 3 + list(range(10, 50)) + ["new"] * 3
        expected += list(range(52, 100))
        assert replay(plan, tail_move.steps_of(plan, chunk)) == expected, chunk


def test_step_length_avoids_self_overlap_for_large_shifts() -> None:
    """A shift of at least chunk/16 moves in steps no longer than the shift (no step overlaps
    its own source); a smaller one uses whole chunks (and the page records)."""
    chunk = 4 << 20
    assert tail_move.step_length(16, chunk) == chunk
    assert tail_move.step_length(-(chunk // 16 - 1), chunk) == chunk
    assert tail_move.step_length(chunk // 16, chunk) == chunk // 16
    assert tail_move.step_length(-chunk // 2, chunk) == chunk // 2
    assert tail_move.step_length(3 * chunk, chunk) == chunk
    plan = LayoutPlan(10_000, 10_300, (Move(0, 0, 5), Move(5, 305, 9995)), ((5, 305),))
    for step in tail_move.steps_of(plan, 1024):
        lo, hi = step.overlap
        assert step.source is None or lo >= hi, step


def test_saved_ranges_cover_every_byte_a_torn_page_could_lose() -> None:
    """For every overlapping step: each source byte inside the target either keeps its new
    place in its own page (recoverable from a new page) or is saved; nothing else is saved."""
    rng = random.Random(1)
    for _ in range(400):
        page = rng.choice([8, 16, 64, 4096])
        length = rng.randint(1, 300)
        shift = rng.choice([-1, 1]) * rng.randint(1, length + 3)
        source = rng.randint(max(0, -shift), 5000)
        step = Step(source + shift, length, source)
        saved = {q for a, b in tail_move.saved_ranges(step, page) for q in range(a, b)}
        lo, hi = step.overlap
        for q in range(lo, hi):
            crosses = q // page != (q + shift) // page
            assert (q in saved) == crosses, (step, page, q)
        assert all(lo <= q < hi for q in saved)
        # The record's layout of them (edges, then a strided grid) round-trips.
        data = bytes(rng.randrange(256) for _ in range(length))
        expected = b"".join(
            data[a - source : b - source] for a, b in tail_move.saved_ranges(step, page)
        )
        packed = tail_move._saved_bytes(step, memoryview(data), page)
        assert sorted(packed) == sorted(expected)
        rebuilt = bytearray(length)
        assert tail_move._put_saved(step, rebuilt, packed, page)
        for a, b in tail_move.saved_ranges(step, page):
            assert rebuilt[a - source : b - source] == data[a - source : b - source]


def test_page_pieces_and_lost_ranges() -> None:
    assert tail_move.page_pieces(5, 40, 16) == [(5, 16), (16, 32), (32, 40)]
    assert tail_move.page_pieces(16, 32, 16) == [(16, 32)]
    plan = LayoutPlan(100, 60, (Move(0, 0, 10), Move(30, 10, 20), Move(70, 30, 30)), ())
    assert tail_move.deleted_ranges(plan) == [(10, 30), (50, 70)]
    steps = tail_move.steps_of(plan, 8)
    lost = [tail_move.lost_ranges(s, tail_move.deleted_ranges(plan)) for s in steps]
    # Every deleted byte inside the new size is overwritten by exactly one step.
    flat = sorted(q for ranges in lost for a, b in ranges for q in range(a, b))
    assert flat == list(range(10, 30)) + list(range(50, 60))


def test_journal_is_small_for_a_small_shift_of_a_huge_file() -> None:
    """Bench (a)'s plan: 16 bytes at 16 of a 4 GiB file. The journal holds the 16 bytes, the
    plan and two slots (a witness per sector + 16 bytes per page of one chunk), not the tail."""
    size = 4 << 30
    plan = LayoutPlan(size, size + 16, (Move(0, 0, 16), Move(16, 32, size - 16)), ((16, 32),))
    mp = tail_move.move_plan(plan)
    assert mp.data_size == 16 and mp.lost_size == 0
    pages = tail_move.CHUNK // tail_move.PAGE
    assert mp.slot_size < pages * (8 * 3 + 16) + 200
    assert tail_move.journal_size(plan) < 128 * 1024
    assert tail_move.journal_size(plan, tail_move.DISK_CHUNK) < 2 << 20
    assert tail_move.space_needed(plan) == 16 + tail_move.journal_size(plan)
    # A 1 GiB delete from the middle keeps the deleted bytes the move overwrites (for Cancel).
    gib = 1 << 30
    delete = LayoutPlan(
        size,
        size - gib,
        (Move(0, 0, gib + gib // 2), Move(gib * 5 // 2, gib * 3 // 2, gib * 3 // 2)),
        (),
    )
    assert tail_move.move_plan(delete).lost_size == gib


def test_move_plan_is_a_value_and_the_header_round_trips(tmp_path: Path) -> None:
    plan = LayoutPlan(
        1000, 1013, (Move(0, 0, 10), Move(10, 13, 500), Move(600, 603, 400)), ((10, 13), (513, 603))
    )
    mp = tail_move.move_plan(plan, 64, 16)
    assert mp == tail_move.move_plan(plan, 64, 16)
    assert [s for s in mp.writes] == [Step(10, 3, None), Step(513, 64, None), Step(577, 26, None)]
    assert mp.data_at + mp.data_size == mp.lost_at
    assert mp.lost_at + mp.lost_size == mp.slots_at
    st = os.stat(tmp_path)
    path = tmp_path / "j"
    path.write_bytes(tail_move._header(mp, st, 7))
    fd = os.open(path, os.O_RDONLY)
    try:
        header = tail_move.read_header(fd)
    finally:
        os.close(fd)
    assert header.mp == mp and header.inode == (st.st_dev, st.st_ino) and header.data_crc == 7


# ---------------------------------------------------------------------- saving
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
    edit(document, model, rng, rng.randint(1, 8), fills=seed % 2 == 1)
    plan = document.plan_layout_save()
    chunk = rng.choice([1, 7, 64, 512, 4096])
    seen: list[tuple[int, int]] = []
    tail_move.save_in_place(
        str(path),
        plan,
        document.read,
        None,
        chunk=chunk,
        page=rng.choice([16, 64, 4096]),
        on_progress=lambda d, t: seen.append((d, t)),
    )
    document.close()
    assert path.read_bytes() == bytes(model)
    assert path.stat().st_ino == inode
    assert not tail_move.has_move_journal(str(path))
    if plan.moves or plan.writes:
        assert seen and seen[-1][0] == seen[-1][1]


def _run_child(work: Callable[[], None]) -> int:
    """Fork, run ``work`` in the child (exit 0 when it returns), return the child's pid."""
    pid = os.fork()
    if pid == 0:
        try:
            work()
            os._exit(0)
        finally:
            os._exit(1)
    return pid


def _die_at(at: str, nth: int) -> Callable[[str], None]:
    counter = [0]

    def die(step: str) -> None:
        if step == at:
            counter[0] += 1
            if counter[0] >= nth:
                os._exit(9)

    return die


def _save_child(
    path: Path,
    prepare: Callable[[Document], None],
    chunk: int,
    page: int,
    die: Callable[[str], None] | None,
    cancel_after: int = 0,
) -> None:
    """In a forked child: open ``path``, ``prepare`` the edits, save in place (optionally
    pressing Cancel after ``cancel_after`` chunks)."""
    document = Document.open(str(path))
    document.enable_editing()
    prepare(document)
    plan = document.plan_layout_save()
    token = CancelToken()
    written = [0]

    def step(name: str) -> None:
        if name == "chunk-written" and cancel_after:
            written[0] += 1
            if written[0] == cancel_after:
                token.cancel()
        if die is not None:
            die(name)

    with contextlib.suppress(Cancelled):
        tail_move.save_in_place(
            str(path),
            plan,
            document.read,
            None,
            chunk=chunk,
            page=page,
            cancel=token,
            checkpoint=step,
        )


def _killed_at(
    path: Path,
    prepare: Callable[[Document], None],
    at: str,
    nth: int,
    chunk: int,
    page: int = 4096,
) -> None:
    die = _die_at(at, nth)
    pid = _run_child(lambda: _save_child(path, prepare, chunk, page, die))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, f"the save never reached {at!r} #{nth}"


def _same(path: Path, copy: Path) -> bool:
    return subprocess.run(["cmp", "-s", path, copy]).returncode == 0


SAVE_STEPS = ["journal-written", "grown", "chunk-journaled", "chunk-written", "moves-done"]
SAVE_STEPS += ["file-fsynced", "truncated"]
RECOVERY_STEPS = ["chunk-journaled", "chunk-written", "reverse-journaled", "reverse-written"]
RECOVERY_STEPS += ["restore-journaled"]


def _kill_recoveries(path: Path, rng: random.Random, steps: list[str] = RECOVERY_STEPS) -> int:
    """Run recovery in children killed at a random named step or a random moment, up to three
    times; returns how many of them were killed before finishing."""
    killed = 0
    for _ in range(rng.randint(1, 3)):
        if not tail_move.has_move_journal(str(path)):
            break
        if rng.random() < 0.5:
            die = _die_at(rng.choice(steps), rng.randint(1, 2))
            pid = _run_child(lambda die=die: tail_move.recover_move(str(path), die))
        else:
            pid = _run_child(lambda: tail_move.recover_move(str(path)))
            time.sleep(rng.uniform(0, 0.0015))
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed += os.waitstatus_to_exitcode(status) != 0
    return killed


@needs_shm
@pytest.mark.parametrize("fills", [False, True])
def test_sigkill_storm_recovers_to_exactly_old_or_new(shm: Path, fills: bool) -> None:
    """>= 300 kills: at a random named step (its n-th passage), after a random delay, or during
    the roll back after Cancel; half of them also kill the recovery (at its named steps or
    at random moments) before a last recovery. Every file is then exactly the old or exactly the
    new bytes (cmp). Shifts below, at and above the chunk, and pages smaller than a chunk."""
    rng = random.Random(1234)
    path, old_copy, new_copy = shm / "f.bin", shm / "old.bin", shm / "new.bin"
    outcomes = {"old": 0, "new": 0, "recoveries killed": 0}
    # With fills, kills also land while recovery regenerates them.
    save_steps = SAVE_STEPS + ["fill-written"] * fills
    recovery_steps = RECOVERY_STEPS + ["fill-written"] * (3 * fills)
    started = time.monotonic()
    for kill in range(KILLS):
        seed = rng.randrange(1 << 30)
        old = rng.randbytes(rng.choice([3000, 20000]))
        path.write_bytes(old)
        old_copy.write_bytes(old)
        model = bytearray(old)
        probe = Document.open(str(path))
        probe.enable_editing()
        edit(probe, model, random.Random(seed), 4, fills)
        probe.close()
        new_copy.write_bytes(model)
        chunk = rng.choice([64, 256, 1024])
        page = rng.choice([16, 64, 4096])
        kind = kill % 3
        cancel_after = rng.randint(1, 12) if kind == 2 else 0
        if kind == 1:
            die = None
        elif kind == 2:
            at = rng.choice(["reverse-journaled", "reverse-written", "restore-journaled"])
            die = _die_at(at, 1 if at == "restore-journaled" else rng.randint(1, 8))
        else:
            die = _die_at(rng.choice(save_steps), rng.randint(1, 30))

        def prepare(document: Document, seed: int = seed) -> None:
            edit(document, bytearray(path.read_bytes()), random.Random(seed), 4, fills)

        pid = _run_child(
            lambda: _save_child(path, prepare, chunk, page, die, cancel_after)  # noqa: B023
        )
        if kind == 1:
            time.sleep(rng.uniform(0, 0.01))
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if rng.random() < 0.5:
            outcomes["recoveries killed"] += _kill_recoveries(path, rng, recovery_steps)
        outcome = tail_move.recover_move(str(path))
        assert outcome is None or not outcome.kept, outcome
        assert not tail_move.has_move_journal(str(path))
        same_old, same_new = _same(path, old_copy), _same(path, new_copy)
        assert same_old or same_new, f"kill {kill}: neither old nor new ({kind=}, {chunk=})"
        outcomes["old" if same_old else "new"] += 1
    print(f"{KILLS} kills ({fills=}) in {time.monotonic() - started:.1f} s: {outcomes}")
    assert outcomes["old"] > KILLS // 10 and outcomes["new"] > KILLS // 10, outcomes
    assert outcomes["recoveries killed"] > KILLS // 20, outcomes


CASES = [
    # (shift, chunk, page): below chunk/16 (page records, shift < page and shift > page),
    # between chunk/16 and the chunk (steps of the shift), equal to it, above it.
    (5, 256, 64),
    (80, 2048, 32),
    (100, 256, 64),
    (256, 256, 64),
    (700, 256, 64),
]


@needs_shm
@pytest.mark.parametrize("kind", ["insert", "delete"])
@pytest.mark.parametrize("where", ["start", "end"])
@pytest.mark.parametrize(("shift", "chunk", "page"), CASES)
def test_shifts_below_at_and_above_the_chunk(
    shm: Path, kind: str, where: str, shift: int, chunk: int, page: int
) -> None:
    """Each case saves to the model, and a kill after each of its first steps' journal record
    or write is recovered to exactly the new file (rolled forward)."""
    path = shm / "f.bin"
    old = random.Random(shift * 7 + chunk).randbytes(6000)
    at = 0 if where == "start" else len(old) - shift - 3
    data = bytes(range(256)) * (shift // 256 + 1)
    data = data[:shift]
    new = old[:at] + data + old[at:] if kind == "insert" else old[:at] + old[at + shift :]

    def prepare(document: Document) -> None:
        if kind == "insert":
            document.insert(at, data)
        else:
            document.delete(at, shift)

    path.write_bytes(old)
    pid = _run_child(lambda: _save_child(path, prepare, chunk, page, None))
    os.waitpid(pid, 0)
    assert path.read_bytes() == new
    steps = len(tail_move.move_plan(_plan_of(old, prepare, shm), chunk, page).moves)
    for at_step in ["chunk-journaled", "chunk-written"]:
        for nth in range(1, min(steps, 5) + 1):
            path.write_bytes(old)
            _killed_at(path, prepare, at_step, nth, chunk, page)
            outcome = tail_move.recover_move(str(path))
            assert outcome is not None and outcome.completed, outcome
            assert path.read_bytes() == new, (at_step, nth)


def _plan_of(old: bytes, prepare: Callable[[Document], None], folder: Path) -> LayoutPlan:
    scratch = folder / "plan.bin"
    scratch.write_bytes(old)
    document = Document.open(str(scratch))
    document.enable_editing()
    prepare(document)
    plan = document.plan_layout_save()
    document.close()
    return plan


def _torn(
    path: Path, new: bytes, step: Step, sector: int, pick: Callable[[int, int], bool]
) -> None:
    """Write the new bytes of the sectors of ``step``'s target that ``pick(lo, hi)`` chooses:
    what a power cut in the middle of its write can leave."""
    with open(path, "r+b") as handle:
        for a, b in tail_move.page_pieces(step.target, step.target + step.length, sector):
            if pick(a, b):
                handle.seek(a)
                handle.write(new[a:b])


@needs_shm
@pytest.mark.parametrize("seed", range(6))
def test_torn_pages_of_the_step_in_progress_roll_forward(shm: Path, seed: int) -> None:
    """Power loss in the middle of a step leaves each of its pages old or new, in any mix: the
    witness bytes and saved bytes rebuild its source and recovery gives exactly the new file."""
    rng = random.Random(seed)
    chunk, page = 4096, 256
    path = shm / "f.bin"
    old = rng.randbytes(40000)
    at, data = rng.choice([0, 3, 4000]), rng.randbytes(rng.choice([1, 7, 40, 300]))
    new = old[:at] + data + old[at:]
    mp = tail_move.move_plan(_plan_of(old, lambda d: d.insert(at, data), shm), chunk, page)
    for _ in range(4):
        nth = rng.randint(1, len(mp.moves))
        step = mp.moves[nth - 1]
        path.write_bytes(old)
        _killed_at(path, lambda d: d.insert(at, data), "chunk-journaled", nth, chunk, page)
        chosen = {p for p in range(0, len(new), page) if rng.random() < 0.5}
        _torn(path, new, step, mp.sector, lambda a, _b, chosen=chosen: a - a % page in chosen)
        outcome = tail_move.recover_move(str(path))
        assert outcome is not None and outcome.completed, outcome
        assert path.read_bytes() == new


@needs_shm
@pytest.mark.parametrize("seed", range(6))
def test_sectors_torn_inside_pages_are_rebuilt_or_refused(shm: Path, seed: int) -> None:
    """A disk that tears a page in a power cut leaves each 512-byte sector old or new. Where in
    every page the new sectors come after the old ones (a move to higher offsets), no byte was
    lost: recovery rebuilds exactly the new file. Any mix of sectors: exactly the new file, or,
    where a byte's only copies were a new sector and an old one of the same page, a refusal:
    nothing written, the journal kept, the reason said."""
    rng = random.Random(100 + seed)
    chunk, page, sector = 32768, 4096, 512
    path = shm / "f.bin"
    old = rng.randbytes(200_000)
    shift = rng.choice([1, 16, 600])
    new = old[:5] + bytes(shift) + old[5:]
    mp = tail_move.move_plan(_plan_of(old, lambda d: d.insert(5, bytes(shift)), shm), chunk, page)
    for mixed in (False, False, True, True):
        nth = rng.randint(1, len(mp.moves))
        step = mp.moves[nth - 1]
        path.write_bytes(old)
        _killed_at(path, lambda d: d.insert(5, bytes(shift)), "chunk-journaled", nth, chunk, page)
        cut = {p: rng.randint(0, page // sector) * sector for p in range(0, len(new), page)}
        if mixed:
            _torn(path, new, step, sector, lambda _a, _b: rng.random() < 0.5)
        else:
            _torn(path, new, step, sector, lambda a, _b, cut=cut: a % page >= cut[a - a % page])
        before = path.read_bytes()
        outcome = tail_move.recover_move(str(path))
        assert outcome is not None
        if outcome.completed:
            assert path.read_bytes() == new
        else:
            assert mixed and outcome.kept, outcome
            assert "a power cut tore a page inside" in outcome.message
            assert path.read_bytes() == before and tail_move.has_move_journal(str(path))
            os.unlink(tail_move.move_journal_path(str(path)))


@needs_shm
def test_a_tear_that_lost_bytes_is_refused_and_one_that_did_not_is_rebuilt(shm: Path) -> None:
    chunk, page, sector = 32768, 4096, 512
    path = shm / "f.bin"
    old = random.Random(3).randbytes(100_000)
    new = old[:10] + b"\x55" * 5 + old[10:]
    mp = tail_move.move_plan(_plan_of(old, lambda d: d.insert(10, b"\x55" * 5), shm), chunk, page)
    step = mp.moves[1]
    middle = step.target + 3 * page - step.target % page  # a page inside the step
    # Only the first sector of a page new: the 5 bytes at its end were moved into the (old)
    # second sector of the same page, nowhere else: lost.
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(10, b"\x55" * 5), "chunk-journaled", 2, chunk, page)
    _torn(path, new, step, sector, lambda a, _b: a == middle)
    before = path.read_bytes()
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and outcome.kept and not outcome.completed
    assert f"at {middle + sector - 5:#x}" in outcome.message and "mmhex recover" in outcome.message
    assert path.read_bytes() == before and tail_move.has_move_journal(str(path))
    os.unlink(tail_move.move_journal_path(str(path)))
    # Only the last sector of a page new: its bytes crossing into the next page are saved.
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(10, b"\x55" * 5), "chunk-journaled", 2, chunk, page)
    _torn(path, new, step, sector, lambda a, _b: a == middle + page - sector)
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and outcome.completed
    assert path.read_bytes() == new


@needs_shm
def test_a_record_cut_short_leaves_the_previous_one(shm: Path) -> None:
    """Killed while writing a slot record: the other slot's record (the step before, finished)
    is used. Killed while writing the journal itself: the file was not touched."""
    path = shm / "f.bin"
    old = random.Random(5).randbytes(9000)
    new = old[:10] + b"\xab" * 33 + old[10:]
    chunk = 1000
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(10, b"\xab" * 33), "chunk-journaled", 3, chunk)
    jpath = Path(tail_move.move_journal_path(str(path)))
    fd = os.open(jpath, os.O_RDONLY)
    try:
        mp = tail_move.read_header(fd).mp
        newest = tail_move.read_slots(fd, mp)
    finally:
        os.close(fd)
    assert newest is not None and newest.phase == tail_move.FORWARD and newest.step == 2
    # The third record loses its last bytes, as a write cut short would leave it.
    slot_at = mp.slots_at + (newest.counter % 2) * mp.slot_size
    with open(jpath, "r+b") as handle:
        handle.seek(slot_at + tail_move._SLOT.size + 2)
        handle.write(b"\xff\xfe\xfd\xfc")
    fd = os.open(jpath, os.O_RDONLY)
    try:
        older = tail_move.read_slots(fd, mp)
    finally:
        os.close(fd)
    assert older is not None and older.step == 1
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and outcome.completed
    assert path.read_bytes() == new
    # The journal cut short in its header: nothing of the file was touched.
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(10, b"\xab" * 33), "journal-written", 1, chunk)
    with open(jpath, "r+b") as handle:
        handle.truncate(50)
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and not outcome.completed and "had not changed" in outcome.message
    assert path.read_bytes() == old and not jpath.exists()


@needs_shm
@pytest.mark.parametrize("at", ["journal-written", "grown", "moves-done", "file-fsynced"])
def test_kill_before_or_after_the_moves(shm: Path, at: str) -> None:
    """Before the first record: exactly the old file (the growth cut off). After the moves:
    the writes are redone from the journal and the file cut to its new size."""
    path = shm / "f.bin"
    old = random.Random(6).randbytes(9000)
    path.write_bytes(old)

    def prepare(document: Document) -> None:
        document.delete(100, 4000)
        document.insert(50, b"\x77" * 5000)  # 1,000 bytes longer in the end

    _killed_at(path, prepare, at, 1, 4096)
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None
    if at in ("journal-written", "grown"):
        assert not outcome.completed and path.read_bytes() == old
    else:
        assert outcome.completed
        assert path.read_bytes() == old[:50] + b"\x77" * 5000 + old[50:100] + old[4100:]


@needs_shm
def test_mmhex_recover_finishes_a_killed_in_place_move(shm: Path) -> None:
    path = shm / "f.bin"
    old = random.Random(7).randbytes(20000)
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(5, b"\x11" * 7), "chunk-written", 4, 2048)
    assert path.read_bytes() != old
    result = subprocess.run(
        [sys.executable, "-m", "mmhex", "recover", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    assert path.read_bytes() == old[:5] + b"\x11" * 7 + old[5:]
    assert not tail_move.has_move_journal(str(path))


@needs_shm
def test_open_recovers_and_hard_links_save_in_place(shm: Path) -> None:
    """A file with another hard link saves in place (the link sees the new bytes); a kill in
    the middle is finished by the next open, which says so."""
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
    _killed_at(path, lambda d: d.insert(1, b"Q"), "chunk-written", 2, 4096)
    reopened = Document.open(str(path))
    assert reopened.shift_recovery is not None and "completed" in reopened.shift_recovery.message
    assert reopened.read(0, reopened.size) == new[:1] + b"Q" + new[1:]
    reopened.close()
    assert link.read_bytes() == new[:1] + b"Q" + new[1:]


@needs_shm
@pytest.mark.parametrize("delete", [False, True])
def test_cancel_rolls_back(shm: Path, delete: bool) -> None:
    """Cancel in the middle of the move: the moves done are reversed and (for a delete) the
    deleted bytes the move overwrote are put back from the journal: exactly the old file."""
    path = shm / "f.bin"
    old = random.Random(9).randbytes(50000)
    path.write_bytes(old)
    document = Document.open(str(path))
    document.enable_editing()
    if delete:
        document.delete(100, 7000)
    else:
        document.insert(0, b"head")
    token = CancelToken()
    written = [0]

    def press_cancel(step: str) -> None:
        if step == "chunk-written":
            written[0] += 1
            if written[0] == 10:  # the user presses Cancel in the middle of the move
                token.cancel()

    plan = document.plan_layout_save()
    if delete:
        assert tail_move.move_plan(plan, 1000).lost_size == 7000
    with pytest.raises(Cancelled):
        tail_move.save_in_place(
            str(path), plan, document.read, None, chunk=1000, cancel=token, checkpoint=press_cancel
        )
    assert written[0] == 10
    document.close()
    assert path.read_bytes() == old
    assert not tail_move.has_move_journal(str(path))


@needs_shm
def test_a_kill_during_the_roll_back_finishes_it(shm: Path) -> None:
    """Cancel, then SIGKILL in the middle of the roll back (at a reverse step's record or write,
    again and again during recovery): the file ends exactly as it was."""
    path = shm / "f.bin"
    old = random.Random(10).randbytes(60000)

    def prepare(document: Document) -> None:
        document.delete(2000, 9000)
        document.insert(100, b"\x42" * 10)

    for at in ["reverse-journaled", "reverse-written", "restore-journaled"]:
        path.write_bytes(old)
        die = _die_at(at, 1 if at == "restore-journaled" else 7)
        pid = _run_child(lambda die=die: _save_child(path, prepare, 1000, 64, die, 20))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 9
        if at == "restore-journaled":  # killed putting the deleted bytes back
            fd = os.open(tail_move.move_journal_path(str(path)), os.O_RDONLY)
            try:
                slot = tail_move.read_slots(fd, tail_move.read_header(fd).mp)
            finally:
                os.close(fd)
            assert slot is not None and slot.phase == tail_move.RESTORE
            assert path.read_bytes() != old
        for nth in (1, 2, 3):
            die = _die_at(at, nth)
            pid = _run_child(lambda die=die: tail_move.recover_move(str(path), die))
            os.waitpid(pid, 0)
        if tail_move.has_move_journal(str(path)):
            outcome = tail_move.recover_move(str(path))
            assert outcome is not None and not outcome.completed
            assert "rolled back" in outcome.message
        assert path.read_bytes() == old


@needs_shm
def test_recovery_leaves_a_live_save_alone(shm: Path) -> None:
    """While another process holds the save lock (a save running now), recovery at open must
    not touch its journal; it says so and leaves both alone."""
    path = shm / "f.bin"
    old = random.Random(12).randbytes(9000)
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(10, b"\x22" * 5), "chunk-written", 2, 1000)
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
    assert outcome is not None and "completed" in outcome.message
    assert path.read_bytes() == old[:10] + b"\x22" * 5 + old[10:]


@needs_shm
def test_recovery_itself_can_be_killed(shm: Path) -> None:
    """SIGKILL during recovery, again and again: the next recovery still gives the new file.
    Opened read-only meanwhile, the document says the save was interrupted and touches nothing."""
    rng = random.Random(13)
    path = shm / "f.bin"
    old = rng.randbytes(200_000)
    path.write_bytes(old)
    _killed_at(path, lambda d: d.insert(7, b"\x33" * 9), "chunk-written", 50, 1024, 64)
    broken = path.read_bytes()
    viewer = Document.open(str(path), readonly=True)
    assert viewer.shift_recovery is not None
    assert "interrupted in-place save" in viewer.shift_recovery.message
    viewer.close()
    assert path.read_bytes() == broken and tail_move.has_move_journal(str(path))
    killed = 0
    for nth in range(1, 40, 3):
        pid = _run_child(
            lambda nth=nth: tail_move.recover_move(str(path), _die_at("chunk-written", nth))
        )
        _, status = os.waitpid(pid, 0)
        killed += os.waitstatus_to_exitcode(status) == 9
    for _ in range(20):
        pid = _run_child(lambda: tail_move.recover_move(str(path)))
        time.sleep(rng.uniform(0, 0.004))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not tail_move.has_move_journal(str(path)):
            break
    assert killed >= 10
    if tail_move.has_move_journal(str(path)):
        tail_move.recover_move(str(path))
    assert path.read_bytes() == old[:7] + b"\x33" * 9 + old[7:]


# ---------------------------------------------------------------------- the previous journal
def _v1_journal(
    jpath: Path, st: os.stat_result, old: int, new: int, records: list[tuple[bytes, int, bytes]]
) -> None:
    """A journal as the previous version wrote it (an undo log of every overwritten chunk)."""
    head = struct.pack("<8sQQQQ32s", b"MMHEXMOV", old, new, st.st_dev, st.st_ino, bytes(32))
    parts = [head, hashlib.sha256(head).digest()]
    for kind, offset, data in records:
        rec = struct.pack("<cQQ", kind, offset, len(data))
        parts += [rec, data, struct.pack("<I", zlib.crc32(data, zlib.crc32(rec)))]
    jpath.write_bytes(b"".join(parts))
    jpath.chmod(0o600)


@needs_shm
@pytest.mark.parametrize("complete", [False, True])
def test_a_journal_of_the_previous_version_is_still_recovered(shm: Path, complete: bool) -> None:
    path = shm / "f.bin"
    old = random.Random(14).randbytes(5000)
    moved = bytearray(old + bytes(100))
    moved[1000:1600] = b"\x99" * 600  # chunks the interrupted save had overwritten
    moved[3000:3100] = b"\x98" * 100
    path.write_bytes(moved)
    records = [(b"R", 1000, old[1000:1600]), (b"R", 3000, old[3000:3100])]
    if complete:
        records.append((b"K", 0, b""))
    _v1_journal(Path(tail_move.move_journal_path(str(path))), path.stat(), 5000, 5100, records)
    outcome = tail_move.recover_move(str(path))
    assert outcome is not None and outcome.completed == complete
    assert path.read_bytes() == (bytes(moved) if complete else old)
    assert not tail_move.has_move_journal(str(path))


# ---------------------------------------------------------------------- space and the default
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
    taken meanwhile): the journal's or the growth's fallocate fails, nothing moved."""
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
    else:
        assert "ran out of space" in message
    assert "nothing was changed" in message or "restored" in message
    assert path.read_bytes() == old
    assert not tail_move.has_move_journal(str(path))


@needs_shm
def test_too_little_space_is_refused_with_the_exact_need(
    shm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shm / "f.bin"
    old = random.Random(15).randbytes(10_000)
    path.write_bytes(old)
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(16, bytes(3000))
    plan = document.plan_layout_save()
    monkeypatch.setattr(tail_move, "free_bytes", lambda _folder: tail_move.space_needed(plan) - 1)
    with pytest.raises(SaveError) as caught:
        tail_move.save_in_place(str(path), plan, document.read, None)
    document.close()
    assert f"needs {tail_move.space_needed(plan):,} bytes (3,000 for the growth" in str(
        caught.value
    )
    assert path.read_bytes() == old and not tail_move.has_move_journal(str(path))


@needs_shm
def test_save_moves_the_tail_in_place_by_default(
    shm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Document.save of a resized file keeps its inode (in place) whenever the journal fits;
    copy-and-rename only when the copy fits and the in-place journal does not."""
    path = shm / "f.bin"
    old = random.Random(11).randbytes(100_000)
    path.write_bytes(old)
    inode = path.stat().st_ino
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(99_000, b"tail")
    document.save()
    document.close()
    assert path.read_bytes() == old[:99_000] + b"tail" + old[99_000:]
    assert path.stat().st_ino == inode
    # A delete whose overwritten bytes (kept for Cancel) outgrow the free space, which still
    # holds a copy of the result: the copy and rename (a new inode).
    again = Document.open(str(path))
    again.enable_editing()
    again.delete(0, 60_000)
    plan = again.plan_layout_save()
    assert tail_move.space_needed(plan) > plan.final_size
    monkeypatch.setattr(tail_move, "free_bytes", lambda _f: plan.final_size + 10)
    again.save()
    again.close()
    assert path.read_bytes() == old[60_000:99_000] + b"tail" + old[99_000:]
    assert path.stat().st_ino != inode


def test_witnesses_tell_each_sector_old_or_new() -> None:
    """No I/O: a witness offset and byte per sector; SAME where old and new bytes are equal."""
    rng = random.Random(4)
    for _ in range(200):
        unit = rng.choice([8, 16, 512])
        target = rng.randrange(3 * unit)
        old = bytearray(rng.choice([bytes(100), rng.randbytes(100), b"ab" * 50]))
        new = bytearray(old)
        for _k in range(rng.randint(0, 4)):
            new[rng.randrange(100)] = rng.randrange(256)
        marks, values = tail_move.witnesses(bytes(new), bytes(old), target, unit)
        pieces = tail_move.page_pieces(target, target + 100, unit)
        assert len(marks) == len(values) == len(pieces)
        for (a, b), mark, value in zip(pieces, marks, values, strict=True):
            lo, hi = a - target, b - target
            if new[lo:hi] == old[lo:hi]:
                assert mark == tail_move.SAME
            else:
                assert new[lo + mark] == value != old[lo + mark]
                assert new[lo : lo + mark] == old[lo : lo + mark]  # the first difference


@needs_shm
def test_steps_are_small_on_tmpfs_and_large_on_disks(shm: Path, tmp_path: Path) -> None:
    """A disk pays two flushes per step: 64 MiB steps there, 4 MiB (cache-sized) on tmpfs."""
    for folder, expected in ((shm, tail_move.CHUNK), (tmp_path, tail_move.DISK_CHUNK)):
        if folder == tmp_path and os.statvfs(folder).f_fsid == os.statvfs(shm).f_fsid:
            continue
        fd = os.open(folder, os.O_RDONLY)
        try:
            assert tail_move.chunk_for(fd) == expected, folder
        finally:
            os.close(fd)


def test_many_scattered_moves_prefer_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No I/O but statvfs: one insert into a big file moves in place; 5,000 scattered inserts
    (5,000 small moves, each a record and two flushes) take the copy when it fits; a hard-linked
    file stays in place whatever the plan."""
    size = 1 << 30
    one = LayoutPlan(size, size + 16, (Move(0, 0, 16), Move(16, 32, size - 16)), ((16, 32),))
    piece = size // 5000
    copies = tuple(Move(k * piece, k * (piece + 1), piece) for k in range(5000))
    writes = tuple((k * (piece + 1) - 1, k * (piece + 1)) for k in range(1, 5000))
    many = LayoutPlan(5000 * piece, 5000 * (piece + 1) - 1, copies, writes)
    assert tail_move.step_count(one) == -(-(size - 16) // tail_move.CHUNK)
    assert tail_move.step_count(many) == 4999
    assert not tail_move.too_scattered(one) and tail_move.too_scattered(many)
    real = os.stat(tmp_path)
    st = os.stat_result((real.st_mode, real.st_ino, real.st_dev, 1, *tuple(real)[4:10]))
    monkeypatch.setattr(tail_move, "free_bytes", lambda _folder: 4 * size)
    assert tail_move.prefer_in_place(one, st, str(tmp_path), size)
    assert not tail_move.prefer_in_place(many, st, str(tmp_path), size)
    linked = os.stat_result((real.st_mode, real.st_ino, real.st_dev, 2, *tuple(real)[4:10]))
    assert tail_move.prefer_in_place(many, linked, str(tmp_path), size)
    # No room for the copy: in place, however scattered.
    monkeypatch.setattr(tail_move, "free_bytes", lambda _folder: size // 2)
    assert tail_move.prefer_in_place(many, st, str(tmp_path), size)


@needs_shm
@pytest.mark.parametrize("page", [16, 4096])
def test_a_sector_the_step_leaves_unchanged_still_holds_source_bytes(shm: Path, page: int) -> None:
    """A reverse step's target begins with bytes the forward step never touched: its first
    sectors are unchanged (SAME), yet the source bytes whose new place they are, overwritten in
    their own sector, must be read from there (a Cancel killed after its first reverse write;
    found by a 3,000-kill storm)."""
    path = shm / "f.bin"
    old = random.Random(21).randbytes(20000)
    gap = bytes(range(48))
    for start in (5, 8669):
        path.write_bytes(old)
        die = _die_at("reverse-written", 1)

        def insert_at(document: Document, start: int = start) -> None:
            document.insert(start, gap)

        pid = _run_child(lambda die=die, f=insert_at: _save_child(path, f, 1024, page, die, 12))
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 9
        outcome = tail_move.recover_move(str(path))
        assert outcome is not None and not outcome.completed
        assert path.read_bytes() == old, start


# ---------------------------------------------------------------------- fills
def test_a_fill_costs_the_journal_nothing_whatever_its_length() -> None:
    """A fill inserted into a 1 TiB file is journaled as (pattern, length, phase): the journal
    and the space asked for do not grow with the fill (they did by the fill's length)."""
    size = 1 << 40
    sizes = []
    for length in (1 << 20, 10 << 30, 100 << 30):
        at = 4096 + 5
        plan = LayoutPlan(
            size,
            size + length + 3,
            (Move(0, 0, at), Move(at, at + length + 3, size - at)),
            ((at, at + length + 3),),
            (Fill(at + 3, at + 3 + length, b"xyz", 1),),
        )
        mp = tail_move.move_plan(plan, tail_move.DISK_CHUNK)
        assert mp.data_size == 3  # the three added bytes only
        assert [(s.target, s.length) for s in mp.writes] == [(at, 3)]
        sizes.append(mp.size)
        assert tail_move.space_needed(plan, tail_move.DISK_CHUNK) == length + 3 + mp.size
    assert sizes[0] == sizes[1] == sizes[2] < 1 << 20


def test_journaled_ranges_cut_the_fills_out_of_the_writes() -> None:
    plan = LayoutPlan(
        0,
        100,
        (),
        ((0, 30), (40, 100)),
        (
            Fill(0, 10, b"a", 0),
            Fill(20, 30, b"b", 0),
            Fill(40, 50, b"c", 0),
            Fill(90, 100, b"d", 0),
        ),
    )
    assert tail_move.journaled_ranges(plan) == [(10, 20), (50, 90)]


def test_a_document_plans_its_fills_with_their_patterns_and_phases(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(200)))
    document = Document.open(str(path))
    try:
        document.enable_editing()
        document.insert_fill(10, 1000, b"abc")
        document.delete(11, 1)  # splits the fill: the second piece starts at phase 2
        plan = document.plan_layout_save()
    finally:
        document.close()
    assert plan.fills == (Fill(10, 11, b"abc", 0), Fill(11, 1009, b"abc", 2))
    assert tail_move.journaled_ranges(plan) == []


def test_fill_header_round_trips_and_the_old_header_still_reads(tmp_path: Path) -> None:
    plan = LayoutPlan(
        100,
        5100,
        (Move(0, 0, 10), Move(10, 5010, 90)),
        ((10, 5010),),
        (Fill(12, 5010, b"\x01\x02", 1),),
    )
    mp = tail_move.move_plan(plan, 64, 16)
    st = os.stat(tmp_path)
    path = tmp_path / "j"
    path.write_bytes(tail_move._header(mp, st, 7))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert tail_move.read_header(fd).mp == mp
    finally:
        os.close(fd)
    # A journal of this session's first version (MMHEXMV2): no fill table.
    old = LayoutPlan(100, 103, (Move(0, 0, 10), Move(10, 13, 90)), ((10, 13),))
    mp2 = tail_move.move_plan(old, 64, 16)
    head = tail_move._HEAD_V2.pack(
        tail_move.MAGIC_V2, 100, 103, st.st_dev, st.st_ino, 16, 64, 2, 1, 3, 7
    )
    body = b"".join(tail_move._COPY.pack(c.source, c.target, c.length) for c in old.copies)
    body += tail_move._WRITE.pack(10, 13)
    path.write_bytes(head + body + tail_move._CRC.pack(zlib.crc32(head + body)))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert tail_move.read_header(fd).mp == mp2
    finally:
        os.close(fd)


@needs_shm
@pytest.mark.parametrize("pattern", [b"\0", b"\x5a", b"0123456"])
def test_a_large_fill_insert_saves_in_place_with_a_tiny_journal(shm: Path, pattern: bytes) -> None:
    path = shm / "f.bin"
    old = random.Random(5).randbytes(3 << 20)
    path.write_bytes(old)
    length = (9 << 20) + 11
    document = Document.open(str(path))
    document.enable_editing()
    document.insert_fill(1000, length, pattern)
    document.write(5, b"hello")
    plan = document.plan_layout_save()
    mp = tail_move.move_plan(plan)
    assert mp.data_size == 5 and mp.size < 64 << 10
    tail_move.save_in_place(str(path), plan, document.read, None)
    document.close()
    expected = old[:5] + b"hello" + old[10:1000] + fill_bytes(pattern, 0, length) + old[1000:]
    assert path.read_bytes() == expected
    if pattern == b"\0":
        # the zero fill was punched: its whole blocks take no space
        assert os.stat(path).st_blocks * 512 < len(expected) - (8 << 20)


# ---------------------------------------------------------------------- sparse files
def _sparse_file(path: Path, size: int, rng: random.Random) -> bytearray:
    """A sparse file of ``size`` bytes with a few 4 KiB data islands; its bytes."""
    model = bytearray(size)
    with open(path, "wb") as f:
        f.truncate(size)
        for _ in range(6):
            at = rng.randrange(0, size - 4096) // 4096 * 4096
            data = rng.randbytes(4096)
            f.seek(at)
            f.write(data)
            model[at : at + 4096] = data
    return model


def _blocks(path: Path) -> int:
    return os.stat(path).st_blocks * 512


@needs_shm
@pytest.mark.parametrize("seed", range(4))
def test_a_sparse_tail_moves_as_its_data_and_its_holes_stay_holes(shm: Path, seed: int) -> None:
    """The tail of a sparse file moves as data extents: holes are never read or written (the
    saved file takes about its data, not its size), for inserts and deletes, and Cancel."""
    rng = random.Random(seed)
    path = shm / "f.bin"
    size = 16 << 20
    model = _sparse_file(path, size, rng)
    document = Document.open(str(path))
    document.enable_editing()
    insert = rng.randbytes(rng.choice([5, 4096 + 3, 300_000]))
    document.insert(4096 + 7, insert)
    model[4096 + 7 : 4096 + 7] = insert
    document.insert_fill(len(model) - 100, 1 << 20, b"\0")
    model[len(model) - 100 : len(model) - 100] = bytes(1 << 20)
    if seed % 2:
        document.delete(1 << 20, 3 << 20)
        del model[1 << 20 : 4 << 20]
    plan = document.plan_layout_save()
    if seed == 3:
        token = CancelToken()
        seen = [0]

        def cancel_later(name: str) -> None:
            seen[0] += name == "chunk-written"
            if seen[0] == 2:
                token.cancel()

        old = path.read_bytes()
        with pytest.raises(Cancelled):
            tail_move.save_in_place(
                str(path),
                plan,
                document.read,
                None,
                chunk=256 << 10,
                cancel=token,
                checkpoint=cancel_later,
            )
        assert path.read_bytes() == old
    tail_move.save_in_place(str(path), plan, document.read, None, chunk=256 << 10)
    document.close()
    assert path.read_bytes() == bytes(model)
    # the data islands, the inserted bytes and a few partial blocks: nowhere near 16 MiB
    assert _blocks(path) <= 6 * 4096 * 2 + len(insert) + (1 << 20)


@needs_shm
def test_kills_while_a_sparse_tail_moves_recover_to_old_or_new(shm: Path) -> None:
    rng = random.Random(77)
    path, old_copy, new_copy = shm / "f.bin", shm / "old.bin", shm / "new.bin"
    outcomes = {"old": 0, "new": 0}
    for kill in range(max(30, KILLS // 10)):
        model = _sparse_file(path, 4 << 20, rng)
        shutil.copyfile(path, old_copy)
        at, length = rng.choice([(4096 + 5, 70_000), (100, 1 << 20), (1 << 20, 0)])
        removed = rng.choice([0, 300_000])
        new = bytearray(model)
        del new[at : at + removed]
        new[at:at] = b"\x5a" * length
        new_copy.write_bytes(new)

        def prepare(document: Document, at: int = at, n: int = length, gone: int = removed) -> None:
            if gone:
                document.delete(at, gone)
            if n:
                document.insert_fill(at, n, b"\x5a")

        cancel_after = rng.choice([0, 0, 1, 3])  # Cancel: rolled back, holes punched again
        steps = (
            ["reverse-journaled", "reverse-written", "restore-journaled"] if cancel_after else []
        )
        die = _die_at(rng.choice(steps or [*SAVE_STEPS, "fill-written"]), rng.randint(1, 6))
        pid = _run_child(
            lambda: _save_child(path, prepare, 64 << 10, 4096, die, cancel_after)  # noqa: B023
        )
        os.waitpid(pid, 0)
        if kill % 2:
            _kill_recoveries(path, rng, [*RECOVERY_STEPS, "fill-written"])
        outcome = tail_move.recover_move(str(path))
        assert outcome is None or not outcome.kept, outcome
        same_old, same_new = _same(path, old_copy), _same(path, new_copy)
        assert same_old or same_new, f"kill {kill}: neither old nor new"
        outcomes["old" if same_old else "new"] += 1
        assert _blocks(path) < 2 << 20  # never filled with zeros
    assert outcomes["old"] and outcomes["new"], outcomes


def test_a_zero_fill_asks_no_space_for_its_growth() -> None:
    """Inserting 10 GiB of zeros at 16 of a 16 MiB file: the growth that ends up holding data
    is the moved 16 MiB (the zeros are punched); a non-zero fill needs its whole length."""
    size, length = 16 << 20, 10 << 30
    copies = (Move(0, 0, 16), Move(16, 16 + length, size - 16))
    for pattern, grows in ((b"\0", size - 16), (b"\0\1", length)):
        plan = LayoutPlan(
            size, size + length, copies, ((16, 16 + length),), (Fill(16, 16 + length, pattern, 0),)
        )
        assert sum(b - a for a, b in tail_move.growth_data(plan)) == grows
        assert tail_move.space_needed(plan) == grows + tail_move.journal_size(plan)


@needs_shm
def test_deleted_holes_cost_the_journal_nothing(shm: Path) -> None:
    """2 GiB of holes deleted from a 16 GiB sparse file: no lost bytes in the journal (it had
    them all, as zeros), and Cancel punches them again (the file is exactly old, still sparse)."""
    path = shm / "f.bin"
    data = random.Random(9).randbytes(1 << 20)
    with open(path, "wb") as f:
        f.write(data)
        f.seek((16 << 30) - len(data))
        f.write(data)
    document = Document.open(str(path))
    document.enable_editing()
    document.delete(5, 3)  # a little real data deleted too
    gone = (16 << 30) - len(data) - 3 - (2 << 30)  # the hole just before the last data
    document.delete(gone, 2 << 30)
    plan = document.plan_layout_save()
    fd = os.open(path, os.O_RDONLY)
    try:
        holes = tail_move.deleted_holes(plan, tail_move.walk(fd, plan.old_size))
    finally:
        os.close(fd)
    mp = tail_move.move_plan(plan, tail_move.CHUNK, tail_move.PAGE, holes)
    assert tail_move.move_plan(plan).lost_size >= 1 << 20  # as it was: zeros kept
    assert mp.lost_size <= 3 and mp.size < 1 << 20
    token = CancelToken()
    seen = [0]

    def cancel_later(name: str) -> None:
        seen[0] += name == "chunk-written"
        if seen[0] == 2:  # the last data moved into the deleted hole: it must be a hole again
            token.cancel()

    with pytest.raises(Cancelled):
        tail_move.save_in_place(
            str(path), plan, document.read, None, cancel=token, checkpoint=cancel_later
        )
    assert os.stat(path).st_size == 16 << 30 and _blocks(path) < 3 << 20
    with open(path, "rb") as f:
        assert f.read(len(data)) == data
        f.seek(gone + 3)
        assert f.read(2 << 20) == bytes(2 << 20)
        f.seek((16 << 30) - len(data))
        assert f.read() == data
    tail_move.save_in_place(str(path), plan, document.read, None)
    document.close()
    assert os.stat(path).st_size == (14 << 30) - 3 and _blocks(path) < 3 << 20
    with open(path, "rb") as f:
        assert f.read(len(data) - 3) == data[:5] + data[8:]
        f.seek((14 << 30) - 3 - len(data))
        assert f.read() == data
