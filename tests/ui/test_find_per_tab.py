"""The find bar belongs to the tab: its pattern, options, message and results (mmhex.ui.links)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmhex.core.search import PatternKind
from mmhex.ui.features import install_features
from mmhex.ui.links import STALE_NOTE
from mmhex.ui.panels.residency_panel import ResidencyPanel

TIMEOUT = 10_000


@pytest.fixture
def search(window, questions, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    install_features(window)
    yield window.action_targets["links"].search
    window.findChild(ResidencyPanel).shutdown()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    first = tmp_path / "a.bin"
    first.write_bytes(b"\0" * 100 + b"NEEDLE" + b"\0" * 50 + b"NEEDLE" + b"\0" * 10)
    second = tmp_path / "b.bin"
    second.write_bytes(b"\x11" * 300 + b"\xde\xad\xbe\xef" + b"\x22" * 20)
    return first, second


def test_each_tab_shows_its_own_pattern_options_message_and_results(
    window, search, tmp_path, qtbot
) -> None:
    first, second = _files(tmp_path)
    bar, model = search.bar, search.results.model
    assert window.open_path(str(first)) is None
    bar.show_find()
    bar.pattern_edit.setText("needle")
    bar.match_case.setChecked(False)
    with qtbot.waitSignal(search.controller.results_ready, timeout=TIMEOUT):
        search.controller.find_all()
    assert [m.start for m in model.matches()] == [100, 156]
    first_message = bar.message.text()
    assert first_message.startswith("2 ")
    first_summary = search.results.summary.text()

    # A new tab starts with the last pattern and options (F3 goes on at once) but nothing
    # of the other file's search: no results, no message.
    assert window.open_path(str(second)) is None
    assert bar.pattern_edit.text() == "needle" and not bar.match_case.isChecked()
    assert model.rowCount() == 0 and bar.message.text() == ""
    bar.mode.setCurrentIndex(0)  # Hex
    bar.pattern_edit.setText("de ad be ef")
    with qtbot.waitSignal(search.controller.found, timeout=TIMEOUT):
        search.controller.find_next()
    assert bar.message.text() == "Found at 0x12c."
    assert window.view.selection == (300, 304)

    window.previous_tab()
    assert bar.mode.currentData() is PatternKind.TEXT
    assert bar.pattern_edit.text() == "needle" and not bar.match_case.isChecked()
    assert [m.start for m in model.matches()] == [100, 156]
    assert search.results.summary.text() == first_summary  # not marked stale by the switch
    assert not first_summary.endswith(STALE_NOTE)
    assert bar.message.text() == first_message
    assert bar.current_request().pattern.text == "needle"  # what F3 searches for here

    window.next_tab()
    assert bar.mode.currentData() is PatternKind.HEX
    assert bar.pattern_edit.text() == "de ad be ef"
    assert model.rowCount() == 0
    assert bar.message.text() == "Found at 0x12c."
    with qtbot.waitSignal(search.controller.found, timeout=TIMEOUT):
        search.controller.find_next()  # wraps round to the one hit of this file
    assert window.view.selection == (300, 304)


def test_a_tab_keeps_an_invalid_pattern_and_its_error(window, search, tmp_path) -> None:
    first, second = _files(tmp_path)
    bar = search.bar
    assert window.open_path(str(first)) is None
    bar.mode.setCurrentIndex(2)  # Regex
    bar.pattern_edit.setText("(unclosed")
    error = bar.message.text()
    assert error and bar.message_error and bar.current_request() is None
    assert window.open_path(str(second)) is None
    bar.mode.setCurrentIndex(1)
    bar.pattern_edit.setText("plain")
    assert not bar.message_error
    window.previous_tab()
    assert bar.pattern_edit.text() == "(unclosed" and bar.message_error
    assert bar.message.text() == error and bar.current_request() is None
    window.next_tab()
    assert bar.pattern_edit.text() == "plain" and not bar.message_error
