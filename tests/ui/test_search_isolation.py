"""The window's searches run in a process of their own: Cancel returns control at once even while
``re`` backtracks forever (a thread would hold the GIL and freeze the window), a crash in the
search process leaves the window and its unsaved edits alive, and the child searches the edits."""

from __future__ import annotations

import os
import signal
import time

import pytest
from PySide6.QtCore import Qt, QThreadPool, QTimer

from mmhex.core.document import Document
from mmhex.ui.search.worker import Job
from tests.ui.test_search_widgets import make_controller

TIMEOUT = 10_000
REGEX = 2  # the find bar's mode index


@pytest.fixture
def pool():
    pool = QThreadPool()
    yield pool
    pool.waitForDone(TIMEOUT)


@pytest.fixture
def controller(qtbot, pool, tmp_path):
    path = tmp_path / "runaway.bin"
    path.write_bytes(b"x" * 100 + b"a" * 40 + b"X" + b"y" * 5000)
    doc = Document.open(str(path))
    controller, _bar, _panel = make_controller(qtbot, pool, doc)
    yield controller
    controller.cancel()
    pool.waitForDone(TIMEOUT)
    doc.close()


@pytest.mark.parametrize(
    ("command", "stop"), [("find_next", "cancel"), ("find_all", "cancel"), ("find_next", "escape")]
)
def test_cancel_stops_a_runaway_regex_at_once_and_the_window_keeps_running(
    qtbot, controller, command, stop
):
    bar = controller.bar
    bar.show()
    bar.mode.setCurrentIndex(REGEX)
    bar.pattern_edit.setText("(a+)+$")
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    getattr(controller, command)()
    assert controller.job is not None and controller.job.running
    qtbot.wait(600)  # the regex is backtracking now
    assert len(ticks) >= 10, "the event loop stalled while the regex ran"
    assert controller.job.running
    started = time.monotonic()
    with qtbot.waitSignal(controller.job.cancelled, timeout=TIMEOUT):
        if stop == "cancel":
            qtbot.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)
        else:
            qtbot.keyClick(bar.pattern_edit, Qt.Key.Key_Escape)
    assert time.monotonic() - started < 2.0
    timer.stop()
    qtbot.waitUntil(lambda: not controller.job.running, timeout=TIMEOUT)
    if stop == "cancel":
        qtbot.waitUntil(lambda: bar.message.text() == "Search cancelled.", timeout=TIMEOUT)
    else:
        assert bar.isHidden()


def test_the_find_bar_notes_a_regex_past_the_limits(controller):
    bar = controller.bar
    bar.mode.setCurrentIndex(REGEX)
    bar.pattern_edit.setText("needle-[A-Z]+")
    assert bar.message.text() == ""
    bar.pattern_edit.setText("start.*end")
    note = bar.message.text()
    assert note.startswith("Note: an unbounded repeat of a broad class") and note.endswith(".")
    assert bar.current_request() is not None  # a note, not an error: the search can run


def test_a_crash_in_the_search_process_is_a_message(qtbot, pool):
    def crash(progress, emit):
        os.kill(os.getpid(), signal.SIGSEGV)

    job = Job(crash, 1, path="/x/y", isolated=True)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args == [
        "/x/y: The search process crashed (SIGSEGV); the window and its edits are unaffected."
    ]

    def bus(progress, emit):
        os.kill(os.getpid(), signal.SIGBUS)

    job = Job(bus, 1, isolated=True)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args[0].startswith("The search stopped: the file was truncated")


def test_results_progress_and_errors_cross_the_process(qtbot, pool):
    parent = os.getpid()

    def work(progress, emit):
        assert os.getpid() != parent
        for i in range(3):
            emit([i])
            progress.advance(10)
        return {"pid": os.getpid()}

    job = Job(work, 30, isolated=True, progress_interval=0)
    batches, progressed = [], []
    job.batch.connect(batches.append)
    job.progressed.connect(lambda done, total, rate: progressed.append((done, total)))
    with qtbot.waitSignal(job.succeeded, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args[0]["pid"] != parent
    assert batches == [[0], [1], [2]] and progressed[-1] == (30, 30)

    def broken(progress, emit):
        raise OSError(2, "No such file or directory")

    job = Job(broken, 1, path="/x/y", isolated=True)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args == ["/x/y: The file does not exist."]


def test_the_search_process_sees_unsaved_edits(qtbot, controller):
    doc = controller.document
    doc.enable_editing()
    doc.write(3000, b"EDITED")
    controller.set_document(doc)
    bar = controller.bar
    bar.pattern_edit.setText("EDITED")
    with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
        controller.find_next()
    assert blocker.args[0].start == 3000


def test_without_a_fork_the_work_runs_in_the_thread(qtbot, pool):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable (fork)")

    job = Job(lambda progress, emit: os.getpid(), 1, isolated=True, fork_guard=no_fork)
    with qtbot.waitSignal(job.succeeded, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args == [os.getpid()]


def test_the_search_process_finds_a_match_longer_than_its_window(qtbot, pool, tmp_path):
    """The issue's x, 70,000 y, z: found whole by the forked search (Find and Find All); one
    longer than the longest match searched (16 MiB) is not found, and the bar says where."""
    path = tmp_path / "long.bin"
    data = b"-" * 1000 + b"x" + b"y" * 70_000 + b"z" + b"-" * 1000
    data += b"x" + b"y" * (17 * 1024 * 1024) + b"z"
    path.write_bytes(data)
    doc = Document.open(str(path))
    controller, bar, _panel = make_controller(qtbot, pool, doc)
    try:
        bar.mode.setCurrentIndex(REGEX)
        bar.pattern_edit.setText("xy+z")
        assert bar.message.text() == ""  # a narrow class: no warning before the search
        with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
            controller.find_next()
        assert tuple(blocker.args[0]) == (1000, 1000 + 70_002)
        assert bar.message.text().startswith("Found at 0x3e8.")
        with qtbot.waitSignal(controller.results_ready, timeout=TIMEOUT):
            controller.find_all()
        message = bar.message.text()
        assert message.startswith("1 result; note: a match starting at or before "), message
        assert "may be longer than the longest match searched (16 MiB)" in message
    finally:
        controller.cancel()
        pool.waitForDone(TIMEOUT)
        doc.close()
