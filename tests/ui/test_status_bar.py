"""The status bar: passing messages in their own eliding place, never over the offset."""

from __future__ import annotations

from PySide6.QtGui import QStatusTipEvent
from PySide6.QtWidgets import QApplication

from mmhex.ui.features import install_features
from mmhex.ui.panels.residency_panel import ResidencyPanel

LONG = (
    "Copied 1,048,576 bytes as a C array named data_at_0x1000 (unsigned char, 16 per line); "
    "the raw bytes travel with it as application/octet-stream for an exact paste back. " * 3
).strip()


def _fully_shown(label, bar) -> bool:
    """The label has its whole text's width and lies inside the bar."""
    return (
        label.isVisible()
        and label.width() >= label.sizeHint().width()
        and bar.rect().contains(label.geometry())
    )


def test_a_long_message_is_elided_beside_a_fully_visible_offset(window, random_file, qtbot):
    install_features(window)
    window.resize(1366, 768)
    assert window.open_path(str(random_file)) is None
    window.view.select(0x100, 0x140)
    bar = window.statusBar()
    bar.showMessage(LONG, 60_000)
    qtbot.wait(50)
    message = bar.message_label
    assert message.full_text == LONG == bar.currentMessage()
    assert message.elided and message.text().endswith("…")
    assert LONG.startswith(message.text()[:-1])
    assert message.toolTip() == LONG
    assert message.fontMetrics().horizontalAdvance(message.text()) <= message.width()
    for label in (window.cursor_label, window.selection_label, window.size_label):
        assert _fully_shown(label, bar), label.text()
        assert message.geometry().right() < label.geometry().left()
    assert window.cursor_label.text() == "Offset 0x13f (319)"
    assert window.selection_label.text() == "Selected 64 bytes from 0x100"
    bar.clearMessage()
    assert message.full_text == "" and message.text() == ""
    window.findChild(ResidencyPanel).shutdown()


def test_a_short_message_is_shown_whole_and_menu_tips_arrive_too(window, random_file):
    assert window.open_path(str(random_file)) is None
    bar = window.statusBar()
    bar.showMessage("Bookmarked 4 bytes.", 60_000)
    QApplication.processEvents()
    assert bar.message_label.text() == "Bookmarked 4 bytes." and not bar.message_label.elided
    # Qt's own status tips (a menu item under the mouse) reach the label through C++.
    QApplication.sendEvent(window, QStatusTipEvent("Open a file in a new tab"))
    assert bar.message_label.text() == "Open a file in a new tab"
    assert _fully_shown(window.cursor_label, bar)


def test_the_message_gives_way_in_a_narrow_window(window, random_file, qtbot):
    assert window.open_path(str(random_file)) is None
    window.resize(640, 480)
    bar = window.statusBar()
    bar.showMessage(LONG, 60_000)
    qtbot.wait(50)
    assert _fully_shown(window.cursor_label, bar)
    assert _fully_shown(window.selection_label, bar)
    assert bar.message_label.width() < bar.message_label.fontMetrics().horizontalAdvance(LONG)


def test_a_long_file_type_never_holds_the_window_wide(window, tmp_path, qtbot):
    import os
    import shutil
    import sys

    install_features(window)
    program = tmp_path / "program"  # libmagic's line for an ELF program is long
    shutil.copyfile(os.path.realpath(sys.executable), program)
    assert window.open_path(str(program), readonly=True) is None
    window.view.select(0x10, 0x20)
    structure = window.action_targets["structure"]
    full = structure.type_label.full_text
    assert full.startswith("ELF 64-bit")
    window.resize(640, 480)
    qtbot.wait(50)
    assert (window.width(), window.height()) == (640, 480)
    bar = window.statusBar()
    for label in (window.cursor_label, window.selection_label):
        assert _fully_shown(label, bar), label.text()
    assert structure.type_label.elided and structure.type_label.text().endswith("…")
    assert structure.type_label.toolTip().startswith("File type: ELF 64-bit")
    window.resize(1366, 768)
    qtbot.wait(50)
    assert structure.type_label.width() >= min(360, structure.type_label.sizeHint().width())
    window.findChild(ResidencyPanel).shutdown()
