"""Saving from the window: in a worker, Save As, the questions, failures and recovery messages.

References: a bytearray with the edits applied, the file's inode (Save As onto itself must write
in place), a QTimer counting ticks while the worker saves (a save on the GUI thread would stop
it), and files made unwritable for real (permission bits, or a read-only tmpfs when root).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from mmhex.core import save as saving
from mmhex.core.journal import journal_path
from mmhex.ui import settings
from mmhex.ui.widgets import MessageLevel
from tests.ui.editing_helpers import Button, open_for_editing

ROOT = Path(__file__).resolve().parent.parent.parent


def slow_down(monkeypatch: pytest.MonkeyPatch, name: str, seconds: float) -> list[int]:
    """Make ``save.<name>`` take ``seconds`` longer; returns the threads it ran on."""
    original = getattr(saving, name)
    threads: list[int] = []

    def slow(*args, **kwargs):
        threads.append(threading.get_ident())
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(saving, name, slow)
    return threads


def edit_some_bytes(window, editor, expected: bytearray) -> None:
    """Scattered edits through the controller, mirrored in ``expected``."""
    for offset, digits in ((3, "c0ffee"), (4096 + 7, "00"), (len(expected) - 2, "4142")):
        window.view.set_cursor(offset)
        assert editor.type_text(digits)
        data = bytes.fromhex(digits)
        expected[offset : offset + len(data)] = data


def test_save_runs_in_a_worker_and_the_window_stays_responsive(
    qtbot, window, editor, random_file, monkeypatch
) -> None:
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    threads = slow_down(monkeypatch, "_copy_and_sync", 0.8)
    ticks: list[float] = []
    seen: dict[str, object] = {}

    def tick() -> None:
        ticks.append(time.monotonic())
        if editor.saving and "typed" not in seen:
            # Meanwhile the user types and presses Save again: both wait for the save.
            seen["typed"] = editor.type_text("99")
            seen["save_enabled"] = window.action_builder.actions["file.save"].isEnabled()
        seen["progress_shown"] = seen.get("progress_shown") or editor.progress.isVisible()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    started = time.monotonic()
    assert editor.save()
    elapsed = time.monotonic() - started
    timer.stop()

    assert threads and threads[0] != threading.get_ident(), "the copy ran on a worker thread"
    assert elapsed >= 0.8
    # About one tick per 20 ms while the worker slept; none if the GUI thread had been busy.
    assert len([t for t in ticks if t <= started + 0.8]) >= 15
    assert seen["typed"] is False and seen["save_enabled"] is False
    assert seen["progress_shown"] is True
    assert not editor.progress.isVisible() and not editor.saving
    assert random_file.read_bytes() == bytes(expected)
    assert not window.document.modified and editor.stack.isClean()
    assert "Saved 6 changed bytes" in window.statusBar().currentMessage()


def test_cancel_stops_the_save_and_keeps_file_and_edits(
    qtbot, window, editor, random_file, monkeypatch
) -> None:
    before = random_file.read_bytes()
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    slow_down(monkeypatch, "_copy_and_sync", 0.6)

    def press_cancel_when_shown() -> None:
        if editor.progress.isVisible() and editor.progress.cancel_button.isEnabled():
            editor.progress.cancel_button.click()

    timer = QTimer()
    timer.timeout.connect(press_cancel_when_shown)
    timer.start(20)
    assert not editor.save()
    timer.stop()
    assert "Save cancelled" in window.message_bar.text
    assert random_file.read_bytes() == before
    assert not os.path.exists(journal_path(str(random_file)))
    assert window.document.modified
    assert window.document.read(0, len(expected)) == bytes(expected)
    assert editor.save()  # the edits are intact: a second save writes them
    assert random_file.read_bytes() == bytes(expected)


def test_save_as_writes_a_new_file_and_continues_with_it(
    window, editor, random_file, tmp_path, monkeypatch
) -> None:
    before = random_file.read_bytes()
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    target = tmp_path / "copy.bin"
    threads = slow_down(monkeypatch, "copy_sparse", 0.05)
    monkeypatch.setattr(editor, "ask_save_path", lambda _document: str(target))
    assert editor.save_as()
    assert threads[0] != threading.get_ident()
    assert target.read_bytes() == bytes(expected)
    assert random_file.read_bytes() == before
    document = window.document
    assert document.path == str(target) and not document.modified
    assert window.windowTitle().startswith("copy.bin")
    assert window.watcher.path == str(target)
    assert settings.recent_files()[0] == str(target)
    # Further edits go to the new file.
    window.view.set_cursor(0)
    editor.type_text("ff")
    expected[0] = 0xFF
    assert editor.save()
    assert target.read_bytes() == bytes(expected) and random_file.read_bytes() == before


def test_save_as_onto_the_file_itself_writes_in_place(
    window, editor, random_file, monkeypatch
) -> None:
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    inode = random_file.stat().st_ino
    monkeypatch.setattr(editor, "ask_save_path", lambda _document: str(random_file))
    assert editor.save_as()
    assert random_file.stat().st_ino == inode, "replaced instead of written in place"
    assert random_file.read_bytes() == bytes(expected)
    assert random_file.stat().st_size == len(expected)


def test_save_as_cancelled_in_the_file_dialog_does_nothing(
    window, editor, random_file, monkeypatch
) -> None:
    open_for_editing(window, editor, random_file)
    editor.type_text("00")
    monkeypatch.setattr(editor, "ask_save_path", lambda _document: "")
    assert not editor.save_as()
    assert window.document.modified and window.document.path == str(random_file)


# --------------------------------------------------------------------------- closing
@pytest.mark.parametrize("answer", [Button.Save, Button.Discard, Button.Cancel])
def test_closing_with_unsaved_edits_asks(window, editor, questions, random_file, answer) -> None:
    before = random_file.read_bytes()
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    questions.answers.append(answer)
    closed = window.close()
    assert len(questions.asked) == 1
    text, buttons = questions.asked[0]
    assert "random.bin has unsaved edits" in text
    assert len(buttons) == 3
    if answer == Button.Save:
        assert closed and random_file.read_bytes() == bytes(expected)
    elif answer == Button.Discard:
        assert closed and random_file.read_bytes() == before
    else:
        assert not closed and window.isVisible()
        assert window.document is not None and window.document.modified
        assert random_file.read_bytes() == before


@pytest.mark.parametrize("answer", [Button.Save, Button.Discard, Button.Cancel])
def test_opening_another_file_keeps_the_edited_one_in_its_tab_until_closed(
    window, editor, questions, random_file, tmp_path, answer
) -> None:
    other = tmp_path / "other.bin"
    other.write_bytes(b"other file")
    before = random_file.read_bytes()
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    steps = editor.stack.count()
    assert window.open_path(str(other)) is None  # a second tab: nothing to ask yet
    assert questions.asked == []
    assert window.document.path == str(other)
    assert editor.stack.count() == 0 and not window.isWindowModified()
    window.previous_tab()
    assert window.document.path == str(random_file) and window.document.modified
    assert editor.stack.count() == steps  # the tab kept its undo history
    questions.answers.append(answer)
    closed = window.close_tab(window.tab_bar.currentIndex())
    if answer == Button.Cancel:
        assert not closed and window.document.path == str(random_file)
        assert window.document.modified and random_file.read_bytes() == before
        return
    assert closed and window.document.path == str(other)
    assert editor.stack.count() == 0 and not window.isWindowModified()
    assert random_file.read_bytes() == (bytes(expected) if answer == Button.Save else before)


def test_close_document_without_edits_asks_nothing(window, editor, questions, random_file):
    open_for_editing(window, editor, random_file)
    window.close_document()
    assert window.document is None and questions.asked == []


# --------------------------------------------------------------------------- failures
def test_a_file_changed_on_disk_is_not_overwritten_without_asking(
    window, editor, questions, random_file
) -> None:
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    theirs = bytearray(random_file.read_bytes())
    theirs[2000:2005] = b"THEIR"
    with open(random_file, "r+b") as handle:  # another program writes in place
        handle.seek(2000)
        handle.write(b"THEIR")
    os.utime(random_file, ns=(5_000_000_000, 5_000_000_000))

    questions.answers.append(Button.Cancel)
    assert not editor.save()
    assert "changed on disk by another program" in questions.asked[0][0]
    assert sorted(questions.asked[0][1]) == ["Cancel", "Overwrite"]
    assert random_file.read_bytes() == bytes(theirs)
    assert window.document.modified

    questions.answers.append(Button.Save)  # "Overwrite"
    assert editor.save()
    for offset, data in ((3, b"\xc0\xff\xee"), (4096 + 7, b"\x00"), (len(theirs) - 2, b"AB")):
        theirs[offset : offset + len(data)] = data
    assert random_file.read_bytes() == bytes(theirs)


@pytest.fixture
def unwritable_file(tmp_path: Path) -> Iterator[Path]:
    """A file this process can read but not write: mode 0444, or on a read-only tmpfs as root."""
    data = os.urandom(5000)
    if os.geteuid() != 0:
        path = tmp_path / "locked.bin"
        path.write_bytes(data)
        path.chmod(0o444)
        yield path
        return
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"root, but cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        path = mount_point / "locked.bin"
        path.write_bytes(data)
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_an_unwritable_file_is_edited_privately_and_saved_elsewhere(
    window, editor, questions, unwritable_file, tmp_path, monkeypatch
) -> None:
    before = unwritable_file.read_bytes()
    expected = open_for_editing(window, editor, unwritable_file)
    assert "Editing privately" in window.message_bar.text
    assert "use Save As" in window.message_bar.text
    edit_some_bytes(window, editor, expected)

    questions.answers.append(Button.Cancel)
    assert not editor.save()
    reason = questions.asked[0][0]
    assert "permission" in reason or "read-only file system" in reason
    assert sorted(questions.asked[0][1]) == ["Cancel", "Save As…"]
    assert window.document.modified

    target = tmp_path / "saved-elsewhere.bin"
    monkeypatch.setattr(editor, "ask_save_path", lambda _document: str(target))
    questions.answers.append(Button.Save)  # "Save As…"
    assert editor.save()
    assert target.read_bytes() == bytes(expected)
    assert unwritable_file.read_bytes() == before
    assert window.document.path == str(target)


def test_an_outside_truncation_keeps_every_edit_for_save_as(
    window, editor, random_file, tmp_path, monkeypatch
) -> None:
    expected = open_for_editing(window, editor, random_file)
    window.view.set_cursor(100)
    editor.type_text("aa")
    window.view.set_cursor(9000)
    editor.type_text("bbcc")
    os.truncate(random_file, 5000)  # another program cuts the file short
    window.check_outside_change()
    message = window.message_bar.text
    assert "truncated from 10,007 to 5,000 bytes" in message
    assert "past the end of the file: they are kept, and Save As writes every edit" in message
    assert window.document.modified and window.view.cursor_offset <= 4999

    # Undoing the edit that now lies past the end is refused with a sentence, not a crash.
    window.message_bar.dismiss()
    editor.undo()
    assert "Cannot undo “Typing: 2 bytes at 0x2328”" in window.message_bar.text
    assert "past the end of the file" in window.message_bar.text
    editor.redo()

    window.message_bar.dismiss()
    assert not editor.save()
    assert "use Save As" in window.message_bar.text
    assert window.message_bar.level is MessageLevel.ERROR
    assert random_file.stat().st_size == 5000

    target = tmp_path / "rescued.bin"
    monkeypatch.setattr(editor, "ask_save_path", lambda _document: str(target))
    assert editor.save_as()
    rescued = bytearray(expected[:5000]) + bytes(4000) + b"\xbb\xcc"
    rescued[100] = 0xAA
    assert target.read_bytes() == bytes(rescued)


def test_a_journal_in_the_way_fails_the_save_with_the_edits_kept(
    window, editor, random_file
) -> None:
    before = random_file.read_bytes()
    expected = open_for_editing(window, editor, random_file)
    edit_some_bytes(window, editor, expected)
    stale = Path(journal_path(str(random_file)))
    stale.write_bytes(b"someone else's journal")
    try:
        assert not editor.save()
        assert "interrupted or another save is running" in window.message_bar.text
        assert random_file.read_bytes() == before
        assert window.document.read(0, len(expected)) == bytes(expected)
    finally:
        stale.unlink()
    assert editor.save()
    assert random_file.read_bytes() == bytes(expected)


def crash_while_saving(path: Path, step: str) -> None:
    """Another mmhex process saves ``path`` and is killed at ``step``, leaving a journal."""
    script = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from mmhex.core.document import Document\n"
        f"document = Document.open({str(path)!r})\n"
        "document.enable_editing()\n"
        "document.write(3, b'NEW')\n"
        f"document.save(checkpoint=lambda name: os._exit(9) if name == {step!r} else None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr.decode()
    assert os.path.exists(journal_path(str(path)))


def test_opening_after_an_interrupted_save_says_what_recovery_did(window, editor, random_file):
    before = random_file.read_bytes()
    crash_while_saving(random_file, "span-0-copied")
    assert window.open_path(str(random_file)) is None
    assert "rolled back" in window.message_bar.text
    assert window.message_bar.level is MessageLevel.WARNING
    assert random_file.read_bytes() == before
    assert not os.path.exists(journal_path(str(random_file)))


def test_a_read_only_open_only_reports_the_interrupted_save(window, editor, random_file):
    crash_while_saving(random_file, "span-0-copied")
    assert window.open_path(str(random_file), readonly=True) is None
    assert "an earlier save was interrupted" in window.message_bar.text
    assert "mmhex recover" in window.message_bar.text
    assert window.message_bar.level is MessageLevel.ERROR
    assert os.path.exists(journal_path(str(random_file)))
