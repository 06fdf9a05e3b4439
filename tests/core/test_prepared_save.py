"""Document.prepare_save / prepare_save_as: the slow part on another thread, the rest at home."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mmhex.core.document import ChangeKind, Document
from mmhex.core.progress import Cancelled, CancelToken


def edited_document(tmp_path: Path) -> tuple[Document, bytearray, Path]:
    path = tmp_path / "data.bin"
    original = bytearray(os.urandom(3 * 4096 + 17))
    path.write_bytes(bytes(original))
    document = Document.open(str(path))
    document.enable_editing()
    expected = bytearray(original)
    for offset, data in ((5, b"\x01\x02"), (4096 * 2 + 3, b"xyz"), (len(original) - 1, b"!")):
        document.write(offset, data)
        expected[offset : offset + len(data)] = data
    return document, expected, path


def run_in_thread(job, **kwargs):
    """Run ``job.run`` on another thread; returns (result, thread ident, exception)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = job.run(kwargs.get("on_progress"), kwargs.get("cancel"))
        except BaseException as exc:
            outcome["error"] = exc
        outcome["thread"] = threading.get_ident()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return outcome.get("result"), outcome["thread"], outcome.get("error")


def test_run_writes_the_file_and_only_finish_tells_the_listeners(tmp_path: Path) -> None:
    document, expected, path = edited_document(tmp_path)
    changes: list[tuple[ChangeKind, int]] = []
    document.add_listener(lambda change: changes.append((change.kind, threading.get_ident())))
    job = document.prepare_save()
    result, worker, error = run_in_thread(job)
    assert error is None and worker != threading.get_ident()
    assert path.read_bytes() == bytes(expected)  # written by the worker
    assert changes == [] and document.modified  # the document has not been told yet
    job.finish(result)
    assert changes == [(ChangeKind.SAVED, threading.get_ident())]
    assert not document.modified
    assert document.read(0, document.size) == bytes(expected)


def test_cancelled_run_leaves_file_and_edits(tmp_path: Path) -> None:
    document, expected, path = edited_document(tmp_path)
    before = path.read_bytes()
    token = CancelToken()
    token.cancel()
    job = document.prepare_save()
    _result, _thread, error = run_in_thread(job, cancel=token)
    assert isinstance(error, Cancelled)
    assert path.read_bytes() == before
    assert document.modified and document.read(0, document.size) == bytes(expected)


def test_prepare_save_as_copies_on_a_thread_and_switches_on_finish(tmp_path: Path) -> None:
    document, expected, path = edited_document(tmp_path)
    target = tmp_path / "copy.bin"
    job = document.prepare_save_as(str(target))
    result, _thread, error = run_in_thread(job)
    assert error is None
    assert target.read_bytes() == bytes(expected)
    assert document.path == str(path)  # still the old file until finish
    job.finish(result)
    assert document.path == str(target) and not document.modified


def test_prepare_save_as_onto_itself_is_a_save_in_place(tmp_path: Path) -> None:
    document, expected, path = edited_document(tmp_path)
    inode = path.stat().st_ino
    job = document.prepare_save_as(str(path))
    job.finish(job.run(None, None))
    assert path.read_bytes() == bytes(expected)
    assert path.stat().st_ino == inode  # written in place, never replaced or truncated


def test_nothing_to_save_is_an_empty_job(tmp_path: Path) -> None:
    path = tmp_path / "clean.bin"
    path.write_bytes(b"abc")
    document = Document.open(str(path))
    document.enable_editing()
    job = document.prepare_save()
    assert job.finish(job.run(None, None)).changed_bytes == 0


@pytest.mark.parametrize("prepare", ["prepare_save", "prepare_save_as"])
def test_a_failed_run_keeps_the_edits(tmp_path: Path, prepare: str) -> None:
    """A run that fails raises before anything changes; the edits stay for another try."""
    document, expected, path = edited_document(tmp_path)
    target = tmp_path / "missing-dir" / "copy.bin"
    job = (
        document.prepare_save_as(str(target))
        if prepare == "prepare_save_as"
        else document.prepare_save()
    )
    if prepare == "prepare_save":
        path.unlink()
    _result, _thread, error = run_in_thread(job)
    assert error is not None
    assert document.modified and document.read(0, document.size) == bytes(expected)


def test_the_slow_planning_runs_on_the_save_thread_not_the_preparing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After 100,000 scattered edits, planning an overwrite save (sorting and grouping every
    patch) took a second; a window prepares on its own thread, so the plan is made in run."""
    from mmhex.core import save as saving

    document, expected, path = edited_document(tmp_path)
    threads: list[int] = []
    real = saving.plan_save

    def plan_save(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(saving, "plan_save", plan_save)
    job = document.prepare_save()
    assert threads == []
    result, worker, error = run_in_thread(job)
    assert error is None and threads == [worker]
    job.finish(result)
    assert path.read_bytes() == bytes(expected) and not document.modified


@pytest.mark.parametrize("patched", [False, True])
def test_the_history_a_save_keeps_is_worked_out_on_the_save_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patched: bool
) -> None:
    """Walking every undo step for what it needs is the save's work, not the preparing
    thread's; undo across the save still works (the step comes back off the saved file)."""
    path = tmp_path / "data.bin"
    original = os.urandom(3 * 4096)
    path.write_bytes(original)
    document = Document.open(str(path))
    document.enable_editing()
    # An insert moves the bytes after it; with the next 4 bytes deleted nothing moves: the
    # re-laid-out document saves as patches.
    steps = [document.insert(100, b"new!")]
    if patched:
        steps.append(document.delete(104, 4))
    assert (document._unshifted_patches() is not None) is patched
    expected = document.read(0, document.size)
    threads: list[int] = []
    real = Document._history_to_keep

    def history_to_keep(self, history, **kwargs):
        threads.append(threading.get_ident())
        return real(self, history, **kwargs)

    monkeypatch.setattr(Document, "_history_to_keep", history_to_keep)
    job = document.prepare_save(history=steps)
    assert threads == []
    result, worker, error = run_in_thread(job)
    assert error is None and threads == [worker]
    job.finish(result)
    assert path.read_bytes() == expected
    for step in reversed(steps):
        document.revert(step)
    assert document.read(0, document.size) == original
