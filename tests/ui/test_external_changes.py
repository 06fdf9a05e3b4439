"""Outside changes (append, truncate, rewrite, replace, delete) are noticed, re-mapped and shown.

Also the truncation storm: another process shrinks and regrows the file hundreds of times while
the view reads and scrolls; a read of a page past the new end must never kill the process.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from mmhex.ui.widgets import MessageLevel
from tests.ui.helpers import painted_rows, xxd_rows

WATCH_TIMEOUT_MS = 900  # below the 1 s poll: only the file system watcher can be this fast


def watcher_only(window) -> None:
    """Stop the periodic poll so that a change can only be noticed by the watcher."""
    window.watcher.set_polling(False)


def assert_shows_file(window, path: Path) -> None:
    view = window.view
    rows = painted_rows(view)
    reference = xxd_rows(path, view.top_row * 16, len(rows) * 16, 16, 1)
    assert [(int(r.offset_text, 16), r.hex_text) for r in rows] == [
        (x.offset, x.hex_text) for x in reference
    ]


def test_append_is_noticed_by_the_watcher(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    watcher_only(window)
    with open(random_file, "ab") as handle:
        handle.write(b"APPENDED" * 100)
    qtbot.waitUntil(lambda: "grew" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert window.message_bar.text == (
        "The file grew from 10,007 to 10,807 bytes (changed outside mmhex)."
    )
    assert window.message_bar.level is MessageLevel.WARNING
    assert window.size_label.toolTip() == "10,807 bytes (0x2a37)"
    window.view.move_to_end()
    rows = painted_rows(window.view)
    assert (rows[-2].ascii_text + rows[-1].ascii_text).endswith("APPENDED" * 2)
    assert_shows_file(window, random_file)


def test_truncate_clamps_cursor_and_rows(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    watcher_only(window)
    window.view.move_to_end()
    os.truncate(random_file, 1000)
    qtbot.waitUntil(lambda: "truncated" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert "from 10,007 to 1,000 bytes" in window.message_bar.text
    view = window.view
    assert view.cursor_offset == 999
    assert view.top_row <= 62 < view.top_row + view.page_rows  # 1,000 bytes are 63 rows
    assert view.top_row <= view.row_space().max_top
    assert_shows_file(window, random_file)


def test_rewrite_in_place_shows_the_new_bytes(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    watcher_only(window)
    window.view.set_top_row(10)
    painted_rows(window.view)  # cache the window
    with open(random_file, "r+b") as handle:
        handle.seek(160)
        handle.write(b"\x00" * 64)
    qtbot.waitUntil(lambda: "modified" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert painted_rows(window.view)[0].hex_text == " ".join(["00"] * 16)
    assert_shows_file(window, random_file)


def test_atomic_replace_then_later_change(qtbot, window, random_file, tmp_path) -> None:
    window.open_path(str(random_file))
    watcher_only(window)
    replacement = tmp_path / "new.bin"
    replacement.write_bytes(b"NEWFILE!" * 10)
    os.replace(replacement, random_file)
    qtbot.waitUntil(lambda: "replaced" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert "(10,007 → 80 bytes)" in window.message_bar.text
    assert painted_rows(window.view)[0].ascii_text == "NEWFILE!NEWFILE!"
    # The watcher dropped the replaced path; it must watch the new file now.
    qtbot.waitUntil(lambda: str(random_file) in window.watcher.watched_paths(), timeout=500)
    window.message_bar.dismiss()
    with open(random_file, "ab") as handle:
        handle.write(b"MORE")
    qtbot.waitUntil(lambda: "grew" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert window.document.size == 84


def test_delete_is_reported_and_the_open_copy_stays(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    watcher_only(window)
    random_file.unlink()
    qtbot.waitUntil(lambda: "deleted" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert window.document.size == 10_007
    assert painted_rows(window.view)[0].ascii_text == "Hello, mmhex! Th"
    # The folder is watched so that a new file at the path is noticed.
    random_file.write_bytes(b"back")
    qtbot.waitUntil(lambda: "replaced" in window.message_bar.text, timeout=WATCH_TIMEOUT_MS)
    assert window.document.size == 4


def test_periodic_poll_catches_what_the_watcher_misses(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.watcher.watch(None)  # no inotify at all
    window.watcher._path = str(random_file)
    window.watcher.set_polling(True)
    with open(random_file, "ab") as handle:
        handle.write(b"x")
    qtbot.waitUntil(lambda: "grew" in window.message_bar.text, timeout=2500)


def test_window_activation_rechecks(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.watcher.watch(None)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    os.truncate(random_file, 5000)
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    assert "truncated" in window.message_bar.text


def test_failed_read_triggers_the_check(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    window.watcher.watch(None)
    view = window.view
    view.move_to_end()
    painted_rows(view)
    os.truncate(random_file, 100)
    window.document.generation += 1  # force a re-read, as a scroll to unread rows would
    view.viewport().repaint()  # the read fails inside the paint and must not raise
    qtbot.waitUntil(lambda: "truncated" in window.message_bar.text, timeout=1000)
    assert view.cursor_offset == 99
    assert_shows_file(window, random_file)


STORM = textwrap.dedent(
    """
    import os, random, sys, time
    path, size, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(7)
    for i in range(rounds):
        os.truncate(path, rng.choice([0, 4096, size // 3]))
        time.sleep(rng.random() * 0.004)
        with open(path, "r+b") as handle:
            handle.seek(size - 4096)
            handle.write(bytes([i % 256]) * 4096)
        time.sleep(rng.random() * 0.002)
    """
)


def test_truncation_storm(qtbot, window, tmp_path) -> None:
    size = 8 << 20
    path = tmp_path / "storm.bin"
    with open(path, "wb") as handle:
        handle.truncate(size)
    window.open_path(str(path))
    view = window.view
    failures = []
    view.model.read_failed.connect(failures.append)
    storm = subprocess.Popen([sys.executable, "-c", STORM, str(path), str(size), "400"])
    rng = random.Random(3)
    paints = 0
    try:
        deadline = time.monotonic() + 60
        while storm.poll() is None and time.monotonic() < deadline:
            rows = view.model.total_rows
            view.set_top_row(rng.choice([rows, rows // 2, rows - 1000, rng.randrange(rows + 1)]))
            if rng.random() < 0.3:
                view.move_to_end()
            view.viewport().repaint()
            paints += 1
            QApplication.processEvents()
    finally:
        storm.wait(timeout=60)
    assert storm.returncode == 0
    assert paints > 100
    assert failures, "the storm never caught the view reading a vanished page"
    # The watcher kept re-checking while the file changed non-stop (not only once it settled).
    assert window.document.generation >= 20
    # Once the storm is over the view settles on the real file.
    window.check_outside_change()
    assert window.document.size == size
    view.move_to_end()
    assert_shows_file(window, path)
    assert painted_rows(view)[-1].hex_text == " ".join([f"{399 % 256:02x}"] * 16)
