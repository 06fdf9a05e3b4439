"""Find bar, background jobs, search controller and results list, on real documents.

References: brute-force bytes.find over the same file, hashlib, and the core's own find_all
for what the results list must hold.
"""

from __future__ import annotations

import hashlib
import os
import random
import zlib
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool

from mmhex.core.document import Document
from mmhex.core.progress import Progress
from mmhex.core.search import Match, PatternKind
from mmhex.ui.search.checksums import ChecksumsPanel
from mmhex.ui.search.controller import SearchController
from mmhex.ui.search.find_bar import FindBar, FindRequest
from mmhex.ui.search.results import CURRENT_COLOR, HIT_COLOR, SearchResultsPanel
from mmhex.ui.search.worker import Job, format_rate

TIMEOUT = 10_000


def brute_force(data: bytes, needle: bytes) -> list[int]:
    found, pos = [], data.find(needle)
    while pos >= 0:
        found.append(pos)
        pos = data.find(needle, pos + 1)
    return found


@pytest.fixture
def sample(tmp_path: Path):
    rng = random.Random(3)
    data = bytearray(rng.randbytes(200_000))
    for off in (10, 4094, 50_000, 123_456, 199_990):
        data[off : off + 6] = b"NEEDLE"
    path = tmp_path / "sample.bin"
    path.write_bytes(bytes(data))
    doc = Document.open(str(path), window_size=64 * 1024)
    yield doc, bytes(data)
    doc.close()


@pytest.fixture
def bar(qtbot):
    widget = FindBar()
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def pool():
    pool = QThreadPool()
    yield pool
    pool.waitForDone(TIMEOUT)


# ===================================================================== find bar
def test_mode_switch_shows_the_right_options(bar):
    bar.mode.setCurrentIndex(0)  # Hex
    assert bar.encoding.isHidden() and bar.match_case.isHidden()
    bar.mode.setCurrentIndex(1)  # Text
    assert not bar.encoding.isHidden() and not bar.match_case.isHidden()
    bar.mode.setCurrentIndex(2)  # Regex
    assert bar.encoding.isHidden() and not bar.match_case.isHidden()


def test_invalid_pattern_is_explained_and_not_sent(bar, qtbot):
    bar.mode.setCurrentIndex(0)
    bar.pattern_edit.setText("DE AD G?")
    assert "is not hex" in bar.message.text()
    assert not bar.next_button.isEnabled() and not bar.all_button.isEnabled()
    with qtbot.assertNotEmitted(bar.find_requested):
        bar.find_next()
    bar.pattern_edit.setText("DE AD ?? EF")
    assert bar.message.text() == "" and bar.next_button.isEnabled()


def test_requests_carry_direction_scope_and_options(bar, qtbot):
    bar.pattern_edit.setText("hello")
    bar.match_case.setChecked(False)
    bar.encoding.setCurrentIndex(2)  # UTF-16 LE
    with qtbot.waitSignal(bar.find_requested) as blocker:
        bar.next_button.click()
    request: FindRequest = blocker.args[0]
    assert not request.backward and request.wrap and not request.in_selection
    assert request.pattern.kind is PatternKind.TEXT and request.pattern.ignore_case
    assert request.compiled.length == 10
    with qtbot.waitSignal(bar.find_requested) as blocker:
        bar.previous_button.click()
    assert blocker.args[0].backward
    bar.set_selection_available(True)
    bar.scope.setCurrentIndex(1)
    bar.wrap.setChecked(False)
    with qtbot.waitSignal(bar.find_all_requested) as blocker:
        bar.all_button.click()
    assert blocker.args[0].in_selection and not blocker.args[0].wrap
    bar.set_selection_available(False)
    assert bar.scope.currentIndex() == 0


def test_replace_needs_edit_mode_and_takes_any_length(bar, qtbot):
    bar.show_replace()
    assert bar.replace_visible
    bar.mode.setCurrentIndex(0)
    bar.pattern_edit.setText("41 ?? 43")
    bar.replace_edit.setText("58 59")
    assert not bar.replace_all_button.isEnabled()  # not editable yet
    bar.set_editable(True)
    # Issue 11: a replacement of another length inserts or deletes (the document resizes).
    with qtbot.waitSignal(bar.replace_all_requested) as blocker:
        bar.replace_all_button.click()
    assert blocker.args[1] == b"XY"
    bar.replace_edit.setText("58 59 5A")
    with qtbot.waitSignal(bar.replace_all_requested) as blocker:
        bar.replace_all_button.click()
    assert blocker.args[1] == b"XYZ"
    bar.show_find()
    assert not bar.replace_visible


def test_escape_closes(bar, qtbot):
    bar.pattern_edit.setFocus()
    with qtbot.waitSignal(bar.closed):
        qtbot.keyClick(bar.pattern_edit, "\x1b")  # Escape
    assert bar.isHidden()


def test_busy_shows_progress_and_rate(bar):
    bar.set_busy(True)
    assert not bar.progress.isHidden() and not bar.cancel_button.isHidden()
    bar.set_progress(512, 1024, 3 * 1024**3)
    assert bar.progress.value() == 500 and bar.rate_label.text() == "50% · 3.0 GiB/s · 0:00 left"
    bar.set_progress(1 << 30, 1 << 40, 1 << 30)  # 1023 s to go at 1 GiB/s
    assert bar.rate_label.text() == "0% · 1.0 GiB/s · 17:03 left"
    bar.set_busy(False)
    assert bar.progress.isHidden()
    assert format_rate(820 * 1024**2) == "820 MiB/s" and format_rate(12) == "12 B/s"


def test_an_empty_status_line_takes_no_height(bar, qtbot):
    bar.pattern_edit.setText("abc")
    assert bar.message.isHidden() and bar.progress.isHidden()
    tall = bar.sizeHint().height()
    bar.show_message("Not found.")
    assert not bar.message.isHidden()
    assert bar.sizeHint().height() > tall
    bar.set_busy(True)
    assert bar.message.isHidden() and not bar.progress.isHidden()
    bar.set_busy(False)
    qtbot.wait(10)  # the layout recounts its rows on its next event
    assert bar.sizeHint().height() == tall


# ===================================================================== jobs
def test_job_streams_batches_and_progress(qtbot, pool):
    def work(progress: Progress, emit):
        for i in range(5):
            progress.advance(10)
            emit([i])
        return "done"

    job = Job(work, 50, progress_interval=0)
    batches, progress = [], []
    job.batch.connect(batches.append)
    job.progressed.connect(lambda done, total, rate: progress.append((done, total)))
    with qtbot.waitSignal(job.succeeded, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args == ["done"]
    qtbot.waitUntil(lambda: len(batches) == 5)
    assert batches == [[0], [1], [2], [3], [4]] and progress[-1] == (50, 50)
    assert not job.running


def test_job_cancel_and_failure_are_signals(qtbot, pool):
    def endless(progress: Progress, emit):
        while True:
            progress.advance(1)

    job = Job(endless, 10**12)
    with qtbot.waitSignal(job.cancelled, timeout=TIMEOUT):
        job.start(pool)
        job.cancel()

    def broken(progress, emit):
        raise OSError(2, "No such file or directory")

    job = Job(broken, 1, path="/x/y")
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        job.start(pool)
    assert blocker.args == ["/x/y: The file does not exist."]


# ===================================================================== controller
def make_controller(qtbot, pool, doc):
    bar = FindBar()
    panel = SearchResultsPanel()
    qtbot.addWidget(bar)
    qtbot.addWidget(panel)
    controller = SearchController(bar, panel.model, pool=pool)
    controller.set_document(doc)
    return controller, bar, panel


def test_find_next_previous_and_wrap(qtbot, pool, sample):
    doc, data = sample
    controller, bar, _panel = make_controller(qtbot, pool, doc)
    bar.pattern_edit.setText("NEEDLE")
    expected = brute_force(data, b"NEEDLE")
    seen = []
    for _ in expected:
        with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
            controller.find_next()
        match, wrapped = blocker.args
        seen.append(match.start)
        assert not wrapped
        controller.set_cursor(match.start)  # the view moves to the hit
        controller.set_selection(match.start, match.end)
    assert seen == expected
    with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
        controller.find_next()
    assert blocker.args[0].start == expected[0] and blocker.args[1]
    assert "wrapped" in bar.message.text()
    controller.set_cursor(100_000)
    with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
        controller.find_previous()
    assert blocker.args[0].start == 50_000


def test_find_all_fills_the_list_and_highlights(qtbot, pool, sample):
    doc, data = sample
    controller, bar, panel = make_controller(qtbot, pool, doc)
    bar.mode.setCurrentIndex(0)
    bar.pattern_edit.setText("4E 45 45 ?? 4C 45")
    with qtbot.waitSignal(controller.results_ready, timeout=TIMEOUT):
        controller.find_all()
    model = panel.model
    expected = brute_force(data, b"NEEDLE")
    assert [m.start for m in model.matches()] == expected
    assert panel.summary.text() == "5 results"
    assert model.data(model.index(1, 0)) == f"{4094:#x}"
    assert model.data(model.index(1, 1)) == "4E 45 45 44 4C 45"
    text = model.data(model.index(1, 2))
    assert "[NEEDLE]" in text and len(text) == 8 + 6 + 8 + 2
    hits = list(model.highlights(4090, 4100))
    assert hits == [(4094, 4100, HIT_COLOR)]
    model.current = Match(4094, 4100)
    assert next(iter(model.highlights(4096, 4097)))[2] == CURRENT_COLOR
    with qtbot.waitSignal(panel.activated) as blocker:
        panel.table.clicked.emit(model.index(3, 0))
    assert blocker.args[0] == Match(123_456, 123_462)


def test_find_all_limit_says_n_plus(qtbot, pool, tmp_path):
    path = tmp_path / "zeros.bin"
    path.write_bytes(bytes(50_000))
    doc = Document.open(str(path))
    try:
        bar, panel = FindBar(), SearchResultsPanel()
        qtbot.addWidget(bar)
        qtbot.addWidget(panel)
        controller = SearchController(bar, panel.model, pool=pool, find_all_limit=1000)
        controller.set_document(doc)
        bar.mode.setCurrentIndex(0)
        bar.pattern_edit.setText("00 00")
        with qtbot.waitSignal(controller.results_ready, timeout=TIMEOUT):
            controller.find_all()
        assert panel.model.rowCount() == 1000
        assert panel.summary.text().startswith("1,000+ results")
    finally:
        doc.close()


def test_search_in_selection_keeps_its_scope(qtbot, pool, sample):
    doc, _data = sample
    controller, bar, _panel = make_controller(qtbot, pool, doc)
    bar.pattern_edit.setText("NEEDLE")
    controller.set_selection(40_000, 130_000)
    controller.set_cursor(40_000)
    bar.scope.setCurrentIndex(1)
    found = []
    for _ in range(3):
        with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
            controller.find_next()
        match = blocker.args[0]
        found.append(match.start)
        controller.set_cursor(match.start)
        controller.set_selection(match.start, match.end)  # selecting the hit keeps the scope
    assert found == [50_000, 123_456, 50_000]


def test_replace_and_replace_all_requests(qtbot, pool, sample):
    doc, data = sample
    doc.enable_editing()
    controller, bar, _panel = make_controller(qtbot, pool, doc)
    bar.show_replace()
    bar.pattern_edit.setText("NEEDLE")
    bar.replace_edit.setText("thread")
    with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
        bar.replace_button.click()  # nothing selected yet: finds first
    match = blocker.args[0]
    controller.set_cursor(match.start)
    controller.set_selection(match.start, match.end)
    replaced = []
    controller.replace_ready.connect(lambda m, b: replaced.append((m, b)))
    with qtbot.waitSignal(controller.found, timeout=TIMEOUT) as blocker:
        bar.replace_button.click()  # replaces the selected hit, then finds the next one
    assert replaced == [(Match(10, 16), b"thread")] and blocker.args[0].start == 4094
    with qtbot.waitSignal(controller.replace_all_ready, timeout=TIMEOUT) as blocker:
        bar.replace_all_button.click()
    matches, replacement = blocker.args
    assert [m.start for m in matches] == brute_force(data, b"NEEDLE")
    for m in matches:  # what the edit command will do, in one undo step
        doc.write(m.start, replacement)
    assert doc.read(4094, 6) == b"thread"
    bar.replace_edit.setText("NEEDLE")
    bar.pattern_edit.setText("thread")
    with qtbot.waitSignal(controller.results_ready, timeout=TIMEOUT):
        controller.find_all()
    assert len(_panel.model.matches()) == 5  # the search sees the unsaved edits


def test_truncated_file_stops_the_search_with_a_message(qtbot, pool, sample):
    doc, _data = sample
    controller, bar, panel = make_controller(qtbot, pool, doc)
    bar.pattern_edit.setText("NEEDLE")
    os.truncate(doc.path, 30_000)  # another program shrinks the file under the open document
    with qtbot.waitSignal(controller.results_ready, timeout=TIMEOUT):
        controller.find_all()
    assert "truncated by another program" in bar.message.text()
    assert panel.model.rowCount() <= 1  # what was found before the end vanished
    assert not bar.cancel_button.isVisible()


# ===================================================================== checksums
def test_checksums_panel_matches_hashlib(qtbot, pool, sample):
    doc, data = sample
    panel = ChecksumsPanel(pool=pool)
    qtbot.addWidget(panel)
    panel.set_document(doc)
    panel.set_range(1000, 150_001)
    assert "150,001" not in panel.range_label.text() and "149,001 bytes" in panel.range_label.text()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT) as blocker:
        panel.compute_button.click()
    part = data[1000:150_001]
    assert blocker.args[0] == {
        "CRC-32": f"{zlib.crc32(part):08x}",
        "MD5": hashlib.md5(part).hexdigest(),
        "SHA-1": hashlib.sha1(part).hexdigest(),
        "SHA-256": hashlib.sha256(part).hexdigest(),
    }
    assert panel.table.item(3, 1).text() == hashlib.sha256(part).hexdigest()
    panel.set_range(0, 0)
    assert panel.table.item(3, 1).text() == ""
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT) as blocker:
        panel.compute()
    assert blocker.args[0]["MD5"] == hashlib.md5(data).hexdigest()
