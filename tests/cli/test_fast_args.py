"""The argparse-free parser of the hot commands agrees with argparse, and the hot paths import
neither argparse nor the other modules that cost the command line its start-up (issue 10)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mmhex import cli
from mmhex.commands import _fast_args, dump, find

ROOT = Path(cli.__file__).resolve().parent.parent


def argparse_result(module: object, name: str, argv: list[str]) -> dict | None:
    """What argparse gives (as a dict), or None where it refuses the list."""
    parser = cli.new_parser(prog=f"mmhex {name}", description=module.HELP)
    module.add_arguments(parser)
    try:
        return vars(parser.parse_args(argv))
    except SystemExit:
        return None


# Argument lists the fast parser must answer itself (the everyday shapes).
DUMP_FAST = [
    ["f"],
    [],
    ["-"],
    ["-n", "16", "f"],
    ["f", "-n", "16"],
    ["-s", "0x10", "-n", "32", "f"],
    ["--skip=16", "f"],
    ["--length", "0X1F", "f"],
    ["-n", "010", "f"],
    ["-s", "1", "-s", "2", "f"],
    ["--format", "canonical", "f"],
    ["--format=xxd", "-n", "0", "f"],
    ["--pid", "123"],
    ["--pid", " 12 ", "-s", "4096"],
    ["", "-n", "1"],
    ["--pid=-3"],
]
# Lists the fast parser must hand to argparse (which accepts some and refuses others).
DUMP_FALLBACK = [
    ["-n16", "f"],
    ["--len", "16", "f"],
    ["-n", "4k", "f"],
    ["-n", "0x100*3", "f"],
    ["-n", "-5", "f"],
    ["-n", "0x", "f"],
    ["-n", "1_0", "f"],
    ["-n", "\u0663", "f"],
    ["--format", "bogus", "f"],
    ["--format=", "f"],
    ["-h"],
    ["--help"],
    ["f", "g"],
    ["--", "f"],
    ["-n"],
    ["-x", "f"],
    ["--pid", "x"],
    ["-s", "-1", "f"],
    ["-f"],
]
FIND_FAST = [
    ["f", "p"],
    ["--count", "f", "p"],
    ["f", "p", "--count"],
    ["f", "--count", "p"],
    ["--hex", "f", "DE AD ?? EF"],
    ["--regex", "-i", "f", "a.c"],
    ["--text", "--encoding", "utf-16-le", "f", "p"],
    ["--encoding=latin-1", "--ignore-case", "f", "p"],
    ["--count", "--count", "f", "p"],
    ["f", ""],
]
FIND_FALLBACK = [
    ["--hex", "--regex", "f", "p"],
    ["--hex", "--hex", "f", "p"],
    ["f"],
    ["f", "p", "q"],
    ["f", "-p"],
    ["f", "-5"],
    ["--max-match", "100", "--regex", "f", "a+"],
    ["--regex-time-limit=0", "--regex", "f", "a+"],
    ["--encoding", "ebcdic", "f", "p"],
    ["--count=1", "f", "p"],
    ["--cou", "f", "p"],
    ["-ic", "f", "p"],
    ["--help"],
    ["--", "f", "p"],
]


@pytest.mark.parametrize(
    ("module", "name", "fast", "fallback"),
    [
        (dump, "dump", DUMP_FAST, DUMP_FALLBACK),
        (find, "find", FIND_FAST, FIND_FALLBACK),
    ],
)
def test_fast_parser_agrees_with_argparse(module, name, fast, fallback, capsys):
    for argv in fast + fallback:
        ours = _fast_args.parse(module.FAST_ARGS, argv)
        theirs = argparse_result(module, name, argv)
        if argv in fast:
            assert ours is not None, argv
            assert theirs is not None, argv
            assert vars(ours) == theirs, argv
        else:
            assert ours is None, (argv, ours)
    capsys.readouterr()  # argparse's messages for the refused lists


def test_cli_uses_fast_args_and_argparse_for_the_rest():
    assert type(cli.parse_command_args(dump, "dump", ["-n", "16", "f"])) is _fast_args.Args
    parsed = cli.parse_command_args(dump, "dump", ["-n", "4k", "f"])
    assert type(parsed) is not _fast_args.Args
    assert parsed.length == 4096


def test_args_behaves_like_a_namespace():
    args = _fast_args.Args(a=1, b="x")
    assert args.a == 1 and "b" in args and "c" not in args
    assert args == _fast_args.Args(b="x", a=1)
    assert args != _fast_args.Args(a=2, b="x")
    assert repr(args) == "Args(a=1, b='x')"


# Modules that cost a headless command its start-up (import time measured with -X importtime
# on the installed wheel: argparse 5 ms with re, gettext and locale; enum 2.5 ms; ctypes 1.5 ms;
# threading and collections 2 ms; dataclasses with inspect 5 ms), against 7 ms for python -c pass.
HEAVY = {
    "argparse",
    "re",
    "enum",
    "ctypes",
    "dataclasses",
    "inspect",
    "typing",
    "threading",
    "collections",
    "functools",
    "contextlib",
    "locale",
    "gettext",
    "importlib.util",
}

_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
sys.path.append(sys.argv[2])  # site-packages (StringZilla), without running its .pth files
before = set(sys.modules)
sys.argv = ["mmhex", *sys.argv[3:]]
from mmhex.cli import main
status = main()
loaded = set(sys.modules) - before
sys.stdout.flush()
print(repr([status, sorted(before), sorted(loaded)]), file=sys.stderr)
"""


def imported_by(argv: list[str]) -> tuple[str, set[str], set[str]]:
    """Output, modules loaded before mmhex, and modules mmhex loaded, in a child without site
    (the test environment's .pth files import re and enum before anything runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-S", "-c", _CHILD, str(ROOT), sysconfig.get_paths()["purelib"], *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    status, before, loaded = ast.literal_eval(done.stderr.strip().splitlines()[-1])
    assert status == 0, done.stderr
    return done.stdout, set(before), set(loaded)


@pytest.mark.parametrize(
    ("argv", "reference"),
    [
        (["--version"], None),
        (["dump", "-n", "16", "FILE"], ["xxd", "-l", "16", "FILE"]),
        (
            ["dump", "-s", "0x10", "-n", "40", "--format", "canonical", "FILE"],
            ["hexdump", "-C", "-v", "-s", "16", "-n", "40", "FILE"],
        ),
    ],
)
def test_hot_commands_import_nothing_heavy(tmp_path, argv, reference):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4)
    argv = [str(path) if a == "FILE" else a for a in argv]
    out, before, loaded = imported_by(argv)
    assert not HEAVY & before  # the child starts bare: the check below can fail
    assert not HEAVY & loaded, sorted(HEAVY & loaded)
    if reference is None:
        assert out == f"mmhex {cli.__version__}\n"
    else:
        tool = [str(path) if a == "FILE" else a for a in reference]
        expected = subprocess.run(tool, capture_output=True, text=True, check=True).stdout
        assert out == expected
    # The slow path still works, and imports argparse (so the check above means something).
    out, _before, loaded = imported_by(["dump", "-n", "4k", str(path)])
    assert "argparse" in loaded
    assert (
        out
        == subprocess.run(["xxd", "-l", "4096", str(path)], capture_output=True, text=True).stdout
    )


def test_find_count_imports_no_argparse_dataclasses_typing_or_platform(tmp_path):
    """find needs enum and ctypes (leases, the fault guard); not these. A literal is counted by
    StringZilla and needs no ``re`` either (1.5 ms of a 70 ms count); a regex does."""
    data = b"xxabcabcab--abc" * 1000
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    out, before, loaded = imported_by(["find", "--count", str(path), "abcab"])
    avoidable = {"argparse", "dataclasses", "inspect", "typing", "platform", "locale", "gettext"}
    assert not (avoidable | {"re"}) & before
    assert not (avoidable | {"re"}) & loaded, sorted((avoidable | {"re"}) & loaded)
    assert out == f"{sum(data.startswith(b'abcab', i) for i in range(len(data)))}\n"
    out, _before, loaded = imported_by(["find", "--count", "--regex", str(path), "ab+c"])
    assert "re" in loaded and "argparse" not in loaded  # (Hyperscan's wheel imports typing)
    assert out == f"{data.count(b'abc')}\n"


def test_the_installed_command_script_imports_nothing_heavy(tmp_path):
    """packaging/bin/mmhex is what pip installs as the mmhex command (setuptools script-files):
    unlike pip's entry-point wrapper it must not import re before mmhex runs."""
    script = ROOT / "packaging" / "bin" / "mmhex"
    assert script.read_text().startswith("#!python\n")  # pip rewrites it to the venv's python
    assert 'script-files = ["packaging/bin/mmhex"]' in (ROOT / "pyproject.toml").read_text()
    child = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import os\n"
        "os._exit = sys.exit  # cli.launch ends headless commands with os._exit: see it end\n"
        "before = set(sys.modules)\n"
        f"sys.argv = [{str(script)!r}, '--version']\n"
        f"code = compile(open({str(script)!r}).read(), 'mmhex', 'exec')\n"
        "try:\n"
        "    exec(code, {'__name__': '__main__'})\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "sys.stdout.flush()\n"
        "print(repr([status, sorted(set(sys.modules) - before)]), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-S", "-c", child], capture_output=True, text=True, env=env, timeout=60
    )
    status, loaded = ast.literal_eval(done.stderr.strip().splitlines()[-1])
    assert status == 0 and done.stdout == f"mmhex {cli.__version__}\n"
    assert not HEAVY & set(loaded), sorted(HEAVY & set(loaded))
