"""Command-line output that cannot be written, odd inputs, and messages meant for the window.

Every case runs the real command in a subprocess: a full disk (/dev/full), a closed standard
output, a pipe closed early, file names that are not UTF-8, `--from` pointed at devices, FIFOs
and endless input. Each must end with the right exit status and one line that names the side
that failed, never a traceback, and never success claimed for output that was lost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.save_support import drop_to_nobody, python_for_nobody

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}
MMHEX = [sys.executable, "-m", "mmhex"]

COMMANDS = {
    "dump": (["dump", "{file}"], 1),
    "dump -n 16": (["dump", "-n", "16", "{file}"], 1),
    "find": (["find", "{file}", "A"], 2),
    "find --count": (["find", "--count", "{file}", "A"], 2),
    "residency": (["residency", "{file}"], 1),
    "residency --json": (["residency", "--json", "{file}"], 1),
    "dump --help": (["dump", "--help"], 1),
    "--version": (["--version"], 1),
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "input.bin"
    path.write_bytes(b"xxAxxA" * 20_000)
    return path


def run(args: list[str], *, stdout: int | object = subprocess.PIPE, **kwargs: object):
    return subprocess.run(
        MMHEX + args, stdout=stdout, stderr=subprocess.PIPE, env=ENV, timeout=60, **kwargs
    )


def one_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text
    return text


@pytest.mark.parametrize("name", COMMANDS)
def test_a_full_disk_on_standard_output_is_an_output_error(name: str, data: Path) -> None:
    args, status = COMMANDS[name]
    with open("/dev/full", "wb") as full:
        result = run([a.format(file=data) for a in args], stdout=full)
    assert result.returncode == status
    text = one_line(result.stderr)
    assert "cannot write to standard output (the disk is full)" in text
    assert f"{data}: The disk is full" not in text, "the input file is not what failed"


@pytest.mark.parametrize("name", COMMANDS)
def test_a_closed_standard_output_is_an_output_error(name: str, data: Path) -> None:
    args, status = COMMANDS[name]
    # subprocess cannot start a child with fd 1 closed: let the shell do it
    command = " ".join(f"'{part}'" for part in MMHEX + [a.format(file=data) for a in args])
    result = subprocess.run(
        ["sh", "-c", f"exec {command} >&-"], capture_output=True, env=ENV, timeout=60
    )
    assert result.returncode == status
    assert "standard output is closed" in one_line(result.stderr)


@pytest.mark.parametrize("args", [["dump", "{file}"], ["find", "{file}", "A"]])
def test_a_pipe_closed_early_ends_quietly_like_xxd(args: list[str], data: Path) -> None:
    process = subprocess.Popen(
        MMHEX + [a.format(file=data) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141  # what the shell reports for xxd or grep here
    assert first and stderr == b""


@pytest.mark.parametrize(
    "args", [["--version"], ["dump", "-n", "16", "{file}"], ["find", "--count", "{file}", "A"]]
)
def test_a_reader_gone_before_the_first_line_ends_quietly(args: list[str], data: Path) -> None:
    """`mmhex --version | true`: the reader may be gone before anything is written. The
    headless commands end with os._exit after a last flush (cli.launch), so an error that
    flush would raise must have been dealt with already."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run([a.format(file=data) for a in args], stdout=write_end)
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, b"")


def test_patch_and_recover_do_not_fail_because_only_their_report_was_lost(data: Path) -> None:
    with open("/dev/full", "wb") as full:
        patched = run(["patch", str(data), "0", "41 42"], stdout=full)
        recovered = run(["recover", str(data)], stdout=full)
    assert patched.returncode == 0, "the file was patched: that is the command's work"
    assert data.read_bytes()[:2] == b"AB"
    text = one_line(patched.stderr)
    assert "applied 1 patch" in text and "could not be written to standard output" in text
    assert recovered.returncode == 0
    assert "could not be written to standard output" in one_line(recovered.stderr)


@pytest.mark.parametrize("io_encoding", [None, "utf-8"])
def test_file_names_that_are_not_utf8_are_shown_as_given(
    io_encoding: str | None, tmp_path: Path
) -> None:
    name = os.fsencode(str(tmp_path)) + b"/\xff\xfe-name.bin"
    with open(name, "wb") as handle:
        handle.write(b"xxAxx" * 100)
    env = dict(ENV)
    if io_encoding:
        env["PYTHONIOENCODING"] = io_encoding  # strict errors unless mmhex asks otherwise
    for args in (
        ["dump", "-n", "16"],
        ["find", "--count", "--", "A"],
        ["residency"],
        ["residency", "--json"],
        ["patch", "--", "0", "41"],
        ["recover"],
    ):
        if args[-2:] == ["--", "A"]:
            argv = [*args[:-2], name, "A"]
        elif args[0] == "patch":
            argv = ["patch", name, "0", "41"]
        else:
            argv = [*args, name]
        result = subprocess.run(
            [os.fsencode(a) if isinstance(a, str) else a for a in MMHEX + argv],
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 0, (args, result.stderr)
        assert b"Traceback" not in result.stderr
        if args[0] in ("patch", "recover", "residency"):
            shown = result.stdout + result.stderr
            assert b"\xff\xfe-name.bin" in shown or b"\\udcff\\udcfe-name.bin" in shown
    with open(name, "rb") as handle:
        assert handle.read(1) == b"A"
    missing = subprocess.run(
        [*map(os.fsencode, MMHEX), b"dump", name + b"-missing"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert missing.returncode == 2
    assert b"\xff\xfe-name.bin-missing: The file does not exist." in missing.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/dev/zero", "not a character device"),
        ("fifo", "not a named pipe (FIFO)"),
        ("folder", "not a directory"),
        ("-", "more than 64 MiB of patch text"),
        ("large-file", "more than 64 MiB of patch text"),
    ],
)
def test_patch_from_refuses_devices_fifos_and_endless_input(
    source: str, expected: str, data: Path, tmp_path: Path
) -> None:
    before = data.read_bytes()
    stdin = subprocess.DEVNULL
    if source == "fifo":
        source = str(tmp_path / "patches.fifo")
        os.mkfifo(source)
    elif source == "folder":
        source = str(tmp_path)
    elif source == "large-file":
        source = str(tmp_path / "large.patch")
        with open(source, "wb") as handle:
            handle.truncate(65 << 20)
    elif source == "-":
        stdin = open("/dev/zero", "rb")  # noqa: SIM115 - closed below
    try:
        result = run(["patch", str(data), "--from", source], stdin=stdin)
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    assert result.returncode == 2
    assert expected in one_line(result.stderr)
    assert data.read_bytes() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the command as nobody")
@pytest.mark.parametrize(
    ("denied", "expected"),
    [("file", "You do not have permission to write"), ("folder", "is not writable")],
)
def test_save_failures_in_the_cli_speak_of_the_command_not_the_window(
    denied: str, expected: str
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mmhex-cli-perm-"))
    try:
        path = folder / "f.bin"
        path.write_bytes(b"\0" * 4096)
        path.chmod(0o644 if denied == "file" else 0o666)
        folder.chmod(0o755)
        result = subprocess.run(
            [python_for_nobody(), "-m", "mmhex", "patch", str(path), "0", "41"],
            capture_output=True,
            text=True,
            env=ENV,
            preexec_fn=drop_to_nobody,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        text = one_line(result.stderr.encode())
        assert expected in text
        for window_only in ("Save As", "edits are kept", "Reopen"):
            assert window_only not in text
        assert path.read_bytes() == b"\0" * 4096
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
