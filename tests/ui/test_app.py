"""The real start-up: `python -m mmhex …` headless, its exit status and stderr; the excepthook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.cli import GuiRequest
from mmhex.ui.app import FIRST_PAINT_ENV, ExceptionDialogHook, open_request, run_gui

ROOT = Path(__file__).resolve().parents[2]


def run_mmhex(*args: str, settings: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        QT_QPA_PLATFORM="offscreen",
        MMHEX_SETTINGS=str(settings),
        **{FIRST_PAINT_ENV: "1"},
    )
    return subprocess.run(
        [sys.executable, "-m", "mmhex", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def first_paint(result: subprocess.CompletedProcess) -> dict[str, int]:
    lines = [line for line in result.stdout.splitlines() if line.startswith("mmhex-first-paint")]
    assert len(lines) == 1, result.stdout + result.stderr
    return {k: int(v) for k, v in (field.split("=") for field in lines[0].split()[1:])}


def test_file_with_offset_suffix_opens_there(random_file, isolated_settings) -> None:
    result = run_mmhex(f"{random_file}:0x1F4", settings=isolated_settings)
    assert result.returncode == 0, result.stderr
    report = first_paint(result)
    assert report["cursor"] == 0x1F4
    assert report["size"] == 10_007
    assert "Traceback" not in result.stderr


def test_offset_option_on_a_tebibyte(sparse_tib, isolated_settings) -> None:
    result = run_mmhex(
        "--offset", "end-0x100", "--readonly", str(sparse_tib), settings=isolated_settings
    )
    assert result.returncode == 0, result.stderr
    assert first_paint(result)["cursor"] == (1 << 40) - 0x100


def test_no_file_shows_the_empty_window(isolated_settings) -> None:
    result = run_mmhex(settings=isolated_settings)
    assert result.returncode == 0, result.stderr
    assert first_paint(result)["size"] == 0


@pytest.mark.parametrize(
    ("make", "sentence"),
    [
        (lambda tmp: tmp / "missing", "The file does not exist."),
        (lambda tmp: tmp, "This is a directory, not a file."),
        (lambda tmp: (os.mkfifo(tmp / "fifo"), tmp / "fifo")[1], "named pipe (FIFO)"),
    ],
    ids=["missing", "directory", "fifo"],
)
def test_bad_file_exits_1_with_the_message_on_stderr(tmp_path, isolated_settings, make, sentence):
    path = make(tmp_path)
    result = run_mmhex(str(path), settings=isolated_settings)
    assert result.returncode == 1
    assert result.stderr.count(f"mmhex: {path}: ") == 1
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr
    first_paint(result)  # the window still came up and painted


def test_offset_outside_the_file_exits_1(random_file, isolated_settings) -> None:
    result = run_mmhex("--offset", "end+0x10", str(random_file), settings=isolated_settings)
    assert result.returncode == 1
    assert "outside the file" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_gui_in_process_returns_1_for_a_bad_file(qtbot, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(FIRST_PAINT_ENV, "1")
    missing = tmp_path / "missing"
    status = run_gui(GuiRequest(path=str(missing), offset=None, readonly=False, edit=False))
    assert status == 1
    assert f"mmhex: {missing}: The file does not exist." in capsys.readouterr().err


def test_edit_request_opens_read_only_and_records_the_wish(window, random_file, capsys) -> None:
    request = GuiRequest(path=str(random_file), offset=None, readonly=False, edit=True)
    assert open_request(window, request) == 0
    assert window.edit_requested
    assert window.mode_label.text() == "Read-only"
    assert "not available" in window.message_bar.text
    handled = []
    window.edit_mode_handler = lambda w: handled.append(w) or True
    assert window.request_edit_mode() is True
    assert handled == [window]


def test_exception_hook_shows_one_dialog(qtbot, capsys) -> None:
    hook = ExceptionDialogHook()
    for _ in range(3):
        try:
            raise OSError(5, "boom")
        except OSError as exc:
            hook(type(exc), exc, exc.__traceback__)
    assert hook.count == 3
    dialog = hook.dialog
    assert dialog is not None and dialog.isVisible()
    assert "I/O error" in dialog.text()
    assert "Traceback" in dialog.detailedText()
    assert "3 unexpected errors" in dialog.informativeText()
    assert capsys.readouterr().err.count("Traceback") == 3
    dialog.close()


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_reaches_the_dialog(qtbot, window, monkeypatch, capsys) -> None:
    hook = ExceptionDialogHook()
    monkeypatch.setattr(sys, "excepthook", hook)

    def broken(_offset: object) -> None:
        raise RuntimeError("kaboom")

    window.view.cursor_moved.connect(broken)
    window.view.cursor_moved.emit(5)
    assert hook.count == 1
    assert hook.dialog is not None and hook.dialog.isVisible()
    assert "kaboom" in hook.dialog.text()
    assert window.isVisible()  # the application carries on
    hook.dialog.close()
    capsys.readouterr()
