"""`mmhex [options] [FILE[:OFFSET]]` argument handling, without starting the window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex import cli
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


def test_headless_commands_end_without_the_interpreter_teardown(tmp_path):
    """cli.launch ends `--version` and the subcommands with os._exit once their output is
    flushed (the teardown is 3 ms of a 70 ms `find --count`): an atexit hook never runs, and
    the output and exit status are still whole."""
    root = Path(__file__).resolve().parents[2]
    data = tmp_path / "data.bin"
    data.write_bytes(b"xyAxyA" * 50_000)
    child = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('teardown ran', file=sys.stderr))\n"
        "sys.argv = ['mmhex', *sys.argv[1:]]\n"
        "from mmhex.cli import launch\n"
        "launch()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    for argv, out, status in (
        (["--version"], None, 0),
        (["find", "--count", str(data), "A"], b"100000\n", 0),
        (["find", "--count", str(data), "Q"], b"0\n", 1),
        (["find", str(data), "yA"], b"".join(b"%d\n" % (3 * i + 1) for i in range(100_000)), 0),
    ):
        done = subprocess.run(
            [sys.executable, "-c", child, *argv], capture_output=True, env=env, timeout=60
        )
        assert done.returncode == status, done.stderr
        assert b"teardown ran" not in done.stderr
        if out is not None:
            assert done.stdout == out
    assert cli.is_headless(["--version"]) and cli.is_headless(["dump", "x"])
    assert not cli.is_headless([]) and not cli.is_headless(["some-file.bin"])
