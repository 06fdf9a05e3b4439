"""`mmhex [options] [FILE[:OFFSET]]` argument handling, without starting the window."""

from __future__ import annotations

import pytest

from mmhex.cli import parse_gui_args, split_path_offset


def test_plain_file_and_no_file():
    assert parse_gui_args([]).path is None
    request = parse_gui_args(["some.bin"])
    assert (request.path, request.offset, request.readonly, request.edit) == (
        "some.bin",
        None,
        False,
        False,
    )


def test_file_colon_offset(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"x")
    assert split_path_offset(f"{target}:0x1F400") == (str(target), "0x1F400")
    # A file whose name really contains the colon wins over the split.
    odd = tmp_path / "odd:0x10"
    odd.write_bytes(b"x")
    assert split_path_offset(str(odd)) == (str(odd), None)
    # A suffix that is no expression stays part of the name.
    assert split_path_offset("c:notanumber!") == ("c:notanumber!", None)


def test_offset_option_and_modes():
    request = parse_gui_args(["--offset", "end-0x100", "--readonly", "f"])
    assert request.offset == "end-0x100" and request.readonly
    assert parse_gui_args(["--edit", "f"]).edit


def test_bad_offset_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        parse_gui_args(["--offset", "0xZZ", "f"])
    assert info.value.code == 2
    assert "--offset" in capsys.readouterr().err


def test_readonly_and_edit_are_exclusive():
    with pytest.raises(SystemExit):
        parse_gui_args(["--readonly", "--edit", "f"])
