"""Insert, delete, fill, resize, overwrite, undo/redo, save and reopen against a bytearray model.

Windows are one page, so edits cross window boundaries constantly; offsets are drawn at 0, at
the end and at window edges as often as anywhere else.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mmhex.core import document as document_module
from mmhex.core import shift_save, tail_move
from mmhex.core.document import Change, ChangeKind, Document, EditError
from mmhex.core.edits import Batch, Splice
from mmhex.core.layout_save import Move, plan_layout
from mmhex.core.pieces import ADD, ORIGINAL, Piece
from tests.core.test_shift_save import supports_shift

PAGE = 4096
SHM = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def editing(path: Path, **options: int) -> Document:
    document = Document.open(str(path), **options)
    document.enable_editing()
    return document


class PieceEditingMachine(RuleBasedStateMachine):
    SIZE = 3 * PAGE + 77
    FOLDER: str | None = SHM
    # Which way a re-laid-out save goes: None lets the document choose; else (shift allowed,
    # move the tail in place instead of copy-and-rename).
    FORCE: tuple[bool, bool] | None = None
    # Copy-and-rename: history bytes past this stay in the old file (None: the default).
    KEEP_OLD_FILE: int | None = None

    @initialize(seed=st.integers(0, 2**32 - 1))
    def open_file(self, seed: int) -> None:
        self.patches = []
        if self.FORCE is not None:
            allow_shift, in_place = self.FORCE
            if not allow_shift:
                self.patches.append(mock.patch.object(shift_save, "shift_of", lambda *a: None))
            self.patches.append(
                mock.patch.object(tail_move, "prefer_in_place", lambda *a: in_place)
            )
        if self.KEEP_OLD_FILE is not None:
            self.patches.append(
                mock.patch.object(document_module, "KEEP_OLD_FILE", self.KEEP_OLD_FILE)
            )
        for patch in self.patches:
            patch.start()
        self.folder = Path(tempfile.mkdtemp(prefix="mmhex-pieces-", dir=self.FOLDER))
        self.path = self.folder / "a.bin"
        base = random.Random(seed).randbytes(self.SIZE)
        self.path.write_bytes(base)
        self.model = bytearray(base)
        self.document = editing(self.path, window_size=PAGE, max_windows=2)
        self.stack: list = []
        self.index = 0
        self.states: list[bytes] = [bytes(base)]  # model after each stack entry
        self.clean = 0  # the stack index the file on disk matches (-1: none)
        self.saves = 0

    def teardown(self) -> None:
        for patch in getattr(self, "patches", []):
            patch.stop()
        if hasattr(self, "document"):
            self.document.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def _offset(self, data: st.DataObject, *, inclusive: bool) -> int:
        size = len(self.model)
        last = size if inclusive else size - 1
        edges = [0, last] + [k * PAGE for k in range(1, size // PAGE + 1) if k * PAGE <= last]
        if data.draw(st.booleans()):
            return data.draw(st.sampled_from(edges))
        return data.draw(st.integers(0, last))

    def _push(self, edit: object) -> None:
        if self.clean > self.index:
            self.clean = -1  # the saved state was undone and is now out of reach
        del self.stack[self.index :]
        del self.states[self.index + 1 :]
        self.stack.append(edit)
        self.states.append(bytes(self.model))
        self.index += 1

    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=300))
    def insert(self, data: st.DataObject, payload: bytes) -> None:
        offset = self._offset(data, inclusive=True)
        edit = self.document.insert(offset, payload)
        self.model[offset:offset] = payload
        self._push(edit)

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data(), length=st.integers(1, 2 * PAGE))
    def delete(self, data: st.DataObject, length: int) -> None:
        offset = self._offset(data, inclusive=False)
        length = min(length, len(self.model) - offset)
        edit = self.document.delete(offset, length)
        del self.model[offset : offset + length]
        self._push(edit)

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=200))
    def overwrite(self, data: st.DataObject, payload: bytes) -> None:
        offset = self._offset(data, inclusive=False)
        payload = payload[: len(self.model) - offset]
        edit = self.document.write(offset, payload)
        self.model[offset : offset + len(payload)] = payload
        self._push(edit)

    @rule(
        data=st.data(), length=st.integers(1, 3 * PAGE), pattern=st.binary(min_size=1, max_size=3)
    )
    def insert_fill(self, data: st.DataObject, length: int, pattern: bytes) -> None:
        offset = self._offset(data, inclusive=True)
        edit = self.document.insert_fill(offset, length, pattern)
        self.model[offset:offset] = (pattern * length)[:length]
        self._push(edit)

    @precondition(lambda self: len(self.model) > 0)
    @rule(
        data=st.data(), length=st.integers(1, 3 * PAGE), pattern=st.binary(min_size=1, max_size=3)
    )
    def fill(self, data: st.DataObject, length: int, pattern: bytes) -> None:
        offset = self._offset(data, inclusive=False)
        length = min(length, len(self.model) - offset)
        edit = self.document.fill(offset, length, pattern)
        self.model[offset : offset + length] = (pattern * length)[:length]
        self._push(edit)

    @rule(size=st.integers(0, 5 * PAGE))
    def resize(self, size: int) -> None:
        if size == len(self.model):
            with pytest.raises(EditError):
                self.document.resize(size)
            return
        edit = self.document.resize(size, b"\xee")
        if size < len(self.model):
            del self.model[size:]
        else:
            self.model.extend(b"\xee" * (size - len(self.model)))
        self._push(edit)

    @precondition(lambda self: len(self.model) >= PAGE)
    @rule(data=st.data(), blocks=st.integers(1, 2))
    def insert_blocks(self, data: st.DataObject, blocks: int) -> None:
        """Block-aligned: the save can shift the tail (fallocate) instead of moving it."""
        offset = PAGE * data.draw(st.integers(0, len(self.model) // PAGE))
        payload = data.draw(st.binary(min_size=1, max_size=8)) * PAGE
        payload = payload[: blocks * PAGE]
        edit = self.document.insert(offset, payload)
        self.model[offset:offset] = payload
        self._push(edit)

    @precondition(lambda self: len(self.model) >= 2 * PAGE)
    @rule(data=st.data())
    def delete_block(self, data: st.DataObject) -> None:
        offset = PAGE * data.draw(st.integers(0, len(self.model) // PAGE - 1))
        edit = self.document.delete(offset, PAGE)
        del self.model[offset : offset + PAGE]
        self._push(edit)

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=64))
    def replace_same_length(self, data: st.DataObject, payload: bytes) -> None:
        """A splice that moves nothing: it saves as journaled patches in place."""
        offset = self._offset(data, inclusive=False)
        payload = payload[: len(self.model) - offset]
        edit = self.document.replace(offset, len(payload), payload)
        self.model[offset : offset + len(payload)] = payload
        self._push(edit)

    @precondition(lambda self: self.index > 0)
    @rule()
    def undo(self) -> None:
        self.index -= 1
        self.document.revert(self.stack[self.index])
        self.model = bytearray(self.states[self.index])
        self._at_index()

    @precondition(lambda self: self.index < len(self.stack))
    @rule()
    def redo(self) -> None:
        self.document.apply(self.stack[self.index])
        self.index += 1
        self.model = bytearray(self.states[self.index])
        self._at_index()

    @precondition(lambda self: self.index > 0)
    @rule(steps=st.integers(2, 12))
    def undo_many(self, steps: int) -> None:
        """Far back, usually past a save (the saved state and before it)."""
        for _ in range(min(steps, self.index)):
            self.undo()
            self.same_bytes()

    @precondition(lambda self: self.index < len(self.stack))
    @rule(steps=st.integers(2, 12))
    def redo_many(self, steps: int) -> None:
        for _ in range(min(steps, len(self.stack) - self.index)):
            self.redo()
            self.same_bytes()

    def _at_index(self) -> None:
        """What the window does on QUndoStack.cleanChanged: back at the saved step, clean."""
        if self.index == self.clean:
            assert self.document.back_at_saved_state()
            assert not self.document.modified
        elif self.clean >= 0 and self.states[self.index] != self.states[self.clean]:
            assert self.document.modified

    @rule()
    def save(self) -> None:
        document = self.document
        before = self.path.stat().st_ino
        relaid = document.layout_changed
        shifts = relaid and shift_save.shift_of(
            document.plan_layout_save(), self.path.stat().st_blksize
        )
        document.save(history=self.stack)
        assert self.path.read_bytes() == self.model
        assert not document.modified
        if (shifts and self.FORCE == (True, False)) or (relaid and self.FORCE == (False, True)):
            assert self.path.stat().st_ino == before  # shifted or moved in place
        self.clean = self.index
        self.saves += 1
        # At most one old file kept open per re-laid-out save, and only while needed.
        assert document.retired_files <= self.saves
        if not self.stack:
            assert document.retired_files == 0

    @rule()
    def drop_history(self) -> None:
        """QUndoStack.clear(): nothing may still hold an old file open."""
        self.document.release_history([])
        assert self.document.retired_files == 0 or self.document.layout_changed
        self.stack, self.index, self.states = [], 0, [bytes(self.model)]
        self.clean = 0 if not self.document.modified else -1

    @rule()
    def reopen(self) -> None:
        if self.document.modified:
            self.document.save(history=self.stack)
        self.document.close()
        assert self.path.read_bytes() == self.model
        self.document = editing(self.path, window_size=PAGE, max_windows=2)
        self.stack, self.index, self.states = [], 0, [bytes(self.model)]
        self.clean = 0

    @invariant()
    def same_bytes(self) -> None:
        if not hasattr(self, "document"):
            return
        doc = self.document
        assert doc.size == len(self.model)
        assert doc.read(0, doc.size + 5) == self.model
        if self.model:
            at = len(self.model) // 3
            assert doc.read(at, 100) == self.model[at : at + 100]
        dirty = doc.dirty_ranges()
        for lo, hi in dirty:
            assert 0 <= lo < hi <= doc.size


TestPieceEditing = PieceEditingMachine.TestCase
TestPieceEditing.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


class CopyRenameMachine(PieceEditingMachine):
    """Every re-laid-out save copies and renames: the history reads the old inode."""

    FORCE = (False, False)
    KEEP_OLD_FILE = 0


class MoveInPlaceMachine(PieceEditingMachine):
    """Every re-laid-out save moves the tail in place: the history's old bytes are copied."""

    FORCE = (False, True)


class ShiftMachine(PieceEditingMachine):
    """On ext4/XFS: aligned inserts and deletes shift the tail with fallocate."""

    FOLDER = None  # the temporary folder (ext4 here); skipped where it cannot shift
    FORCE = (True, False)


HISTORY_EXAMPLES = int(os.environ.get("MMHEX_HISTORY_EXAMPLES", "40"))
TestHistoryCopyRename = CopyRenameMachine.TestCase
TestHistoryMoveInPlace = MoveInPlaceMachine.TestCase
TestHistoryShift = pytest.mark.skipif(
    not supports_shift(Path(tempfile.gettempdir())),
    reason="the temporary folder cannot fallocate(INSERT_RANGE) (not ext4/XFS)",
)(ShiftMachine.TestCase)
for case in (TestHistoryCopyRename, TestHistoryMoveInPlace, TestHistoryShift):
    case.settings = settings(max_examples=HISTORY_EXAMPLES, stateful_step_count=40, deadline=None)


def test_batch_notifies_once_with_the_covering_range(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(1000))
    document = editing(path)
    changes: list[Change] = []
    document.add_listener(changes.append)
    generation = document.generation
    with document.batch():
        first = document.write(10, b"ab")
        second = document.write(500, b"cd")
        third = document.insert(800, b"xyz")
    assert changes == [Change(ChangeKind.EDIT, 10, 1003, resized=True, splices=((800, 0, 3),))]
    assert document.generation == generation + 1
    changes.clear()
    document.revert(Batch((first, second, third)))
    assert changes == [Change(ChangeKind.EDIT, 10, 1003, resized=True, splices=((800, 3, 0),))]
    assert document.read(0, 2000) == bytes(1000)
    assert not document.modified
    document.close()


def test_history_texts_say_what_happened(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(64))
    document = editing(path)
    assert document.insert(0x10, b"abcd").describe() == "Insert 4 bytes at 0x10"
    assert document.delete(0, 1).describe() == "Delete 1 byte at 0x0"
    document.close()


def test_a_huge_fill_and_delete_of_a_sparse_file_store_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(1 << 40)
    document = editing(path)
    fill = document.fill(1 << 30, 100 << 30, b"\xab\xcd")
    assert isinstance(fill, Splice)
    assert document.read((1 << 30) - 1, 4) == b"\0\xab\xcd\xab"
    document.delete(1 << 35, 100 << 30)
    assert document.size == (1 << 40) - (100 << 30)
    document.insert_fill(0, 100 << 30, b"\x01")
    assert document.size == 1 << 40
    assert document.read((100 << 30) - 2, 4) == b"\x01\x01\0\0"
    assert document.add.used == 0  # nothing stored for any of it
    document.close()


def test_undo_of_every_layout_edit_is_clean_again(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    content = random.Random(3).randbytes(10_000)
    path.write_bytes(content)
    document = editing(path, window_size=PAGE)
    edits = [
        document.insert(PAGE, b"12345"),
        document.delete(PAGE - 3, 10),
        document.write(0, b"zz"),
        document.resize(20_000),
        document.resize(5),
    ]
    for edit in reversed(edits):
        document.revert(edit)
    assert not document.modified and not document.layout_changed
    assert document.read(0, 20_000) == content
    document.close()


def test_plan_lists_moves_in_a_safe_order_and_writes() -> None:
    pieces = [
        (0, Piece(ORIGINAL, 0, 100)),
        (100, Piece(ADD, 0, 10)),  # 10 inserted at 100: the rest shifts right ...
        (110, Piece(ORIGINAL, 100, 50)),
        (160, Piece(ORIGINAL, 170, 30)),  # ... and 20 deleted at 150: this shifts right by -10
    ]
    plan = plan_layout(pieces, lambda lo, hi: [(lo, lo + 1)] if lo == 100 else [], 200)
    assert plan.final_size == 190
    assert plan.copies == (Move(0, 0, 100), Move(100, 110, 50), Move(170, 160, 30))
    assert plan.moves == (Move(170, 160, 30), Move(100, 110, 50))
    # The insert, and the overwritten first byte of the moved range at its new place.
    assert plan.writes == ((100, 111),)
    assert plan.moved_bytes == 80


def test_save_as_of_a_resized_sparse_file_keeps_its_holes(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(1 << 30)
        f.seek(5000)
        f.write(b"data")
    document = editing(path)
    document.insert(0, b"HEAD")
    target = tmp_path / "copy.bin"
    document.save_as(str(target))
    assert os.stat(target).st_size == (1 << 30) + 4
    assert os.stat(target).st_blocks * 512 < 1 << 20
    with open(target, "rb") as f:
        assert f.read(4) == b"HEAD"
        f.seek(5004)
        assert f.read(4) == b"data"
    assert path.stat().st_size == 1 << 30  # the original is untouched
    assert not document.modified and document.path == str(target)
    document.close()


def test_search_and_checksums_see_inserted_bytes_across_piece_boundaries(tmp_path: Path) -> None:
    import hashlib
    import re

    from mmhex.core.checksums import compute_checksums
    from mmhex.core.search import PatternKind, SearchPattern, find_all

    path = tmp_path / "f.bin"
    rng = random.Random(5)
    content = bytearray(rng.randbytes(5 * PAGE))
    path.write_bytes(content)
    document = editing(path, window_size=PAGE * 16)
    model = bytearray(content)
    # "needle" split over pieces: half inserted, half the file's bytes made to match.
    for offset in (0, PAGE - 3, 2 * PAGE + 1, 5 * PAGE - 3):
        document.write(offset, b"dle")
        document.insert(offset, b"nee")
        model[offset : offset + 3] = b"dle"
        model[offset:offset] = b"nee"
    document.insert(len(model), b"needle")
    model += b"needle"
    assert document.read(0, len(model) + 1) == model
    found = find_all(document, SearchPattern(PatternKind.TEXT, "needle"))
    expected = [m.start() for m in re.finditer(b"(?=needle)", bytes(model))]
    assert [m.start for m in found.matches] == expected
    assert len(expected) >= 5
    sums = compute_checksums(document, 0, None, ("SHA-256",))
    assert sums["SHA-256"] == hashlib.sha256(model).hexdigest()
    document.close()


def test_a_resized_save_without_room_says_how_much_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmhex.core import layout_save, tail_move
    from mmhex.core.save import SaveError

    path = tmp_path / "f.bin"
    content = random.Random(8).randbytes(50_000)
    path.write_bytes(content)
    document = editing(path)
    document.insert(10, b"abc")  # unaligned: the save copies the whole file

    class Tiny:
        f_bavail, f_frsize, f_flag = 3, 4096, 0

    monkeypatch.setattr(layout_save.os, "statvfs", lambda _folder: Tiny())
    # In place (the default) needs the growth and its journal.
    needs = tail_move.space_needed_in(str(tmp_path), document.plan_layout_save())
    with pytest.raises(SaveError) as caught:
        document.save()
    assert f"it needs {needs:,} bytes (3 for the growth" in str(caught.value)
    assert "and 12,288 are free; nothing was changed" in str(caught.value)
    assert path.read_bytes() == content and document.modified
    # The copy and rename needs the whole new file.
    monkeypatch.setattr(tail_move, "prefer_in_place", lambda *_args: False)
    with pytest.raises(SaveError) as caught:
        document.save()
    assert "saving needs 50,003 bytes and 12,288 are free" in str(caught.value)
    assert path.read_bytes() == content and document.modified
    monkeypatch.undo()
    document.save()
    assert path.read_bytes() == content[:10] + b"abc" + content[10:]
    document.close()


def test_a_file_replaced_during_a_resized_save_is_not_overwritten(tmp_path: Path) -> None:
    from mmhex.core.save import FileChangedOnDiskError

    path = tmp_path / "f.bin"
    path.write_bytes(bytes(10_000))
    document = editing(path)
    document.delete(5, 5)
    job = document.prepare_save()
    other = tmp_path / "other.bin"
    other.write_bytes(b"someone else's")
    os.replace(other, path)
    with pytest.raises(FileChangedOnDiskError):
        job.run(None, None)
    assert path.read_bytes() == b"someone else's"
    assert not list(tmp_path.glob(".*mmhex-tmp"))
    document.close()


def test_a_resized_save_on_a_read_only_file_system_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmhex.core import tail_move
    from mmhex.core.save import SaveError

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a read-only tmpfs")
    import subprocess

    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        (mount / "f.bin").write_bytes(bytes(100))
        document = editing(mount / "f.bin")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        document.insert(0, b"x")
        with pytest.raises(SaveError) as caught:
            document.save()  # in place (the default)
        assert "f.bin is on a read-only file system" in str(caught.value)
        assert (mount / "f.bin").read_bytes() == bytes(100)
        monkeypatch.setattr(tail_move, "prefer_in_place", lambda *_args: False)
        with pytest.raises(SaveError) as caught:
            document.save()  # the copy and rename
        assert "the file system is read-only" in str(caught.value)
        assert (mount / "f.bin").read_bytes() == bytes(100)
        document.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_big_paste_over_the_file_saves_in_place_through_the_journal(tmp_path: Path) -> None:
    """A paste longer than INLINE_OVERWRITE is a piece, but moves nothing: the save stays the
    journaled MAP_SHARED one (same inode, only the changed pages written)."""
    from mmhex.core.document import INLINE_OVERWRITE

    path = tmp_path / "f.bin"
    content = random.Random(9).randbytes(4 * INLINE_OVERWRITE)
    path.write_bytes(content)
    inode = path.stat().st_ino
    document = editing(path)
    paste = b"\x77" * (2 * INLINE_OVERWRITE)
    assert isinstance(document.write(1000, paste), Splice)
    assert document.layout_changed
    result = document.save()
    assert result.journal_bytes > 0  # the journaled in-place save, not a copy
    assert path.stat().st_ino == inode
    assert path.read_bytes() == content[:1000] + paste + content[1000 + len(paste) :]
    assert not document.modified and not document.layout_changed
    document.close()


def test_file_span_names_the_pages_behind_the_view(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(4 * PAGE))
    document = editing(path)
    assert document.file_span(100, 200) == (100, 200)  # unedited: the same offsets
    document.insert(0, b"x" * PAGE)
    document.delete(2 * PAGE, PAGE)  # file bytes [PAGE, 2 * PAGE) gone
    assert document.file_span(0, PAGE) is None  # inserted bytes: anonymous memory
    assert document.file_span(PAGE - 10, PAGE + 10) == (0, 10)
    assert document.file_span(2 * PAGE - 5, 2 * PAGE + 5) == (PAGE - 5, 2 * PAGE + 5)
    document.close()


def test_enospc_during_a_growing_save_leaves_the_file_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real 1 MiB tmpfs, the copy and rename: refused up front with the exact figures; and
    when the check is bypassed, the copy meets ENOSPC half way, the file is untouched and no
    copy is left. In place (the default) the same save fits: it needs only the growth and its
    journal, and keeps the inode."""
    import subprocess

    from mmhex.core import layout_save, tail_move
    from mmhex.core.save import SaveError

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        path = mount / "f.bin"
        content = random.Random(6).randbytes(700 * 1024)
        path.write_bytes(content)
        document = editing(path)
        document.insert(10, b"grow")
        monkeypatch.setattr(tail_move, "prefer_in_place", lambda *_args: False)
        with pytest.raises(SaveError) as caught:
            document.save()
        assert "saving needs 716,804 bytes" in str(caught.value)
        monkeypatch.setattr(layout_save, "free_space_problem", lambda _folder, _needed: None)
        with pytest.raises(SaveError) as caught:
            document.save()
        assert caught.value.errno == errno.ENOSPC
        assert path.read_bytes() == content
        assert sorted(p.name for p in mount.iterdir()) == ["f.bin"]
        assert document.modified
        monkeypatch.undo()
        inode = path.stat().st_ino
        document.save()
        assert path.read_bytes() == content[:10] + b"grow" + content[10:]
        assert path.stat().st_ino == inode
        assert sorted(p.name for p in mount.iterdir()) == ["f.bin"]
        document.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_resized_save_of_a_file_with_a_255_byte_name(tmp_path: Path) -> None:
    """The copy-and-rename save names its temporary file within NAME_MAX, as Save As does."""
    path = tmp_path / ("n" * 255)
    original = bytes(range(256)) * 20
    path.write_bytes(original)
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(7, b"inserted")  # unaligned: no fallocate shift, the layout is rewritten
    document.save()
    document.mapped.close()
    assert path.read_bytes() == original[:7] + b"inserted" + original[7:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n" * 255]


def test_typing_undone_past_a_save_and_redone_is_clean_again(tmp_path: Path) -> None:
    """INS typing is an insert then an overwrite of the new byte; undoing it after the save
    overwrites a byte of the saved file, which the redo then removes from view again."""
    path = tmp_path / "t.bin"
    base = bytes(range(256)) * 4
    path.write_bytes(base)
    document = editing(path)
    steps = [document.insert(4, b"\xa0"), document.write(4, b"\xab")]
    saved = base[:4] + b"\xab" + base[4:]
    document.save(history=steps)
    assert path.read_bytes() == saved
    for step in reversed(steps):
        document.revert(step)
    assert document.read(0, 2000) == base and document.modified
    for step in steps:
        document.apply(step)
    assert document.read(0, 2000) == saved
    assert document.back_at_saved_state() and not document.modified
    assert document.read(0, 2000) == saved
    for step in reversed(steps):
        document.revert(step)
    document.save(history=steps)
    assert path.read_bytes() == base
    document.close()


@pytest.mark.parametrize("in_place, keep_old_above", [(False, 0), (False, 1 << 20), (True, 0)])
def test_old_files_kept_for_the_history_are_bounded_and_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool, keep_old_above: int
) -> None:
    """A save copies only the old bytes the history needs, never the file; past a size a
    copy-and-rename save keeps the old inode open instead (one per save at most) until the
    history lets go of it."""
    monkeypatch.setattr(document_module, "KEEP_OLD_FILE", keep_old_above)
    path = tmp_path / "r.bin"
    base = random.Random(9).randbytes(64 * PAGE)
    path.write_bytes(base)
    document = editing(path)
    model = bytearray(base)
    steps = []
    fds_before = len(os.listdir("/proc/self/fd"))
    with (
        mock.patch.object(shift_save, "shift_of", lambda *a: None),
        mock.patch.object(tail_move, "prefer_in_place", lambda *a: in_place),
    ):
        for k in range(20):
            at = (k * 7919) % (len(model) - 100)
            steps.append(document.delete(at, 10))
            del model[at : at + 10]
            before = document.add.used
            document.save(history=steps)
            copied = document.add.used - before
            assert path.read_bytes() == model
            if in_place or keep_old_above:
                assert document.retired_files == 0
                # Only the deleted ranges the history needs, never the file.
                assert copied <= 10 * (k + 1)
            else:
                assert copied == 0
                assert document.retired_files == k + 1
        assert len(os.listdir("/proc/self/fd")) <= fds_before + 4 * 20
        while steps:
            document.revert(steps.pop())
        assert document.read(0, len(base) + 1) == base
        document.release_history([])
        assert document.retired_files == 0 or document.layout_changed
        document.save(history=[])
        assert path.read_bytes() == base
        assert document.retired_files == 0
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 2
    with open(path, "ab") as other:  # another program, after all those saves
        other.write(b"more")
    change = document.check_outside_change()
    assert change is not None and "grew" in change.message
    document.close()


@pytest.mark.parametrize("in_place", [False, True])
def test_history_copy_bytes_is_what_an_in_place_save_must_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    """The figure Save asks about: the deleted bytes an undo needs back, if the save may
    overwrite them; a copy-and-rename save keeps the old file open instead past a size."""
    monkeypatch.setattr(document_module, "KEEP_OLD_FILE", 100)
    monkeypatch.setattr(tail_move, "prefer_in_place", lambda *a: in_place)
    path = tmp_path / "c.bin"
    path.write_bytes(bytes(range(256)) * 40)
    document = editing(path)
    steps = [document.delete(1000, 300), document.insert(0, b"xyz")]
    assert document.history_copy_bytes([]) == 0  # no history: nothing to keep
    assert document.history_copy_bytes(steps) == (300 if in_place else 0)
    document.close()


@pytest.mark.parametrize("in_place", [False, True])
def test_an_inserted_byte_changed_after_the_save_is_found_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    """Found by the state machine: the saved inserted byte is the new file's byte now. Undo
    of an overwrite after the save changes it there; redoing the insert must show that, not
    the add-buffer's stale copy."""
    monkeypatch.setattr(document_module, "KEEP_OLD_FILE", 0)
    monkeypatch.setattr(shift_save, "shift_of", lambda *a: None)
    monkeypatch.setattr(tail_move, "prefer_in_place", lambda *a: in_place)
    path = tmp_path / "a.bin"
    base = bytes(range(1, 200))
    path.write_bytes(base)
    document = editing(path)
    steps = [document.insert(0, b"\x00"), document.write(0, b"\x01")]
    document.save(history=steps)
    assert path.read_bytes() == b"\x01" + base
    document.revert(steps[1])
    document.revert(steps[0])
    assert document.read(0, 500) == base
    document.apply(steps[0])
    assert document.read(0, 500) == b"\x00" + base
    document.apply(steps[1])
    assert document.read(0, 500) == b"\x01" + base
    assert document.back_at_saved_state()
    document.close()


def test_a_fill_undone_past_the_save_and_redone_compares_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fill piece is not mapped (it never changes): back at the saved step its bytes are
    compared with the file's, up to CLEAN_CHECK_LIMIT; past it the document stays unsaved."""
    path = tmp_path / "f.bin"
    base = bytes(range(256)) * 300
    path.write_bytes(base)
    document = editing(path)
    steps = [document.insert_fill(1000, 70_000, b"\xab\xcd")]
    saved = base[:1000] + b"\xab\xcd" * 35_000 + base[1000:]
    document.save(history=steps)
    document.revert(steps[0])
    document.apply(steps[0])
    assert document.modified and document.layout_changed  # a fill piece over the file
    monkeypatch.setattr(document_module, "CLEAN_CHECK_LIMIT", 69_999)
    assert not document.back_at_saved_state() and document.modified
    monkeypatch.setattr(document_module, "CLEAN_CHECK_LIMIT", 70_000)
    assert document.back_at_saved_state() and not document.modified
    assert document.read(0, len(saved) + 1) == saved
    assert document.dirty_ranges() == []
    document.close()


def test_an_overwrite_of_filled_bytes_undoes_and_redoes_exactly(tmp_path: Path) -> None:
    """Found by the state machine: resize, overwrite the fill, truncate, undo/redo/undo.

    The overwrite gave the fill's byte a home in the add-buffer; redone, it made a second home,
    while the truncate's history still named the first, which the undo had rewritten to 0xee.
    """
    path = tmp_path / "f.bin"
    path.write_bytes(b"")
    document = editing(path)
    steps = [document.resize(1, b"\xee"), document.fill(0, 1, b"\x00"), document.resize(0)]
    states = [b"", b"\xee", b"\x00", b""]
    for _ in range(2):
        for index in (2, 1, 0):
            document.revert(steps[index])
            assert document.read(0, 8) == states[index]
        for index in (0, 1, 2):
            document.apply(steps[index])
            assert document.read(0, 8) == states[index + 1]
    document.revert(steps[2])
    assert document.read(0, 8) == b"\x00"


def test_a_resized_save_says_what_it_wrote_and_what_it_moved(tmp_path: Path) -> None:
    """Not "Saved 3,004 changed bytes" for four typed bytes: the new ones, then the moved."""
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 12)
    document = editing(path)
    document.insert(0, b"\xde\xad\xbe\xef")
    result = document.save()
    assert path.read_bytes() == b"\xde\xad\xbe\xef" + bytes(range(256)) * 12
    assert result.moved_bytes == 3072
    assert result.message == (
        f"Saved {path}: 4 new bytes written, 3,072 of the file's bytes moved to their new place."
    )
