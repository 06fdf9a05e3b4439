"""`mmhex patch` and `mmhex recover` run as a user would, checked against a bytearray model."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.core import save
from mmhex.core.journal import JOURNAL_SUFFIX, has_journal, journal_path
from mmhex.core.journal_place import legacy_journal_path
from tests.save_support import save_killed_at

ROOT = Path(__file__).resolve().parents[2]
PAGE = 4096


def mmhex(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmhex", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "target.bin"
    path.write_bytes(random.Random(11).randbytes(3 * PAGE))
    return path


def state(path: Path) -> tuple[bytes, int]:
    return hashlib.sha256(path.read_bytes()).digest(), os.stat(path).st_mtime_ns


def patched(content: bytes, patches: list[tuple[int, bytes]]) -> bytes:
    model = bytearray(content)
    for offset, data in patches:
        model[offset : offset + len(data)] = data
    return bytes(model)


def test_patch_one_offset_with_hex_bytes(target: Path) -> None:
    old = target.read_bytes()
    result = mmhex("patch", str(target), "0x10", "deadBEEF")
    assert result.returncode == 0, result.stderr
    assert "applied 1 patch; 4 bytes written in 1 range" in result.stdout
    assert target.read_bytes() == patched(old, [(0x10, b"\xde\xad\xbe\xef")])
    assert not has_journal(str(target))


def test_patch_accepts_decimal_offsets_and_spaced_bytes(target: Path) -> None:
    old = target.read_bytes()
    last = len(old) - 3
    result = mmhex("patch", str(target), str(last), "01", "02 03")
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == patched(old, [(last, b"\x01\x02\x03")])


def test_patch_from_file_applies_in_order_and_later_wins(target: Path, tmp_path: Path) -> None:
    old = target.read_bytes()
    patch_file = tmp_path / "changes.txt"
    patch_file.write_text(
        "# header comment\n"
        "\n"
        "0x100 aabbccdd\n"
        "258   11 22      # overlaps the line above: later wins\n"
        "   0x2000 ff\n"
        "8190 0102030405\n"
    )
    result = mmhex("patch", str(target), "--from", str(patch_file))
    assert result.returncode == 0, result.stderr
    expected = patched(
        old,
        [
            (0x100, b"\xaa\xbb\xcc\xdd"),
            (258, b"\x11\x22"),
            (0x2000, b"\xff"),
            (8190, b"\x01\x02\x03\x04\x05"),
        ],
    )
    assert target.read_bytes() == expected
    assert "applied 4 patches" in result.stdout


def test_patch_from_standard_input(target: Path) -> None:
    old = target.read_bytes()
    result = mmhex("patch", str(target), "--from", "-", stdin="5 6162\n")
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == patched(old, [(5, b"ab")])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0x10", "abc"], "odd number of hex digits"),
        (["0x10", "zz"], "'z' is not a hex digit"),
        (["0x10", "0xdead"], "'x' is not a hex digit"),
        (["12abc", "00"], "'12abc' is not an offset"),
        (["0x3000", "00"], "offset 0x3000 is past the end of the file (12,288 bytes)"),
        (["0x2fff", "0000"], "2 bytes at 0x2fff would run past the end"),
        (["0x10"], "give OFFSET and HEXBYTES"),
        ([], "give OFFSET and HEXBYTES"),
    ],
)
def test_bad_patches_leave_the_file_untouched(target: Path, args: list[str], message: str) -> None:
    before = state(target)
    result = mmhex("patch", str(target), *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stderr.startswith("mmhex patch: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert state(target) == before
    assert not has_journal(str(target))


def test_one_bad_line_stops_the_whole_patch_file(target: Path, tmp_path: Path) -> None:
    before = state(target)
    patch_file = tmp_path / "changes.txt"
    patch_file.write_text("0 00\n1 01\n\n0x10 0g\n")
    result = mmhex("patch", str(target), "--from", str(patch_file))
    assert result.returncode != 0
    assert f"{patch_file}, line 4: 'g' is not a hex digit" in result.stderr
    assert state(target) == before


def test_a_line_past_the_end_is_named(target: Path, tmp_path: Path) -> None:
    before = state(target)
    patch_file = tmp_path / "changes.txt"
    patch_file.write_text("0 00\n99999 01\n")
    result = mmhex("patch", str(target), "--from", str(patch_file))
    assert result.returncode != 0
    assert "line 2: offset 0x1869f is past the end" in result.stderr
    assert state(target) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.bin", "does not exist"), (".", "directory")],
)
def test_patch_on_what_is_not_a_file(tmp_path: Path, name: str, message: str) -> None:
    result = mmhex("patch", str(tmp_path / name), "0", "00")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_patch_reports_a_missing_patch_file(target: Path, tmp_path: Path) -> None:
    result = mmhex("patch", str(target), "--from", str(tmp_path / "nope.txt"))
    assert result.returncode != 0
    assert "does not exist" in result.stderr


def test_patch_with_the_same_bytes_changes_nothing(target: Path) -> None:
    before = state(target)
    current = target.read_bytes()[7:9].hex()
    result = mmhex("patch", str(target), "7", current)
    assert result.returncode == 0
    assert "unchanged" in result.stdout
    assert state(target) == before


def test_patch_and_recover_run_without_qt(target: Path) -> None:
    """The headless commands must work where PySide6 cannot even be imported."""
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None\n"
        "from mmhex.cli import main\n"
        f"status = main(['patch', {str(target)!r}, '0', 'cafe'])\n"
        f"status += main(['recover', {str(target)!r}])\n"
        "assert not any(name.startswith('PySide6') and sys.modules[name] for name in sys.modules)\n"
        "sys.exit(status)\n"
    )
    old = target.read_bytes()
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == patched(old, [(0, b"\xca\xfe")])


# --------------------------------------------------------------------------- recover
def test_recover_rolls_back_a_half_written_save(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(save, "MAX_SPAN_LENGTH", PAGE)  # one msync per edited page
    old = target.read_bytes()
    save_killed_at(target, [(1, b"xx"), (2 * PAGE + 5, b"yy")], at="span-0-msynced")
    assert target.read_bytes() != old
    result = mmhex("recover", str(target))
    assert result.returncode == 0, result.stderr
    assert "rolled back" in result.stdout
    assert "4 bytes restored in 2 ranges" in result.stdout
    assert target.read_bytes() == old
    assert not has_journal(str(target))


def test_recover_keeps_a_finished_save(target: Path) -> None:
    old = target.read_bytes()
    save_killed_at(target, [(1, b"xx")], at="journal-complete")
    result = mmhex("recover", str(target))
    assert result.returncode == 0
    assert "keeps the new contents" in result.stdout
    assert target.read_bytes() == patched(old, [(1, b"xx")])


def test_recover_removes_a_torn_journal(target: Path) -> None:
    before = state(target)
    save_killed_at(target, [(1, b"xx")], at="journal-ranges-written")
    result = mmhex("recover", str(target))
    assert result.returncode == 0
    assert "before the file was touched; the file is unchanged" in result.stdout
    assert state(target) == before
    assert not has_journal(str(target))


def test_recover_with_nothing_to_do(target: Path) -> None:
    result = mmhex("recover", str(target))
    assert result.returncode == 0
    assert "no interrupted save" in result.stdout


def test_recover_missing_file(tmp_path: Path) -> None:
    result = mmhex("recover", str(tmp_path / "gone.bin"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr


@pytest.mark.parametrize("named", ["by-inode", "by-old-name"])
def test_recover_refuses_a_journal_for_a_replaced_file(
    named: str, target: Path, tmp_path: Path
) -> None:
    """A journal belongs to the file's device and inode: a file put in its place later is
    another file. Its journal (by inode) is not even found; one of an earlier version (named
    after the path) is found, checked against the inode it records, and refused."""
    save_killed_at(target, [(1, b"xx")], at="span-0-copied")
    jpath = Path(journal_path(str(target)))
    if named == "by-old-name":
        jpath = jpath.rename(legacy_journal_path(str(target), JOURNAL_SUFFIX))
    replacement = tmp_path / "other.bin"
    replacement.write_bytes(b"\x00" * (3 * PAGE))
    os.replace(replacement, target)
    result = mmhex("recover", str(target))
    if named == "by-old-name":
        assert result.returncode == 1
        assert "different file" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert "no interrupted save" in result.stdout
    assert target.read_bytes() == b"\x00" * (3 * PAGE)
    assert jpath.exists(), "the other file's journal is evidence: keep it"


def test_patch_recovers_an_interrupted_save_first(target: Path) -> None:
    old = target.read_bytes()
    save_killed_at(target, [(100, b"half")], at="span-0-msynced")
    result = mmhex("patch", str(target), "0", "ff")
    assert result.returncode == 0, result.stderr
    assert "rolled back" in result.stderr
    assert target.read_bytes() == patched(old, [(0, b"\xff")])


def test_concurrent_patch_processes_and_recover_leave_one_complete_version(
    tmp_path: Path,
) -> None:
    """The command-line side of the save lock: two `mmhex patch` processes rewrite the whole file
    at once while `mmhex recover` runs; each round ends with one complete version (cmp)."""
    rounds = int(os.environ.get("MMHEX_CLI_STRESS_ROUNDS", "8"))
    path = tmp_path / "shared.bin"
    original = random.Random(0).randbytes(4 * PAGE)
    versions = {}
    scripts = {}
    for name, seed in (("A", 1), ("B", 2)):
        versions[name] = tmp_path / f"{name}.version"
        content = random.Random(seed).randbytes(4 * PAGE)
        versions[name].write_bytes(content)
        scripts[name] = "".join(
            f"{page * PAGE} {content[page * PAGE : (page + 1) * PAGE].hex()}\n" for page in range(4)
        )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for number in range(rounds):
        path.write_bytes(original)
        savers = {
            name: subprocess.Popen(
                [sys.executable, "-m", "mmhex", "patch", str(path), "--from", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for name in ("A", "B")
        }
        recovering = subprocess.Popen(
            [sys.executable, "-m", "mmhex", "recover", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        codes = {
            name: process.communicate(scripts[name], timeout=60) for name, process in savers.items()
        }
        recovered = recovering.communicate(timeout=60)
        assert recovering.returncode == 0, recovered
        assert "rolled back" not in recovered[0]
        same = [
            name
            for name, version in versions.items()
            if subprocess.run(["cmp", "-s", str(path), str(version)], check=False).returncode == 0
        ]
        saved = [name for name, process in savers.items() if process.returncode == 0]
        assert len(same) == 1, (number, codes)
        assert saved and (len(saved) == 2 or saved == same), (number, codes)
        assert not has_journal(str(path))
