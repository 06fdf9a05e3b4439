"""Typing stays linear: no action's ``changed()`` receiver list grows with the edits made.

PySide6 6.11.3: a QAction shown as a QToolButton (on a QToolBar) gains one ``changed()``
receiver every time its text or enabled state changes. The Undo menu item's text changes on every
keystroke ("Undo Typing: 3 bytes at 0x1f"), so with that action on the toolbar each edit got
slower (31,087 receivers and 912 µs per setText after 30,000 edits). The count is checked over
10,000 typed edits, through the grid's own key handling, on the default window's actions.
"""

from __future__ import annotations

import os

from PySide6.QtCore import SIGNAL, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolBar

from tests.ui.editing_helpers import open_for_editing

EDITS = int(os.environ.get("MMHEX_RECEIVER_EDITS", "10000"))
ALLOWED_GROWTH = 10  # a few connections made on the way are fine; the bug adds one per edit


def receivers(action: QAction) -> int:
    return action.receivers(SIGNAL("changed()"))


def test_the_qt_bug_this_guards_against_is_still_real(qtbot, window) -> None:
    """The reference: a plain toolbar action whose text changes does gain receivers here.

    If a Qt release fixes the bug this test starts failing; the guard below may then go.
    """
    toolbar = QToolBar(window)
    window.addToolBar(toolbar)
    action = QAction("x", window)
    toolbar.addAction(action)
    before = receivers(action)
    for index in range(100):
        action.setText(f"t{index}")
    assert receivers(action) - before >= 100


def test_ten_thousand_typed_edits_add_no_changed_receivers(qtbot, window, editor, tmp_path) -> None:
    path = tmp_path / "typing.bin"
    path.write_bytes(bytes(EDITS))
    open_for_editing(window, editor, path)
    view = window.view
    actions = [a for a in window.findChildren(QAction)]
    for _ in range(3):  # the first edits enable Undo, Save, Revert once
        QTest.keyClick(view, "a")
    before = {action: receivers(action) for action in actions}
    for index in range(EDITS):
        QTest.keyClick(view, "a" if index % 2 else "5", Qt.KeyboardModifier.NoModifier)
    grown = {
        action.text() or action.objectName(): receivers(action) - count
        for action, count in before.items()
        if receivers(action) - count > ALLOWED_GROWTH
    }
    assert not grown, f"changed() receivers grew over {EDITS:,} edits: {grown}"
    # The edits really happened (a typed run merges into one undo step that names them).
    assert editor.stack.canUndo()
    assert "Typing" in window.action_builder.actions["edit.undo"].text()


def test_the_toolbar_undo_button_follows_and_triggers_the_menu_action(
    qtbot, window, editor, random_file
) -> None:
    reference = open_for_editing(window, editor, random_file)
    toolbar = window.findChild(QToolBar, "toolbar:editing")
    buttons = {action.text(): action for action in toolbar.actions()}
    undo, redo = buttons["Undo"], buttons["Redo"]
    assert not undo.isEnabled() and not redo.isEnabled()
    assert not undo.shortcut().toString() and "Ctrl+Z" in undo.toolTip()
    QTest.keyClick(window.view, "f")
    assert undo.isEnabled() and not redo.isEnabled()
    assert reference[0] >> 4 != 0xF  # so that the edit is a change
    assert window.document.read(0, 1)[0] >> 4 == 0xF
    undo.trigger()
    assert window.document.read(0, 1) == bytes(reference[:1])
    assert not undo.isEnabled() and redo.isEnabled()
    assert undo.text() == "Undo"  # the button's text never follows the menu item's
    redo.trigger()
    assert window.document.read(0, 1)[0] >> 4 == 0xF
