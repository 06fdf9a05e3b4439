"""Document editing: private edits, undo/redo values, clean state, outside changes, recovery.

The reference is always independent of mmhex: a bytearray model of what the user typed, and the
file's bytes and mtime read with plain ``open``/``os.stat``/``os.pread``.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mmhex.core import save
from mmhex.core.document import Change, ChangeKind, Document, EditError
from mmhex.core.edits import Edit, coalesce
from mmhex.core.errors import FileTruncatedError
from mmhex.core.journal import RecoveryAction, has_journal
from mmhex.core.save import FileChangedOnDiskError, SaveError
from tests.save_support import save_killed_at

PAGE = 4096
SHM = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def make(tmp_path: Path, content: bytes, name: str = "f.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def editing(path: Path, **options: int) -> Document:
    document = Document.open(str(path), **options)
    document.enable_editing()
    return document


def fingerprint(path: Path) -> tuple[bytes, int]:
    return hashlib.sha256(path.read_bytes()).digest(), os.stat(path).st_mtime_ns


# --------------------------------------------------------------------------- the model test
class EditingMachine(RuleBasedStateMachine):
    """Random edits, undo, redo, save, Save As, revert and reopen against a bytearray model.

    The undo stack here mirrors QUndoStack: a push drops the redo tail, typing merges into the
    top command through ``coalesce`` unless the top is the saved (clean) state.
    """

    SIZE = 3 * PAGE + 123

    @initialize(seed=st.integers(0, 2**32 - 1))
    def open_file(self, seed: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mmhex-model-", dir=SHM))
        self.path = self.folder / "a.bin"
        self.other = self.folder / "b.bin"
        base = random_bytes(self.SIZE, seed)
        self.path.write_bytes(base)
        self.disk = bytearray(base)  # what the document's file holds
        self.model = bytearray(base)  # what the user sees
        self.left_behind: tuple[Path, bytes] | None = None  # a file Save As moved away from
        self.document = editing(self.path, window_size=PAGE, max_windows=2)
        self.stack: list[tuple[Edit, bool]] = []  # (edit, typed)
        self.index = 0
        self.clean_index: int | None = 0
        self.saved_mtime = os.stat(self.path).st_mtime_ns

    def teardown(self) -> None:
        if hasattr(self, "document"):
            self.document.close()
            shutil.rmtree(self.folder)

    def _apply_model(self, edit: Edit) -> None:
        assert bytes(self.model[edit.offset : edit.end]) == edit.old
        self.model[edit.offset : edit.end] = edit.new

    @rule(
        offset=st.integers(0, SIZE - 1),
        data=st.binary(min_size=1, max_size=20),
        typed=st.booleans(),
    )
    def write(self, offset: int, data: bytes, typed: bool) -> None:
        data = data[: self.SIZE - offset]
        edit = self.document.write(offset, data)
        assert edit.old == bytes(self.model[offset : offset + len(data)])
        self._apply_model(edit)
        del self.stack[self.index :]
        if self.clean_index is not None and self.clean_index > self.index:
            self.clean_index = None  # the saved state can no longer be reached by undo/redo
        top = self.stack[-1] if self.stack else None
        merged = None
        if typed and top is not None and top[1] and self.index != self.clean_index:
            merged = coalesce(top[0], edit)
        if merged is not None:
            self.stack[-1] = (merged, True)
        else:
            self.stack.append((edit, typed))
            self.index += 1

    @rule()
    def undo(self) -> None:
        if self.index == 0:
            return
        self.index -= 1
        edit = self.stack[self.index][0]
        self.document.revert(edit)
        self._apply_model(edit.inverse())

    @rule()
    def redo(self) -> None:
        if self.index == len(self.stack):
            return
        edit = self.stack[self.index][0]
        self.index += 1
        self.document.apply(edit)
        self._apply_model(edit)

    @rule()
    def save(self) -> None:
        self.document.save()
        if self.disk != self.model:
            self.saved_mtime = os.stat(self.path).st_mtime_ns
        self.disk[:] = self.model
        self.clean_index = self.index

    @rule()
    def save_as(self) -> None:
        self.left_behind = (self.path, bytes(self.disk))
        self.document.save_as(str(self.other))
        self.path, self.other = self.other, self.path
        self.disk[:] = self.model
        self.saved_mtime = os.stat(self.path).st_mtime_ns
        self.clean_index = self.index

    @rule()
    def revert_all(self) -> None:
        self.document.revert_all()
        self.model[:] = self.disk
        self.stack.clear()
        self.index = 0
        self.clean_index = 0

    @rule()
    def reopen(self) -> None:
        self.document.close()
        self.document = editing(self.path, window_size=PAGE, max_windows=2)
        self.model[:] = self.disk
        self.stack.clear()
        self.index = 0
        self.clean_index = 0

    @invariant()
    def document_shows_the_model(self) -> None:
        assert self.document.read(0, self.SIZE) == self.model

    @invariant()
    def disk_holds_only_saved_bytes(self) -> None:
        assert self.path.read_bytes() == self.disk
        assert os.stat(self.path).st_mtime_ns == self.saved_mtime
        if self.left_behind is not None:
            assert self.left_behind[0].read_bytes() == self.left_behind[1]

    @invariant()
    def modified_means_a_byte_differs(self) -> None:
        assert self.document.modified == (self.model != self.disk)
        differing = {i for i in range(self.SIZE) if self.model[i] != self.disk[i]}
        covered = {i for s, e in self.document.dirty_ranges() for i in range(s, e)}
        assert differing <= covered

    @invariant()
    def no_journal_is_left(self) -> None:
        assert not has_journal(str(self.path))


EditingMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
TestEditingMachine = EditingMachine.TestCase


# --------------------------------------------------------------------------- unsaved edits
def test_unsaved_edits_leave_the_file_bytes_and_mtime_unchanged(tmp_path: Path) -> None:
    old = random_bytes(20 * PAGE)
    path = make(tmp_path, old)
    before = fingerprint(path)
    # one-page windows, at most two mapped: edits in many windows must stay pinned and visible
    document = editing(path, window_size=PAGE, max_windows=2)
    model = bytearray(old)
    rng = random.Random(5)
    for _ in range(200):
        offset = rng.randrange(len(old) - 8)
        data = rng.randbytes(rng.randint(1, 8))
        document.write(offset, data)
        model[offset : offset + len(data)] = data
    assert fingerprint(path) == before
    assert document.read(0, len(old)) == model
    assert document.read_original(0, len(old)) == old
    assert len([w for w in document.mapped.mapped_windows() if w.pinned]) > 2
    document.close()
    assert fingerprint(path) == before


def test_read_only_documents_refuse_editing_with_the_reason(tmp_path: Path) -> None:
    path = make(tmp_path, b"abc")
    document = Document.open(str(path), readonly=True)
    with pytest.raises(EditError, match="opened read-only"):
        document.enable_editing()
    with pytest.raises(EditError, match="opened read-only"):
        document.write(0, b"x")
    assert not document.editing
    assert document.save_blocker() == "This file cannot be saved in place: opened read-only."
    document.close()


@pytest.mark.parametrize(
    ("offset", "data", "message"),
    [
        (100, b"x", "past the end of the file (100 bytes, last offset 0x63)"),
        (2**63, b"x", "past the end"),
        (98, b"xyz", "would run past the end of the file (100 bytes)"),
        (-1, b"x", "before the start"),
        (5, b"", "no bytes to write"),
    ],
)
def test_bad_writes_are_refused_with_a_message(
    tmp_path: Path, offset: int, data: bytes, message: str
) -> None:
    old = random_bytes(100)
    path = make(tmp_path, old)
    document = editing(path)
    with pytest.raises(EditError) as info:
        document.write(offset, data)
    assert message in str(info.value)
    assert document.read(0, 100) == old and not document.modified
    document.close()


def test_writing_needs_edit_mode(tmp_path: Path) -> None:
    path = make(tmp_path, b"abc")
    document = Document.open(str(path))
    with pytest.raises(EditError, match="not enabled"):
        document.write(0, b"x")
    document.close()


def test_edit_mode_switches_and_refuses_to_leave_with_unsaved_edits(tmp_path: Path) -> None:
    path = make(tmp_path, b"hello world")
    document = Document.open(str(path))
    changes: list[Change] = []
    document.add_listener(changes.append)
    document.enable_editing()
    assert document.editing and changes[-1].kind is ChangeKind.MODE
    edit = document.write(0, b"J")
    with pytest.raises(EditError, match="save or revert"):
        document.disable_editing()
    document.revert(edit)
    document.disable_editing()
    assert not document.editing and changes[-1].kind is ChangeKind.MODE
    assert document.read(0, 11) == b"hello world"
    document.close()


def test_edits_notify_their_range_and_bump_the_generation(tmp_path: Path) -> None:
    path = make(tmp_path, bytes(64))
    document = editing(path)
    changes: list[Change] = []
    document.add_listener(changes.append)
    generation = document.generation
    edit = document.write(10, b"abcd")
    assert changes[-1] == Change(ChangeKind.EDIT, 10, 14)
    assert document.generation == generation + 1
    document.revert(edit)
    assert changes[-1] == Change(ChangeKind.EDIT, 10, 14)
    document.apply(edit)
    document.save()
    assert changes[-1].kind is ChangeKind.SAVED
    assert (changes[-1].start, changes[-1].end) == (10, 14)
    document.close()


def test_undo_back_to_the_saved_state_is_clean(tmp_path: Path) -> None:
    path = make(tmp_path, b"0123456789")
    document = editing(path)
    first = document.write(0, b"a")
    second = document.write(5, b"b")
    document.save()
    assert not document.modified
    document.revert(second)  # undo past the save: differs from the file again
    assert document.modified and document.dirty_ranges() == [(5, 6)]
    document.apply(second)  # redo back to the saved state
    assert not document.modified
    document.revert(second)
    document.revert(first)
    document.save()
    assert path.read_bytes() == b"0123456789"
    document.close()


def test_typing_the_same_byte_again_is_not_a_modification(tmp_path: Path) -> None:
    path = make(tmp_path, b"abc")
    document = editing(path)
    edit = document.write(1, b"b")
    assert edit == Edit(1, b"b", b"b") and not document.modified
    document.close()


def test_revert_all_discards_every_edit(tmp_path: Path) -> None:
    old = random_bytes(8 * PAGE)
    path = make(tmp_path, old)
    document = editing(path, window_size=PAGE, max_windows=2)
    for i in range(8):
        document.write(i * PAGE + 7, b"edit")
    changes: list[Change] = []
    document.add_listener(changes.append)
    document.revert_all()
    assert document.read(0, len(old)) == old and not document.modified
    assert not any(w.pinned for w in document.mapped.mapped_windows())
    assert changes[-1].kind is ChangeKind.EDIT and changes[-1].start == 7
    assert path.read_bytes() == old
    document.close()


def test_dirty_ranges_in_highlights_visible_rows(tmp_path: Path) -> None:
    path = make(tmp_path, bytes(1000))
    document = editing(path)
    document.write(10, b"ab")
    document.write(12, b"cd")  # touches: merged
    document.write(500, b"z")
    assert document.dirty_ranges() == [(10, 14), (500, 501)]
    assert document.dirty_ranges_in(0, 16) == [(10, 14)]
    assert document.dirty_ranges_in(12, 600) == [(12, 14), (500, 501)]
    assert document.dirty_ranges_in(14, 500) == []
    document.close()


# --------------------------------------------------------------------------- outside changes
def test_truncation_outside_keeps_every_typed_byte_for_save_as(tmp_path: Path) -> None:
    size = 6 * PAGE
    old = random_bytes(size)
    path = make(tmp_path, old)
    document = editing(path, window_size=PAGE, max_windows=2)
    typed = [(10, b"early"), (4 * PAGE + 1, b"late"), (size - 3, b"end")]
    for offset, data in typed:
        document.write(offset, data)
    os.truncate(path, 2 * PAGE)  # another program: the private pages past it are gone
    with pytest.raises(FileTruncatedError):
        document.read(4 * PAGE, 10)
    change = document.check_outside_change()
    assert change is not None and change.kind is ChangeKind.RELOAD
    assert "truncated" in change.message
    assert "7 edited bytes now lie past the end of the file" in change.message
    assert "Save As" in change.message
    assert document.size == 2 * PAGE
    assert document.read(10, 5) == b"early"
    with pytest.raises(SaveError, match="Save As"):
        document.save()
    assert path.read_bytes() == old[: 2 * PAGE]
    target = tmp_path / "rescued.bin"
    document.save_as(str(target))
    rescued = target.read_bytes()
    assert len(rescued) == size
    expected = bytearray(old[: 2 * PAGE] + bytes(size - 2 * PAGE))  # lost bytes: a hole
    for offset, data in typed:
        expected[offset : offset + len(data)] = data
    assert rescued == expected
    document.close()


def test_a_file_truncated_and_grown_back_shows_the_edits_again(tmp_path: Path) -> None:
    old = random_bytes(4 * PAGE)
    path = make(tmp_path, old)
    document = editing(path, window_size=4 * PAGE, max_windows=2)
    document.write(3 * PAGE + 5, b"mine")
    os.truncate(path, PAGE)
    document.check_outside_change()
    with open(path, "ab") as handle:
        handle.write(b"\x77" * (3 * PAGE))
    change = document.check_outside_change()
    assert change is not None and "Your unsaved edits are kept." in change.message
    assert document.size == 4 * PAGE
    assert document.read(3 * PAGE + 5, 4) == b"mine"
    assert document.read(3 * PAGE + 9, 4) == b"\x77" * 4
    document.close()


def test_a_file_that_grows_keeps_edits_in_its_last_window(tmp_path: Path) -> None:
    old = random_bytes(PAGE + 10)
    path = make(tmp_path, old)
    document = editing(path, window_size=4 * PAGE, max_windows=2)
    document.write(PAGE + 9, b"!")
    with open(path, "ab") as handle:
        handle.write(b"appended")
    change = document.check_outside_change()
    assert change is not None and "grew" in change.message
    assert document.read(PAGE, 18) == old[PAGE : PAGE + 9] + b"!" + b"appended"
    document.close()


def test_a_replaced_file_keeps_the_version_being_edited(tmp_path: Path) -> None:
    old = random_bytes(2 * PAGE)
    path = make(tmp_path, old)
    document = editing(path)
    document.write(0, b"mine")
    replacement = make(tmp_path, b"\x00" * (2 * PAGE), "new.bin")
    os.replace(replacement, path)
    change = document.check_outside_change()
    assert change is not None and "replaced" in change.message
    assert document.check_outside_change() is None, "said once"
    assert document.read(0, 8) == b"mine" + old[4:8]
    with pytest.raises(FileChangedOnDiskError, match="replaced by another file"):
        document.save()
    assert path.read_bytes() == b"\x00" * (2 * PAGE)
    document.save(overwrite_outside_changes=True)
    assert path.read_bytes() == b"mine" + b"\x00" * (2 * PAGE - 4)
    assert document.read(0, 8) == b"mine\x00\x00\x00\x00"  # now showing the file saved into
    document.close()


# --------------------------------------------------------------------------- recovery on open
def test_open_rolls_back_an_interrupted_save_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(save, "MAX_SPAN_LENGTH", PAGE)  # one msync per edited page
    old = random_bytes(8 * PAGE)
    path = make(tmp_path, old)
    save_killed_at(path, [(3, b"abc"), (6 * PAGE, b"def")], at="span-0-msynced")
    assert path.read_bytes()[3:6] == b"abc", "half written: the first range only"
    assert has_journal(str(path))
    document = Document.open(str(path))
    assert document.recovery is not None
    assert document.recovery.action is RecoveryAction.ROLLED_BACK
    assert "rolled back" in document.recovery.message
    assert path.read_bytes() == old and not has_journal(str(path))
    assert document.read(0, len(old)) == old
    document.close()


def test_open_keeps_a_completed_save(tmp_path: Path) -> None:
    old = random_bytes(8 * PAGE)
    path = make(tmp_path, old)
    save_killed_at(path, [(3, b"abc")], at="journal-complete")
    document = Document.open(str(path))
    assert document.recovery is not None
    assert document.recovery.action is RecoveryAction.KEPT_NEW
    assert path.read_bytes()[3:6] == b"abc"
    document.close()


def test_read_only_open_reports_the_journal_and_recovers_on_request(tmp_path: Path) -> None:
    old = random_bytes(8 * PAGE)
    path = make(tmp_path, old)
    save_killed_at(path, [(3, b"abc")], at="span-0-copied")
    half = path.read_bytes()
    document = Document.open(str(path), readonly=True)
    assert document.recovery is not None
    assert document.recovery.action is RecoveryAction.PENDING
    assert "mmhex recover" in document.recovery.message
    assert path.read_bytes() == half and has_journal(str(path))
    outcome = document.recover_interrupted_save()
    assert outcome.action is RecoveryAction.ROLLED_BACK
    assert path.read_bytes() == old
    assert document.read(3, 3) == old[3:6]
    document.close()


def test_no_journal_no_recovery(tmp_path: Path) -> None:
    path = make(tmp_path, b"plain")
    document = Document.open(str(path))
    assert document.recovery is None
    document.close()


# --------------------------------------------------------------------------- huge sparse files
@pytest.mark.skipif(SHM is None, reason="needs a writable /dev/shm (tmpfs)")
def test_edits_anywhere_in_an_8_eib_sparse_file_save_and_read_back() -> None:
    folder = Path(tempfile.mkdtemp(prefix="mmhex-8eib-", dir=SHM))
    path = folder / "huge.bin"
    try:
        size = 8000 * 2**50  # `truncate -s 8000P`
        with open(path, "wb") as handle:
            handle.truncate(size)
        edits = [(0, b"first"), (size // 2 + 12345, b"middle"), (size - 1, b"\xff")]
        document = editing(path)
        assert document.size == size
        for offset, data in edits:
            document.write(offset, data)
        assert document.read(size - 1, 1) == b"\xff"
        result = document.save()
        assert result.ranges == 3
        fd = os.open(path, os.O_RDONLY)
        try:
            for offset, data in edits:
                assert os.pread(fd, len(data), offset) == data
            assert os.pread(fd, 4, size // 4) == bytes(4)
        finally:
            os.close(fd)
        assert os.stat(path).st_blocks * 512 <= 3 * 2 * 1024 * 1024  # three pages, not 8 EiB
        document.close()
        reopened = Document.open(str(path))
        assert [reopened.read(o, len(d)) for o, d in edits] == [d for _, d in edits]
        reopened.close()
    finally:
        shutil.rmtree(folder)


def test_the_last_byte_of_a_1_tib_sparse_file_saves(tmp_path: Path) -> None:
    path = tmp_path / "tera.bin"
    size = 1 << 40
    try:
        with open(path, "wb") as handle:
            handle.truncate(size)
    except OSError as exc:
        pytest.skip(f"this file system cannot hold a 1 TiB sparse file: {exc}")
    document = editing(path)
    document.write(size - 1, b"\x42")
    document.write(size // 3, b"third")
    document.save()
    document.close()
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.pread(fd, 2, size - 2) == b"\x00\x42"
        assert os.pread(fd, 5, size // 3) == b"third"
    finally:
        os.close(fd)
    assert os.stat(path).st_size == size
    assert os.stat(path).st_blocks * 512 < 1 << 20
