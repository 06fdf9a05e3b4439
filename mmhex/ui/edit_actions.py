"""Menu rows of the editing that changes the size: cut, delete, insert bytes, resize, INS/OVR.

In the format of mmhex.ui.actions; ``editing.install`` adds them with
``window.install_actions(EDIT_ACTIONS, editing=controller)``.
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from mmhex.ui.actions import ActionSpec

Key = QKeySequence.StandardKey
MENU = "&Edit"

EDIT_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("edit.cut", "Cu&t", "editing.cut", MENU, (Key.Cut,),
               tip="Copy the selection to the clipboard and remove it (the file shrinks)"),
    ActionSpec("edit.delete_selection", "&Delete Selection", "editing.delete_selection", MENU,
               tip="Remove the selected bytes (the file shrinks)"),
    ActionSpec("edit.insert_bytes", "&Insert Bytes…", "editing.show_insert_dialog", MENU,
               tip="Insert a number of bytes (4k, 0x100) of a byte or pattern at the cursor"),
    ActionSpec("edit.resize", "Resi&ze File…", "editing.show_resize_dialog", MENU,
               tip="Cut the end off the file, or extend it with a fill byte"),
    ActionSpec("edit.insert_mode", "Insert &Mode", "editing.toggle_insert_mode", MENU,
               ("Ins",), checkable=True,
               tip="Typing and pasting insert bytes (INS) instead of overwriting them (OVR)"),
)  # fmt: skip
