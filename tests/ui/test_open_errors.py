"""Every kind of bad path gives one clear sentence in the window, never a traceback."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmhex.ui.widgets import MessageLevel

NOBODY = 65534


@contextmanager
def without_read_access(path: Path) -> Iterator[None]:
    """chmod 000, and as root also drop the effective uid (root reads anything)."""
    os.chmod(path, 0)
    dropped = os.geteuid() == 0
    if dropped:
        os.seteuid(NOBODY)
    try:
        yield
    finally:
        if dropped:
            os.seteuid(0)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def bad_path(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "missing":
        yield str(tmp_path / "no-such-file")
    elif kind == "directory":
        yield str(tmp_path)
    elif kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
        yield str(path)
    elif kind == "socket":
        path = tmp_path / "sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        try:
            yield str(path)
        finally:
            server.close()
    elif kind == "proc":
        yield "/proc/self/status"
    elif kind == "chardev":
        yield "/dev/null"
    elif kind == "loop":
        (tmp_path / "a").symlink_to(tmp_path / "b")
        (tmp_path / "b").symlink_to(tmp_path / "a")
        yield str(tmp_path / "a")
    elif kind == "not-a-dir":
        (tmp_path / "plain").write_bytes(b"x")
        yield str(tmp_path / "plain" / "child")


EXPECTED = {
    "missing": "The file does not exist.",
    "directory": "This is a directory, not a file.",
    "fifo": "named pipe (FIFO)",
    "socket": "socket",
    "proc": "special file (like those under /proc or /sys)",
    "chardev": "character device",
    "loop": "symbolic link loop",
    "not-a-dir": "not a directory",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_bad_paths_show_one_sentence(window, tmp_path, kind) -> None:
    for path in bad_path(kind, tmp_path):
        message = window.open_path(path)
        assert message is not None
        assert message.startswith(f"{path}: ")
        assert EXPECTED[kind] in message
        assert "Traceback" not in message and "Errno" not in message
        assert window.message_bar.text == message
        assert window.message_bar.level is MessageLevel.ERROR
        assert window.document is None
        assert window.stack.currentWidget() is window.placeholder


def test_unreadable_file(window, tmp_path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"secret")
    with without_read_access(path):
        message = window.open_path(str(path))
    assert message == f"{path}: Permission denied: you are not allowed to read this file."
    assert window.message_bar.text == message


def test_failed_open_keeps_the_file_already_shown(window, random_file, tmp_path) -> None:
    window.open_path(str(random_file))
    window.view.set_cursor(123)
    assert window.open_path(str(tmp_path / "missing")) is not None
    assert window.document is not None and window.document.path == str(random_file)
    assert window.view.cursor_offset == 123
    assert window.stack.currentWidget() is window.view


def test_empty_file_is_an_empty_document_not_an_error(window, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.touch()
    assert window.open_path(str(empty)) is None
    assert window.document.size == 0
    assert not window.message_bar.isVisible()
    assert window.stack.currentWidget() is window.view
    view = window.view
    for method in ("move_right", "move_down", "page_down", "move_to_end", "select_all"):
        getattr(view, method)()
    assert view.cursor_offset == 0
    assert view.selection == (0, 0)
    assert window.go_to_expression("0") is None
    assert window.go_to_expression("1") is not None


def test_message_bar_can_be_dismissed(qtbot, window, tmp_path) -> None:
    window.open_path(str(tmp_path / "missing"))
    assert window.message_bar.isVisible()
    qtbot.mouseClick(window.message_bar.close_button, Qt.MouseButton.LeftButton)
    assert not window.message_bar.isVisible()
