"""The rollback journal: format round trip, torn journals, each recovery decision, and what
recovery refuses to trust (journals planted by others, FIFOs, links, damaged or live ones)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mmhex.core import journal as journal_module
from mmhex.core.document import Document
from mmhex.core.journal import (
    JOURNAL_SUFFIX,
    STATUS_OFFSET,
    JournalError,
    JournalProblem,
    JournalWriter,
    RecoveryAction,
    has_journal,
    inspect,
    journal_path,
    read_journal,
    read_trusted,
    recover,
)
from mmhex.core.journal_place import legacy_journal_path
from mmhex.core.mapping import FileIdentity
from tests.save_support import drop_to_nobody, python_for_nobody, save_killed_at

ROOT = Path(__file__).resolve().parents[2]

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
    st = os.stat(path)  # named after the file's device and inode, not its name
    assert writer.path == str(tmp_path / f".mmhex-{st.st_dev:x}-{st.st_ino:x}.mmhex-journal")
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


@pytest.mark.parametrize("named", ["by-inode", "by-old-name"])
def test_journal_of_a_replaced_file_is_not_applied(named: str, tmp_path: Path) -> None:
    path = make_file(tmp_path)
    jpath = Path(write_journal(path).path)
    if named == "by-old-name":  # as versions before the device-and-inode rule named it
        jpath = jpath.rename(legacy_journal_path(str(path), JOURNAL_SUFFIX))
    replacement = tmp_path / "other.bin"
    replacement.write_bytes(b"\x11" * len(OLD))
    os.replace(replacement, path)
    outcome = recover(str(path))
    if named == "by-old-name":
        assert outcome.action is RecoveryAction.FAILED
        assert "different file" in outcome.message
        assert has_journal(str(path)), "the journal is evidence: keep it"
    else:  # the journal is the old inode's: the new file has none
        assert outcome.action is RecoveryAction.NOTHING
    assert path.read_bytes() == b"\x11" * len(OLD)
    assert jpath.exists(), "the journal is evidence: keep it"


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
    jpath.chmod(0o600)  # passes the ownership checks, so the content is what is refused
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


# --------------------------------------------------------------------------- trust (issue 9)
def run_recovery(path: Path, how: str) -> subprocess.CompletedProcess[str]:
    """Recovery in a child with a deadline: a journal that hangs it fails the test, not the run."""
    commands = {
        "recover": [sys.executable, "-m", "mmhex", "recover", str(path)],
        "patch": [sys.executable, "-m", "mmhex", "patch", str(path), "0", "41"],
        "open": [
            sys.executable,
            "-c",
            "import sys; from mmhex.core.document import Document; "
            "d = Document.open(sys.argv[1]); print(d.recovery.message if d.recovery else '')",
            str(path),
        ],
    }
    try:
        return subprocess.run(
            commands[how],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{how}: recovery hung on the journal")


def crafted_journal(target: Path, ranges: list[tuple[int, bytes]], staging: Path) -> bytes:
    """The bytes of a well-formed, checksummed journal claiming ``ranges`` for ``target``."""
    writer = JournalWriter(str(staging / "x"), identity_of(target), lambda _name: None)
    writer.create(len(ranges))
    for offset, data in ranges:
        writer.add(offset, data)
    writer.seal()
    data = Path(writer.path).read_bytes()
    writer.remove()
    return data


def assert_untouched(path: Path, before: os.stat_result, content: bytes) -> None:
    assert path.read_bytes() == content
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


@pytest.mark.skipif(os.geteuid() != 0, reason="planting as another user needs root")
@pytest.mark.parametrize("how", ["recover", "patch", "open"])
def test_a_journal_planted_by_another_user_is_refused(how: str, tmp_path: Path) -> None:
    """In a folder anyone may write (like /tmp), user nobody plants a valid-looking journal for
    root's file: no recovery path may write its bytes into the file or delete it."""
    folder = Path(
        tempfile.mkdtemp(prefix="mmhex-plant-")
    )  # outside the checkout: nobody reaches it
    try:
        folder.chmod(0o1777)
        path = folder / "root-owned.bin"
        path.write_bytes(OLD)
        path.chmod(0o644)
        planted = crafted_journal(path, [(0, b"EVIL" * 16)], tmp_path)
        jpath = journal_path(str(path))
        subprocess.run(
            [
                python_for_nobody(),
                "-c",
                "import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, "
                "0o600); os.write(fd, sys.stdin.buffer.read())",
                jpath,
            ],
            input=planted,
            preexec_fn=drop_to_nobody,
            check=True,
        )
        assert os.stat(jpath).st_uid == 65534
        before = os.stat(path)
        result = run_recovery(path, how)
        assert_untouched(path, before, OLD)
        assert Path(jpath).read_bytes() == planted, "the planted journal is evidence: keep it"
        message = result.stdout + result.stderr
        assert "Traceback" not in message
        assert "not trusted" in message and "nobody" in message and jpath in message
        if how != "open":
            assert result.returncode == 1
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("how", ["recover", "patch", "open"])
@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("fifo", "named pipe"),
        ("dev-zero", "symbolic link"),
        ("link-to-journal", "symbolic link"),
        ("oversized", "larger"),
        ("world-readable", "permissions are 0644"),
        ("hard-linked", "hard links"),
        ("outside-size", "outside the file's recorded size"),
    ],
)
def test_a_journal_that_is_not_ours_is_refused_without_touching_anything(
    kind: str, reason: str, how: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path, OLD[:1000])
    jpath = Path(journal_path(str(path)))
    staging = tmp_path / "staging"
    staging.mkdir()
    if kind == "fifo":
        os.mkfifo(jpath, 0o600)
    elif kind == "dev-zero":
        jpath.symlink_to("/dev/zero")
    elif kind == "link-to-journal":
        real = staging / "real-journal"
        real.write_bytes(crafted_journal(path, [(0, b"\xaa" * 10)], staging))
        real.chmod(0o600)
        jpath.symlink_to(real)
    elif kind in ("oversized", "world-readable", "hard-linked"):
        data = crafted_journal(path, [(0, b"\xaa" * 10)], staging)
        if kind == "oversized":  # a journal for a 1000-byte file is at most ~17 KB
            data += b"\0" * 20_000
        jpath.write_bytes(data)
        jpath.chmod(0o644 if kind == "world-readable" else 0o600)
        if kind == "hard-linked":
            os.link(jpath, staging / "second-name")
    else:  # checksummed, but its range runs past the size it records
        jpath.write_bytes(crafted_journal(path, [(990, b"\xaa" * 100)], staging))
        jpath.chmod(0o600)
    before = os.stat(path)
    jbefore = os.lstat(jpath)
    result = run_recovery(path, how)
    assert_untouched(path, before, OLD[:1000])
    assert os.lstat(jpath).st_ino == jbefore.st_ino, "the journal must be left where it was"
    message = result.stdout + result.stderr
    assert "Traceback" not in message
    assert reason in message and str(jpath) in message
    if how != "open":
        assert result.returncode == 1


def test_read_trusted_never_opens_a_fifo(tmp_path: Path) -> None:
    jpath = tmp_path / "j"
    os.mkfifo(jpath, 0o600)
    with pytest.raises(JournalError, match="named pipe") as info:
        read_trusted(str(jpath))
    assert info.value.problem is JournalProblem.UNTRUSTED


def test_a_damaged_complete_journal_is_kept_and_reported(tmp_path: Path) -> None:
    """Complete length, wrong checksum: it may hold the only copy of the old bytes."""
    path = make_file(tmp_path)
    write_journal(path)
    new = scribble(path)
    jpath = Path(journal_path(str(path)))
    data = bytearray(jpath.read_bytes())
    data[100] ^= 0x01  # inside the first range's original bytes
    jpath.write_bytes(data)
    before = os.stat(path)
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.FAILED
    assert "damaged" in outcome.message and "only copy" in outcome.message
    assert "unchanged" not in outcome.message
    assert jpath.read_bytes() == bytes(data)
    assert_untouched(path, before, new)
    assert inspect(str(path)).action is RecoveryAction.FAILED


def test_a_cut_short_journal_is_removed_only_if_the_file_is_untouched(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    write_journal(path)
    jpath = journal_path(str(path))
    os.truncate(jpath, os.stat(jpath).st_size - 32)  # every range whole, the checksum missing
    new = scribble(path)  # cannot come from our save, which writes the file after sealing
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.FAILED
    assert "no longer holds the original bytes" in outcome.message
    assert has_journal(str(path))
    assert path.read_bytes() == new


def test_a_save_through_a_symlink_is_recovered_through_the_real_path(tmp_path: Path) -> None:
    path = make_file(tmp_path)
    link = tmp_path / "link.bin"
    link.symlink_to(path)
    assert journal_path(str(link)) == journal_path(str(path))
    save_killed_at(link, [(5, b"NEW"), (9000, b"BYTES")], "file-fsynced")
    assert path.read_bytes() != OLD
    assert has_journal(str(path)) and has_journal(str(link))
    outcome = recover(str(path))
    assert outcome.action is RecoveryAction.ROLLED_BACK
    assert path.read_bytes() == OLD
    assert not has_journal(str(link))


@pytest.mark.parametrize("length", [240, 250, 255])
def test_names_up_to_name_max_can_be_saved_and_recovered(length: int, tmp_path: Path) -> None:
    name = "é" * ((length - 4) // 2) + "x" * ((length - 4) % 2) + ".bin"
    assert len(os.fsencode(name)) == length
    path = tmp_path / name
    path.write_bytes(OLD)
    jname = os.path.basename(journal_path(str(path)))
    assert len(os.fsencode(jname)) <= 255
    assert jname != os.path.basename(journal_path(str(tmp_path / ("y" + name[1:]))))
    document = Document.open(str(path))
    document.enable_editing()
    document.write(3, b"abc")
    document.save()
    document.close()
    assert path.read_bytes() == OLD[:3] + b"abc" + OLD[6:]
    save_killed_at(path, [(3, b"xyz")], "file-fsynced")
    assert recover(str(path)).action is RecoveryAction.ROLLED_BACK
    assert path.read_bytes() == OLD[:3] + b"abc" + OLD[6:]
    assert not has_journal(str(path))


def test_recovery_leaves_a_live_save_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While another process holds the save lock, recovery neither rolls back nor deletes."""
    path = make_file(tmp_path)
    write_journal(path)
    new = scribble(path)
    jpath = Path(journal_path(str(path)))
    journal_bytes = jpath.read_bytes()
    monkeypatch.setattr(journal_module, "RECOVERY_LOCK_WAIT", 0.2)
    holder = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        for outcome in (recover(str(path)), inspect(str(path))):
            assert outcome.action is RecoveryAction.BUSY
            assert "another mmhex is saving this file" in outcome.message
            assert not outcome.ok
        assert path.read_bytes() == new
        assert jpath.read_bytes() == journal_bytes
    finally:
        os.close(holder)
    assert recover(str(path)).action is RecoveryAction.ROLLED_BACK
    assert path.read_bytes() == OLD


def test_save_as_to_a_name_of_255_bytes(tmp_path: Path) -> None:
    """The temporary file of Save As is named after the target: it must fit NAME_MAX too."""
    path = make_file(tmp_path)
    target = tmp_path / ("t" * 251 + ".bin")
    document = Document.open(str(path))
    document.enable_editing()
    document.write(0, b"\x01")
    document.save_as(str(target))
    document.close()
    assert target.read_bytes() == b"\x01" + OLD[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["data.bin", target.name])
