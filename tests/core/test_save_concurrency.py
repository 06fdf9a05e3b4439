"""Two savers and a viewer race on one file, round after round (issue 9, item 2).

Each round a fresh file holds version 0; saver A and saver B open it, overwrite every byte with
their own version and save; at the same instant a viewer opens it (which runs recovery when it
sees a journal). The save lock must keep recovery away from a live save and the savers apart:
every round ends with exactly A's or B's complete version (compared with ``cmp``), no journal
left, and a saver that reported success is never silently undone.

Workers are forked once and meet at a barrier each round, so a round costs two saves, not three
interpreter start-ups. MMHEX_STRESS_ROUNDS raises the round count (default 200).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import subprocess
from pathlib import Path
from typing import Any

from mmhex.core import save
from mmhex.core.document import Document
from mmhex.core.journal import has_journal
from mmhex.core.save import FileChangedOnDiskError

ROUNDS = int(os.environ.get("MMHEX_STRESS_ROUNDS", "200"))
PAGE = 4096
PAGES = 4


def version(seed: int) -> bytes:
    return random.Random(seed).randbytes(PAGES * PAGE)


def round_path(folder: Path, number: int) -> Path:
    return folder / f"round-{number}.bin"


def saver(folder: Path, content: bytes, number: int) -> str:
    document = Document.open(str(round_path(folder, number)))
    try:
        if document.recovery is not None and not document.recovery.ok:
            return f"recovery: {document.recovery.action.name}"
        document.enable_editing()
        for page in range(PAGES):  # one range per page, each its own msync (see worker)
            document.write(page * PAGE, content[page * PAGE : (page + 1) * PAGE])
        document.save()
        return "saved"
    except FileChangedOnDiskError:
        return "changed on disk"  # the other saver won first: the right refusal
    finally:
        document.close()


def viewer(folder: Path, _content: bytes, number: int) -> str:
    document = Document.open(str(round_path(folder, number)))
    try:
        return "none" if document.recovery is None else document.recovery.action.name
    finally:
        document.close()


def worker(role: str, folder: Path, content: bytes, barrier: Any, results: Any) -> None:
    save.MAX_SPAN_LENGTH = PAGE  # more, smaller steps per save: more chances to interleave
    act = viewer if role == "viewer" else saver
    for number in range(ROUNDS):
        barrier.wait(timeout=60)
        try:
            outcome = act(folder, content, number)
        except Exception as exc:  # reported, so a bug fails the test instead of hanging it
            outcome = f"error: {exc!r}"
        results.put((role, number, outcome))


def cmp_equal(left: Path, right: Path) -> bool:
    return subprocess.run(["cmp", "-s", str(left), str(right)], check=False).returncode == 0


def test_two_savers_and_a_viewer_always_leave_one_complete_version(tmp_path: Path) -> None:
    versions = {"original": version(0), "A": version(1), "B": version(2)}
    for name, content in versions.items():
        (tmp_path / f"{name}.version").write_bytes(content)
    folder = tmp_path / "rounds"
    folder.mkdir()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(target=worker, args=(role, folder, versions[role], barrier, results))
        for role in ("A", "B")
    ] + [context.Process(target=worker, args=("viewer", folder, b"", barrier, results))]
    for process in workers:
        process.start()
    failures: list[str] = []
    try:
        for number in range(ROUNDS):
            path = round_path(folder, number)
            path.write_bytes(versions["original"])
            barrier.wait(timeout=60)
            outcomes = {}
            for _ in range(3):
                role, got, outcome = results.get(timeout=60)
                assert got == number
                outcomes[role] = outcome
            matches = [name for name in ("A", "B") if cmp_equal(path, tmp_path / f"{name}.version")]
            saved = [name for name in ("A", "B") if outcomes[name] == "saved"]
            problems = []
            if len(matches) != 1:
                problems.append("the file is neither A's nor B's complete version")
            elif saved and matches[0] not in saved:
                problems.append(f"{saved} reported success but the file holds {matches[0]}")
            if not saved:
                problems.append("no saver succeeded")
            if has_journal(str(path)):
                problems.append("a journal was left behind")
            if outcomes["viewer"] not in ("none", "BUSY"):
                problems.append(f"the viewer's recovery acted: {outcomes['viewer']}")
            if problems:
                failures.append(f"round {number}: {'; '.join(problems)} ({outcomes})")
            path.unlink()
    finally:
        for process in workers:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    assert not failures, f"{len(failures)} of {ROUNDS} rounds failed:\n" + "\n".join(failures[:10])
