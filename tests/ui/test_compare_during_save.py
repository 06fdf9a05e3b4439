"""The compare window while an in-place save moves A's bytes, and after it.

Nothing may read a document while its tail moves (SavingInProgressError). The compare window
said "(unreadable)" in its Differences list then and a compare started meanwhile stopped with an
error for good. Now it says ``SAVING_TEXT`` (cells: "Saving…") and, once the save ends, reads
again and compares again: the list then equals `cmp -l` of the saved file against B.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from mmhex.core.document import Document
from mmhex.ui.compare import window as compare_window_module
from mmhex.ui.compare.differences import SAVING_CELL, SHOWN_BYTES
from mmhex.ui.compare.feature import CompareFeature
from mmhex.ui.compare.window import SAVING_TEXT, CompareWindow
from mmhex.ui.features import install_features
from tests.cmp_support import ranges_from_cmp_l
from tests.ui.saving_helpers import paused_tail_move, probe_when_paused

pytestmark = pytest.mark.skipif(shutil.which("cmp") is None, reason="GNU cmp needed")
SHM = Path("/dev/shm")


@pytest.fixture
def shm_pair(tmp_path: Path):
    """A (3 MiB, on tmpfs: an insert is saved by moving the tail in place) and B, a copy of A
    with 16 bytes inserted at 16 (as the test edits A) and a few bytes changed."""
    folder = SHM if SHM.is_dir() else tmp_path
    tag = random.randrange(1 << 30)
    a, b = folder / f"mmhex-cmp-a-{tag}.bin", folder / f"mmhex-cmp-b-{tag}.bin"
    data = bytearray(random.Random(5).randbytes(3 << 20))
    a.write_bytes(data)
    data[16:16] = b"\xee" * 16
    for offset in (100, 5000, (2 << 20) + 7, len(data) - 3):
        data[offset] ^= 0x5A
    b.write_bytes(data)
    yield a, b
    a.unlink(missing_ok=True)
    b.unlink(missing_ok=True)


def cmp_l(path_a: Path, path_b: Path) -> list[tuple[int, int]]:
    out = subprocess.run(["cmp", "-l", str(path_a), str(path_b)], capture_output=True).stdout
    return ranges_from_cmp_l(out)


def listed(compare: CompareWindow) -> list[tuple[int, int]]:
    model = compare.model
    return [(model.range_at(row).a, model.range_at(row).length) for row in range(model.rowCount())]


def cell(compare: CompareWindow, row: int, column: int) -> str:
    model = compare.model
    return model.data(model.index(row, column))


def test_compare_says_saving_during_an_in_place_save_and_resumes_after(
    window, questions, shm_pair, monkeypatch, qtbot
) -> None:
    path_a, path_b = shm_pair
    install_features(window)
    editing = window.action_targets["editing"]
    assert window.open_path(str(path_a)) is None
    assert editing.enable_editing()
    window.document.insert(16, b"\xee" * 16)  # the whole tail moves right at Save
    compare = window.findChild(CompareFeature).compare_with(str(path_b))
    assert isinstance(compare, CompareWindow)
    qtbot.waitUntil(lambda: not compare.running, timeout=20_000)
    before = listed(compare)
    assert before == [(100, 1), (5000, 1), ((2 << 20) + 7, 1), ((3 << 20) + 13, 1)]
    assert cell(compare, 0, 3) != SAVING_CELL

    paused, go, _steps = paused_tail_move(monkeypatch)
    seen: dict[str, object] = {}

    def probe() -> None:
        compare.table.viewport().repaint()
        seen["summary"] = compare.summary_label.text()
        seen["cells"] = (cell(compare, 0, 3), cell(compare, 2, 3), cell(compare, 0, 4))
        compare.start_compare()  # F5 during the save: waits for it instead of failing
        QApplication.processEvents()
        seen["running"] = compare.running
        seen["after F5"] = compare.summary_label.text()

    probe_when_paused(paused, go, probe)
    assert editing.save()
    assert seen["summary"] == SAVING_TEXT
    # A's bytes are not read while they move; B (another document) still is.
    assert seen["cells"][:2] == (SAVING_CELL, SAVING_CELL)
    assert seen["cells"][2] != SAVING_CELL and "unreadable" not in str(seen["cells"][2])
    assert seen["running"] is False and seen["after F5"] == SAVING_TEXT

    # The save ended: the compare ran again, over the saved file, and reads its bytes.
    qtbot.waitUntil(lambda: not compare.paused_for_save and not compare.running, timeout=20_000)
    assert listed(compare) == cmp_l(path_a, path_b) == before
    assert compare.summary_label.text() != SAVING_TEXT
    assert "stopped" not in compare.summary_label.text()
    saved = path_a.read_bytes()
    first = compare.model.range_at(0)
    assert cell(compare, 0, 3) == saved[first.a : first.a + min(first.length, SHOWN_BYTES)].hex(" ")
    compare.close()


def test_a_compare_window_nobody_tells_of_the_save_finds_out_and_resumes(
    window, questions, shm_pair, monkeypatch, qtbot
) -> None:
    """A compare window without the editing feature's signal, comparing when the save begins:
    the refused read pauses it, and it notices the end of the save on its own."""
    path_a, path_b = shm_pair
    install_features(window)
    editing = window.action_targets["editing"]
    assert window.open_path(str(path_a)) is None
    assert editing.enable_editing()
    window.document.insert(16, b"\xee" * 16)
    paused, go, _steps = paused_tail_move(monkeypatch)
    real_compare = compare_window_module.compare

    def compare_once_the_bytes_move(*args, **kwargs):
        assert paused.wait(20)  # reads A only once the save is moving its bytes
        return real_compare(*args, **kwargs)

    monkeypatch.setattr(compare_window_module, "compare", compare_once_the_bytes_move)
    compare = CompareWindow(window.document, Document.open(str(path_b), readonly=True))
    qtbot.addWidget(compare)
    assert compare.running
    seen: dict[str, object] = {}

    def probe() -> None:
        qtbot.waitUntil(lambda: compare.paused_for_save, timeout=5_000)
        seen["summary"] = compare.summary_label.text()
        seen["running"] = compare.running

    probe_when_paused(paused, go, probe)
    assert editing.save()
    assert seen == {"summary": SAVING_TEXT, "running": False}
    qtbot.waitUntil(lambda: not compare.paused_for_save and not compare.running, timeout=20_000)
    assert compare.result.complete
    assert listed(compare) == cmp_l(path_a, path_b)
    compare.close()
