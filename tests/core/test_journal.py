"""The rollback journal: format round trip, torn journals, and each recovery decision."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from mmhex.core.journal import (
    STATUS_OFFSET,
    JournalError,
    JournalWriter,
    RecoveryAction,
    has_journal,
    inspect,
    journal_path,
    read_journal,
    recover,
)
from mmhex.core.mapping import FileIdentity

OLD = bytes(range(256)) * 64  # 16 KiB
RANGES = [(10, 5), (4096, 300), (16_000, 384)]


def make_file(tmp_path: Path, content: bytes = OLD) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    return path


def identity_of(path: Path) -> FileIdentity:
    return FileIdentity.from_stat(os.stat(path))


def write_journal(path: Path, *, seal: bool = True) -> JournalWriter:
    """Journal RANGES of ``path`` the way a save does (originals read from the file)."""
    content = path.read_bytes()
    writer = JournalWriter(str(path), identity_of(path), lambda _name: None)
    writer.create(len(RANGES))
    for offset, length in RANGES:
        writer.add(offset, content[offset : offset + length])
    if seal:
        writer.seal()
    return writer


def scribble(path: Path) -> bytes:
    """Overwrite RANGES like a half-finished save; returns the new content."""
    data = bytearray(path.read_bytes())
    for offset, length in RANGES:
        data[offset : offset + length] = b"\xee" * length
    path.write_bytes(data)  # same inode: write_bytes truncates and rewrites in place
    return bytes(data)


def test_journal_lives_beside_the_file_and_is_private(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    old_umask = os.umask(0)
    try:
        writer = write_journal(path)
    finally:
        os.umask(old_umask)
    assert writer.path == str(tmp_path / ".data.bin.mmhex-journal")
    assert journal_path(str(path)) == writer.path
    assert stat.S_IMODE(os.stat(writer.path).st_mode) == 0o600
    assert has_journal(str(path))
    writer.remove()
    assert not has_journal(str(path))


def test_journal_round_trip_holds_offsets_originals_and_identity(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    identity = identity_of(path)
    write_journal(path)
    journal = read_journal(journal_path(str(path)))
    assert journal.identity == identity
    assert [(r.offset, r.original) for r in journal.ranges] == [
        (o, OLD[o : o + n]) for o, n in RANGES
    ]
    assert journal.restored_bytes == sum(n for _, n in RANGES)
    assert not journal.complete


def test_a_second_journal_is_refused(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    with pytest.raises(FileExistsError):
        write_journal(path)


def test_every_cut_short_journal_is_recognised_as_incomplete(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    jpath = journal_path(str(path))
    full = Path(jpath).read_bytes()
    for cut in range(len(full)):  # every possible length a crash could leave
        Path(jpath).write_bytes(full[:cut])
        with pytest.raises(JournalError) as info:
            read_journal(jpath)
        assert info.value.incomplete, cut


def test_a_damaged_byte_fails_the_checksum(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    jpath = journal_path(str(path))
    data = bytearray(Path(jpath).read_bytes())
    data[100] ^= 0x01
    Path(jpath).write_bytes(data)
    with pytest.raises(JournalError, match="checksum"):
        read_journal(jpath)


def test_torn_journal_is_removed_and_the_file_left_alone(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path, seal=False)  # the crash came before the checksum was written
    before = os.stat(path)
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.DISCARDED_INCOMPLETE
    assert "unchanged" in outcome.message
    assert path.read_bytes() == OLD
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert not has_journal(str(path))


def test_pending_journal_rolls_back_to_the_exact_old_bytes(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    assert scribble(path) != OLD
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.ROLLED_BACK
    assert "rolled back" in outcome.message
    assert f"{sum(n for _, n in RANGES):,} bytes" in outcome.message
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(OLD).digest()
    assert not has_journal(str(path))
    assert outcome.ok


def test_complete_journal_keeps_the_new_bytes(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    writer = write_journal(path)
    new = scribble(path)
    writer.mark_complete()
    with open(journal_path(str(path)), "rb") as handle:
        assert handle.read()[STATUS_OFFSET : STATUS_OFFSET + 1] == b"C"
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.KEPT_NEW
    assert "new contents" in outcome.message
    assert path.read_bytes() == new
    assert not has_journal(str(path))


def test_journal_of_a_replaced_file_is_not_applied(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    replacement = tmp_path / "other.bin"
    replacement.write_bytes(b"\x11" * len(OLD))
    os.replace(replacement, path)
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.FAILED
    assert "different file" in outcome.message
    assert path.read_bytes() == b"\x11" * len(OLD)
    assert has_journal(str(path)), "the journal is evidence: keep it"


def test_journal_of_a_resized_file_is_not_applied(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    with open(path, "ab") as handle:
        handle.write(b"more")
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.FAILED
    assert "size changed" in outcome.message
    assert path.read_bytes() == OLD + b"more"


def test_a_foreign_file_with_the_journal_name_is_left_alone(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    jpath = Path(journal_path(str(path)))
    jpath.write_bytes(b"something else entirely, not ours")
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.FAILED
    assert "not an mmhex journal" in outcome.message
    assert jpath.exists()
    assert path.read_bytes() == OLD


def test_no_journal_means_nothing_to_do(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.NOTHING
    assert "no interrupted save" in outcome.message
    assert inspect(str(path)).action is RecoveryAction.NOTHING


def test_inspect_reports_without_changing_anything(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    new = scribble(path)
    outcome = inspect(str(path))
    assert outcome.action is RecoveryAction.PENDING
    assert "mmhex recover" in outcome.message
    assert path.read_bytes() == new
    assert has_journal(str(path))
    assert not outcome.ok


def test_rollback_is_idempotent_after_a_crash_during_recovery(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    scribble(path)
    # a recovery that died half way: some ranges restored, the journal still there
    with open(path, "r+b") as handle:
        handle.seek(RANGES[0][0])
        handle.write(OLD[RANGES[0][0] : RANGES[0][0] + RANGES[0][1]])
    assert recover(str(path)).action is RecoveryAction.ROLLED_BACK
    assert path.read_bytes() == OLD


def test_abandon_removes_a_journal_that_was_being_written(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    writer = write_journal(path, seal=False)
    writer.abandon()
    assert not has_journal(str(path))
