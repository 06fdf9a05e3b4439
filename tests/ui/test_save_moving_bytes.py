"""The window during an in-place save that moves the file's bytes (issue 11).

While the tail moves, the document's MAP_PRIVATE mapping shows the file's pages as they are
rewritten; nothing may read them. The save is paused after its first step (a checkpoint in the
real tail move), and the window's paths are read meanwhile: the rows shown stay the document's
bytes (a bytearray model), rows not read before are blank with a message, and the inspector,
Copy, Find and Checksums refuse with "Saving…" instead of reading half-moved bytes. Once the
save ends everything reads the saved bytes again (compared with the model and with the file).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from mmhex.core.errors import SavingInProgressError
from mmhex.ui.editing import RAW_BYTES_MIME
from mmhex.ui.features import install_features
from tests.ui.saving_helpers import paused_tail_move

SHM = Path("/dev/shm")


@pytest.fixture
def shm_file(tmp_path: Path):
    folder = SHM if SHM.is_dir() and SHM.exists() else tmp_path
    path = folder / f"mmhex-moving-{random.randrange(1 << 30)}.bin"
    path.write_bytes(random.Random(3).randbytes(3 << 20))
    yield path
    path.unlink(missing_ok=True)


def test_nothing_reads_half_moved_bytes_while_the_save_moves_them(
    window, questions, shm_file: Path, monkeypatch
) -> None:
    install_features(window)
    editing = window.action_targets["editing"]
    controller = window.action_targets["search"]
    search = controller.parent()  # the SearchFeature: inspector, checksums, find bar
    assert window.open_path(str(shm_file)) is None
    assert editing.enable_editing()
    document = window.document
    model = bytearray(shm_file.read_bytes())
    document.insert(16, b"\xee" * 16)  # the whole tail moves right by 16
    model[16:16] = b"\xee" * 16
    window.view.set_cursor(0)
    QApplication.processEvents()
    shown = window.view.model.window_bytes()
    assert shown and shown == bytes(model[: len(shown)])

    paused, go, steps = paused_tail_move(monkeypatch)
    seen: dict[str, object] = {}

    def probe() -> None:
        if not paused.is_set():
            QTimer.singleShot(5, probe)
            return
        try:
            # The file really is half-moved now (what the mapping would show).
            half = shm_file.read_bytes()
            seen["file half-moved"] = half[: len(model)] != bytes(model)
            # The grid: the rows read before the save are the document's bytes.
            window.view.viewport().repaint()
            seen["rows"] = window.view.model.window_bytes()
            # Rows never read: refused, blank, said.
            window.view.go_to(2 << 20)
            QApplication.processEvents()
            seen["far rows"] = window.view.model.window_bytes()
            seen["far error"] = window.view.model.read_error
            # Any read through the document is refused.
            try:
                document.read(0, 16)
                seen["read"] = "read"
            except SavingInProgressError as exc:
                seen["read"] = str(exc)
            # Inspector.
            search.inspector.set_source(document.read, document.size)
            search.inspector.offset = 40
            search.inspector.refresh()
            seen["inspector"] = (search.inspector.data, search.inspector.message.text())
            # Copy.
            QApplication.clipboard().clear()
            window.view.select(2 << 20, (2 << 20) + 64)
            window.action_builder.actions["edit.copy"].trigger()
            mime = QApplication.clipboard().mimeData()
            seen["clipboard"] = bytes(mime.data(RAW_BYTES_MIME)) if mime is not None else b""
            # Find the selection, Find and checksums.
            seen["find selection"] = window.action_targets["selection_tools"].find_selection()
            job = controller._job(lambda _progress, _emit: None, 1)
            seen["find started"] = controller._start(job, print)
            seen["find said"] = search.bar.message.text() if hasattr(search.bar, "message") else ""
            search.checksums.set_document(document)
            search.checksums.compute()
            seen["checksums"] = search.checksums.status.text()
        finally:
            go.set()

    QTimer.singleShot(0, probe)
    assert editing.save()
    assert "chunk-written" in steps

    assert seen["file half-moved"], "the pause must come with the tail half-moved"
    assert seen["rows"] == shown
    assert seen["far rows"] == b""
    assert isinstance(seen["far error"], SavingInProgressError)
    assert str(seen["read"]).startswith("Saving…")
    assert seen["inspector"] == (b"", str(SavingInProgressError()))
    assert seen["clipboard"] == b""
    assert seen["find started"] is False
    assert seen["find selection"] is False
    assert str(seen["checksums"]).startswith("Saving…")

    # After the save: the saved file, read through the window's paths again.
    assert shm_file.read_bytes() == bytes(model)
    assert not document.reads_held
    QApplication.processEvents()
    window.view.go_to(2 << 20)
    QApplication.processEvents()
    rows = window.view.model.window_bytes()
    start = window.view.model.window_start
    assert rows and rows == bytes(model[start : start + len(rows)])
    assert document.read(2 << 20, 64) == bytes(model[2 << 20 : (2 << 20) + 64])


def test_a_save_that_moves_bytes_first_stops_the_search_reading_them(
    window, questions, shm_file: Path
) -> None:
    """A search started before Save (a forked child reading its own copy of the mapping,
    which would see the moving pages too) is stopped before the first byte moves."""
    install_features(window)
    editing = window.action_targets["editing"]
    controller = window.action_targets["search"]
    assert window.open_path(str(shm_file)) is None
    assert editing.enable_editing()
    window.document.insert(16, b"\x01")

    def endless(progress, _emit):
        while True:  # reads until it is stopped (Cancel kills the child)
            progress.advance(0)
            time.sleep(0.01)

    job = controller._job(endless, 1)
    assert controller._start(job, print)
    assert job.running
    assert editing.save()
    assert not job.running
    expected = bytearray(random.Random(3).randbytes(3 << 20))
    expected[16:16] = b"\x01"
    assert shm_file.read_bytes() == bytes(expected)
