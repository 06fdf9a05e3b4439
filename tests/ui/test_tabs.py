"""Tabs: several documents in one window, each with its own state; the single-instance hand-off."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from mmhex.cli import GuiRequest, parse_gui_args
from mmhex.ui import instance
from mmhex.ui.app import open_request
from mmhex.ui.features import install_features

Button = QMessageBox.StandardButton
TIMEOUT = 10_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def full(window, questions, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    install_features(window)
    return window


@pytest.fixture
def three(tmp_path: Path) -> list[Path]:
    paths = []
    for name, fill in (("a.bin", b"A"), ("b.bin", b"B"), ("c.bin", b"C")):
        path = tmp_path / name
        path.write_bytes(fill * 1000 + b"NEEDLE" + bytes(range(256)) * 8)
        paths.append(path)
    return paths


def tab_names(window) -> list[str]:
    return [window.tab_bar.tabText(i) for i in range(window.tab_bar.count())]


def test_each_file_opens_in_its_own_tab(full, three) -> None:
    for path in three:
        assert full.open_path(str(path)) is None
    assert tab_names(full) == ["a.bin", "b.bin", "c.bin"]
    assert full.tab_bar.isVisible()
    assert full.document.path == str(three[2])
    assert full.open_path(str(three[0])) is None  # already open: its tab comes forward
    assert full.tab_bar.count() == 3 and full.document.path == str(three[0])


def test_tabs_keep_their_own_cursor_selection_and_scroll(full, three) -> None:
    for path in three[:2]:
        assert full.open_path(str(path)) is None
    full.previous_tab()
    full.view.go_to(2000)
    full.view.select(1000, 1006)
    top = full.view.top_row
    full.next_tab()
    assert full.view.selection == (0, 0) and full.view.top_row == 0
    full.view.select(5, 9)
    full.previous_tab()
    assert full.view.selection == (1000, 1006) and full.view.top_row == top
    assert full.selection_label.text() == "Selected 6 bytes from 0x3e8"
    inspector = full.action_targets["links"].search.inspector
    assert inspector.offset == 1000 and inspector.text_of("uint8") == str(ord("N"))
    full.next_tab()
    assert full.view.selection == (5, 9)


def test_tabs_keep_their_own_undo_history(full, three) -> None:
    editing = full.action_targets["editing"]
    assert full.open_path(str(three[0])) is None
    assert full.request_edit_mode()
    full.view.set_cursor(0)
    editing.type_text("ff")
    assert full.document.read(0, 1) == b"\xff" and editing.stack.count() == 1
    assert full.tab_bar.tabText(0) == "a.bin *"
    assert full.open_path(str(three[1])) is None
    assert editing.stack.count() == 0
    assert not full.action_builder.actions["edit.undo"].isEnabled()
    assert not full.isWindowModified()
    full.previous_tab()
    assert editing.stack.count() == 1 and full.isWindowModified()
    full.action_builder.actions["edit.undo"].trigger()
    assert full.document.read(0, 1) == b"A"


def test_tabs_keep_their_own_find_results(full, three, qtbot) -> None:
    search = full.action_targets["links"].search
    assert full.open_path(str(three[0])) is None
    search.bar.show_find()
    search.bar.pattern_edit.setText("AAAA")
    with qtbot.waitSignal(search.controller.results_ready, timeout=TIMEOUT):
        search.controller.find_all()
    found = [m.start for m in search.results.model.matches()]
    assert found and found[0] == 0
    assert full.open_path(str(three[1])) is None
    assert search.results.model.rowCount() == 0
    full.previous_tab()
    assert [m.start for m in search.results.model.matches()] == found


def test_docks_follow_the_current_tab_through_document_changed(full, three) -> None:
    seen = []
    full.document_changed.connect(lambda document: seen.append(document and document.path))
    for path in three[:2]:
        assert full.open_path(str(path)) is None
    full.previous_tab()
    assert seen == [str(three[0]), str(three[1]), str(three[0])]


def test_ctrl_tab_and_ctrl_w(full, three) -> None:
    for path in three:
        assert full.open_path(str(path)) is None
    actions = full.action_builder.actions
    assert "Ctrl+Tab" in [s.toString() for s in actions["tabs.next"].shortcuts()]
    assert "Ctrl+W" in [s.toString() for s in actions["file.close"].shortcuts()]
    actions["tabs.next"].trigger()
    assert full.document.path == str(three[0])  # wraps around
    actions["tabs.previous"].trigger()
    assert full.document.path == str(three[2])
    actions["file.close"].trigger()
    assert tab_names(full) == ["a.bin", "b.bin"]
    actions["file.close"].trigger()
    actions["file.close"].trigger()
    assert full.document is None and full.stack.currentWidget() is full.placeholder
    assert not actions["search.find"].isEnabled()


def test_dropping_several_files_opens_a_tab_each(full, three) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path)) for path in three])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    full.dropEvent(event)
    assert tab_names(full) == ["a.bin", "b.bin", "c.bin"]


def test_quit_asks_about_every_unsaved_tab(full, questions, three) -> None:
    editing = full.action_targets["editing"]
    for path in three[:2]:
        assert full.open_path(str(path)) is None
        assert full.request_edit_mode()
        editing.type_text("00")
    assert full.open_path(str(three[2])) is None  # unmodified: never asked about
    questions.answers = [Button.Discard, Button.Cancel]
    assert not full.close()
    assert [text.split(" has")[0] for text, _ in questions.asked] == ["a.bin", "b.bin"]
    assert full.tab_bar.count() == 3 and full.document.path == str(three[1])
    questions.answers = [Button.Discard, Button.Save]
    assert full.close()
    assert three[0].read_bytes()[:1] == b"A"  # discarded
    assert three[1].read_bytes()[:1] == b"\x00"  # saved


def test_command_line_takes_several_files(three) -> None:
    request = parse_gui_args([str(three[0]), f"{three[1]}:0x10", str(three[2]), "--new-window"])
    assert request.files == [(str(three[0]), None), (str(three[1]), "0x10"), (str(three[2]), None)]
    assert request.new_window


def test_open_request_opens_a_tab_per_file_first_in_front(full, three) -> None:
    request = parse_gui_args([str(three[0]), f"{three[1]}:0x10", str(three[2])])
    assert open_request(full, request) == 0
    assert tab_names(full) == ["a.bin", "b.bin", "c.bin"]
    assert full.document.path == str(three[0])
    full.next_tab()
    assert full.view.cursor_offset == 0x10


def test_hand_off_reaches_the_running_window(full, three, tmp_path, qtbot) -> None:
    name = str(tmp_path / "instance.sock")
    server = instance.InstanceServer(lambda request: open_request(full, request), full)
    assert server.listen(name)
    again = instance.InstanceServer(lambda request: None)
    assert not again.listen(name)  # one per socket: a second window does not take it over
    os.chdir(tmp_path)  # relative paths are made absolute by the sender
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from PySide6.QtCore import QCoreApplication; "
         "from mmhex.cli import parse_gui_args; from mmhex.ui.instance import hand_off; "
         "app = QCoreApplication([]); "
         "sys.exit(0 if hand_off(parse_gui_args(sys.argv[2:]), sys.argv[1]) else 1)",
         name, "a.bin", "b.bin:0x20"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while child.poll() is None and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    assert child.wait(5) == 0
    assert tab_names(full) == ["a.bin", "b.bin"]
    assert full.document.path == str(three[0])
    server.close()


def test_hand_off_without_a_running_window_says_no(tmp_path) -> None:
    request = GuiRequest(path="x", offset=None, readonly=False, edit=False)
    started = time.monotonic()
    assert not instance.hand_off(request, str(tmp_path / "nobody.sock"))
    assert time.monotonic() - started < 2


def test_stale_socket_of_a_crashed_mmhex_is_taken_over(tmp_path) -> None:
    import socket as sockets

    name = str(tmp_path / "stale.sock")
    stale = sockets.socket(sockets.AF_UNIX)
    stale.bind(name)  # a socket file nobody listens on any more
    stale.close()
    server = instance.InstanceServer(lambda request: None)
    assert server.listen(name)
    server.close()


def test_second_mmhex_opens_a_tab_in_the_first(tmp_path, three) -> None:
    """Two real processes: the second exits at once and the first shows both files."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MMHEX_INSTANCE_SOCKET": str(tmp_path / "real.sock"),
        "MMHEX_SETTINGS": str(tmp_path / "settings.ini"),
    }
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from mmhex.ui import app\n"
        "app.application()  # timers need the application first\n"
        "def report():\n"
        "    windows = [w for w in QApplication.topLevelWidgets() if hasattr(w, 'tab_bar')]\n"
        "    w = windows[0]\n"
        "    names = [w.tab_bar.tabText(i) for i in range(w.tab_bar.count())]\n"
        "    if len(names) == 2:\n"
        "        print('TABS', ','.join(names), flush=True)\n"
        "        w.close()\n"
        "    else:\n"
        "        QTimer.singleShot(100, report)\n"
        "QTimer.singleShot(100, report)\n"
        "from mmhex.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    first = subprocess.Popen(
        [sys.executable, str(probe), str(three[0])], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "real.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(
            [sys.executable, "-m", "mmhex", str(three[1])], env=env, timeout=30, check=False
        )
        assert second.returncode == 0
        out, _ = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert "TABS a.bin,b.bin" in out
