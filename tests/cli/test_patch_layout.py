"""`mmhex patch --insert/--delete/--resize` and the matching patch-file lines, against a model."""

from __future__ import annotations

import random
from pathlib import Path

from tests.cli.test_patch_recover import mmhex, state


def test_insert_delete_resize_in_command_line_order(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    content = random.Random(2).randbytes(10_000)
    path.write_bytes(content)
    result = mmhex(
        "patch", str(path), "--insert", "0x10", "deadbeef", "--delete", "0", "4",
        "--resize", "9000", "--insert", "9000", "ff",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = bytearray(content)
    model[0x10:0x10] = bytes.fromhex("deadbeef")
    del model[0:4]
    del model[9000:]
    model += b"\xff"
    assert path.read_bytes() == model
    assert "size 10,000 → 9,001 bytes" in result.stdout
    assert not list(tmp_path.glob(".*mmhex-tmp"))


def test_patch_file_lines_mix_overwrites_and_size_changes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 4)
    patch = tmp_path / "p.txt"
    patch.write_text(
        "# comment\n0 aabb\ninsert 2 cc dd\ndelete 0x100 0x100\nresize 2000\n", encoding="utf-8"
    )
    result = mmhex("patch", str(path), "--from", str(patch))
    assert result.returncode == 0, result.stderr
    model = bytearray(bytes(range(256)) * 4)
    model[0:2] = b"\xaa\xbb"
    model[2:2] = b"\xcc\xdd"
    del model[0x100:0x200]
    model += bytes(2000 - len(model))
    assert path.read_bytes() == model


def test_a_bad_operation_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(100))
    before = state(path)
    result = mmhex("patch", str(path), "--insert", "0", "aa", "--delete", "50", "100")
    assert result.returncode == 1
    assert "past the end of the file" in result.stderr and "Nothing was written" in result.stderr
    assert state(path) == before
    result = mmhex("patch", str(path), "--delete", "zz", "1")
    assert result.returncode == 2 and "not an offset" in result.stderr
    patch = tmp_path / "p.txt"
    patch.write_text("delete 1\n", encoding="utf-8")
    result = mmhex("patch", str(path), "--from", str(patch))
    assert result.returncode == 2 and "delete OFFSET LENGTH" in result.stderr
    assert state(path) == before


def test_mmhex_recover_undoes_an_interrupted_shift(tmp_path: Path) -> None:
    """A save killed right after fallocate shifted the tail (before the gap was filled):
    `mmhex recover` collapses the gap again and says so."""
    import pytest

    from mmhex.core import shift_save
    from mmhex.core.document import Document

    path = tmp_path / "f.bin"
    content = random.Random(3).randbytes(32 * 4096)
    path.write_bytes(content)
    document = Document.open(str(path))
    document.enable_editing()
    document.insert(4096, b"\x55" * 4096)
    plan = document.plan_layout_save()
    shift = shift_save.shift_of(plan, 4096)
    assert shift is not None

    class Killed(BaseException):
        pass

    def die_after_shift(step: str) -> None:
        if step == "shifted":
            raise Killed  # as SIGKILL would: nothing after this point runs

    try:
        shift_save.save_shift(str(path), shift, document.read, None, checkpoint=die_after_shift)
    except Killed:
        pass
    except OSError:
        pytest.skip("this file system cannot fallocate(INSERT_RANGE)")
    document.close()
    if path.stat().st_size == len(content):
        pytest.skip("this file system cannot fallocate(INSERT_RANGE)")
    assert shift_save.has_shift_journal(str(path))
    result = mmhex("recover", str(path))
    assert result.returncode == 0, result.stderr
    assert "rolled back" in result.stdout
    assert path.read_bytes() == content
    assert not shift_save.has_shift_journal(str(path))
    again = mmhex("recover", str(path))
    assert again.returncode == 0 and "no interrupted save" in again.stdout
