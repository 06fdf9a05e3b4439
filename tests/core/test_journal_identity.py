"""A save's journal belongs to the file's device and inode, not to the name it was saved through.

A save killed mid-way through one hard link must be seen, and rolled back, through every other
name of the file: by `mmhex recover`, by opening it (Document.open, the window's open path) and
by `mmhex patch`, whether the other name is in the same folder (same device-and-inode journal
name) or in another one (the per-user journal index). An index that is not ours is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from mmhex.core import shift_save, tail_move
from mmhex.core.journal import JOURNAL_SUFFIX, has_journal, journal_path
from mmhex.core.journal_place import identity_name, index_folder, legacy_journal_path
from tests.core.test_journal import assert_untouched, run_recovery
from tests.save_support import drop_to_nobody, python_for_nobody, save_killed_at

PAGE = 4096


def _linked_pair(tmp_path: Path, where: str) -> tuple[Path, Path, bytes]:
    first = tmp_path / "one"
    first.mkdir()
    a = first / "data.bin"
    old = os.urandom(8 * PAGE)
    a.write_bytes(old)
    folder = first if where == "same-folder" else tmp_path / "two"
    folder.mkdir(exist_ok=True)
    b = folder / "other-name.bin"
    os.link(a, b)
    return a, b, old


def _leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for f in folders for p in f.iterdir() if p.name.startswith(".mmhex-"))


def _index_entries() -> list[str]:
    folder = Path(index_folder())
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("how", ["recover", "open", "patch"])
@pytest.mark.parametrize("where", ["same-folder", "other-folder"])
def test_a_save_killed_through_one_link_is_rolled_back_through_another(
    how: str, where: str, tmp_path: Path
) -> None:
    a, b, old = _linked_pair(tmp_path, where)
    save_killed_at(a, [(100, b"half"), (5 * PAGE + 7, b"written")], at="span-0-msynced")
    assert a.read_bytes() != old, "the save was killed after writing some of the file"
    st = os.stat(a)
    jname = identity_name(st.st_dev, st.st_ino, JOURNAL_SUFFIX)
    assert _leftovers(a.parent) == [jname]
    assert has_journal(str(b)) and journal_path(str(b)) == str(a.parent / jname)
    result = run_recovery(b, how)
    assert "rolled back" in result.stdout + result.stderr, result.stderr
    expected = b"A" + old[1:] if how == "patch" else old
    assert b.read_bytes() == expected and a.read_bytes() == expected
    assert _leftovers(a.parent, b.parent) == []
    assert not has_journal(str(a)) and not has_journal(str(b))
    if how != "patch":  # (patch's own save of the linked file leaves its entry for reuse)
        assert jname[len(".mmhex-") :] not in _index_entries(), "the index forgets it"


@pytest.mark.parametrize("where", ["same-folder", "other-folder"])
def test_a_tail_move_killed_through_one_link_is_finished_through_another(
    where: str, tmp_path: Path
) -> None:
    """A size-changing save of a hard-linked file moves the tail in place (a rename would cut
    the links): its journal follows the same rule. A move killed once its steps began is
    rolled forward (core/tail_move.py), so the file ends exactly as saved."""
    a, b, old = _linked_pair(tmp_path, where)
    save_killed_at(a, [], at="chunk-written", inserts=[(3, b"inserted")])
    st = os.stat(a)
    assert _leftovers(a.parent) == [identity_name(st.st_dev, st.st_ino, tail_move.MOVE_SUFFIX)]
    assert tail_move.has_move_journal(str(b))
    result = run_recovery(b, "recover")
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    assert b.read_bytes() == old[:3] + b"inserted" + old[3:]
    assert _leftovers(a.parent, b.parent) == []


def test_every_kind_of_journal_is_named_after_the_device_and_inode(tmp_path: Path) -> None:
    a, b, _old = _linked_pair(tmp_path, "same-folder")
    st = os.stat(a)
    for locate, suffix in (
        (journal_path, JOURNAL_SUFFIX),
        (shift_save.shift_journal_path, shift_save.SHIFT_SUFFIX),
        (tail_move.move_journal_path, tail_move.MOVE_SUFFIX),
    ):
        expected = str(a.parent / identity_name(st.st_dev, st.st_ino, suffix))
        assert locate(str(a)) == locate(str(b)) == expected
        link = tmp_path / f"symlink{suffix}"
        link.symlink_to(b)
        assert locate(str(link)) == expected


def test_a_journal_named_by_an_earlier_version_is_still_recovered(tmp_path: Path) -> None:
    a, _b, old = _linked_pair(tmp_path, "same-folder")
    save_killed_at(a, [(9, b"half")], at="span-0-msynced")
    legacy = Path(legacy_journal_path(str(a), JOURNAL_SUFFIX))
    Path(journal_path(str(a))).rename(legacy)
    assert legacy.name == ".data.bin.mmhex-journal" and has_journal(str(a))
    result = run_recovery(a, "recover")
    assert result.returncode == 0, result.stderr
    assert a.read_bytes() == old and not legacy.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="planting as another user needs root")
@pytest.mark.parametrize("how", ["recover", "patch", "open"])
def test_an_index_entry_planted_by_another_user_is_refused(how: str, tmp_path: Path) -> None:
    """The index entry is replaced by one of user nobody's, pointing at the real journal: it is
    not followed, nothing is changed, and the message names the entry and why."""
    a, b, _old = _linked_pair(tmp_path, "other-folder")
    save_killed_at(a, [(100, b"half")], at="span-0-msynced")
    half = a.read_bytes()
    jpath = journal_path(str(a))
    st = os.stat(a)
    entry = Path(index_folder()) / identity_name(st.st_dev, st.st_ino, JOURNAL_SUFFIX)[7:]
    assert entry.read_text() == jpath
    entry.unlink()
    subprocess.run(  # nobody cannot enter our 0700 index: the test lets the entry in
        [python_for_nobody(), "-c", "import sys; sys.stdout.write(sys.argv[1])", jpath],
        stdout=entry.open("w"),
        preexec_fn=drop_to_nobody,
        check=True,
    )
    os.chown(entry, 65534, 65534)
    entry.chmod(0o600)
    before = os.stat(b)
    result = run_recovery(b, how)
    message = result.stdout + result.stderr
    assert "Traceback" not in message
    assert "not trusted" in message and str(entry) in message and "65534" in message
    assert_untouched(b, before, half)
    assert Path(jpath).exists() and entry.exists()
    if how != "open":
        assert result.returncode == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="planting as another user needs root")
def test_an_index_folder_made_by_another_user_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """XDG_STATE_HOME in a folder anyone may write: user nobody made the index folder first and
    put an entry in it. A save neither trusts nor writes that index, and recovery through the
    other name refuses it, naming the folder."""
    shared = Path(tempfile.mkdtemp(prefix="mmhex-state-"))  # outside pytest's private folder
    shared.chmod(0o1777)
    request.addfinalizer(lambda: shutil.rmtree(shared))
    monkeypatch.setenv("XDG_STATE_HOME", str(shared))
    a, b, _old = _linked_pair(tmp_path, "other-folder")
    st = os.stat(a)
    entry_name = identity_name(st.st_dev, st.st_ino, JOURNAL_SUFFIX)[7:]
    subprocess.run(
        [
            python_for_nobody(),
            "-c",
            "import os, sys; os.makedirs(sys.argv[1], 0o700); "
            "fd = os.open(os.path.join(*sys.argv[1:3]), os.O_WRONLY | os.O_CREAT, 0o600); "
            "os.write(fd, sys.argv[3].encode())",
            index_folder(),
            entry_name,
            str(a.parent / identity_name(st.st_dev, st.st_ino, JOURNAL_SUFFIX)),
        ],
        preexec_fn=drop_to_nobody,
        check=True,
    )
    save_killed_at(a, [(100, b"half")], at="span-0-msynced")
    half = a.read_bytes()
    assert (Path(index_folder()) / entry_name).stat().st_uid == 65534
    before = os.stat(b)
    result = run_recovery(b, "recover")
    assert result.returncode == 1
    assert "belongs to uid 65534" in result.stderr and index_folder() in result.stderr
    assert_untouched(b, before, half)
    # Through its own name the journal is found beside the file, without the index.
    assert run_recovery(a, "recover").returncode == 0
    assert a.read_bytes() == _old
    # The foreign index concerns only the files it has entries for: others open as usual.
    other = tmp_path / "other.bin"
    other.write_bytes(b"x" * 100)
    os.link(other, tmp_path / "two" / "other-link.bin")
    result = run_recovery(other, "patch")
    assert result.returncode == 0, result.stderr
    assert other.read_bytes() == b"A" + b"x" * 99
