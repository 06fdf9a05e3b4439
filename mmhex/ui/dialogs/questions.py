"""The questions saving asks: unsaved edits, someone else's changes, no write permission, revert.

Each builds a QMessageBox with buttons named for what they do and runs it modally through
``run_box``, which tests replace to answer. Each returns the StandardButton of the answer.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


def ask(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    buttons: dict[QMessageBox.StandardButton, str],
    default: QMessageBox.StandardButton,
    informative: str = "",
) -> QMessageBox.StandardButton:
    """Show a question whose buttons carry our own labels (an empty label keeps Qt's)."""
    box = QMessageBox(icon, title, text, Button.NoButton, parent)
    for button, label in buttons.items():
        added = box.addButton(button)
        if label:
            added.setText(label)
    box.setDefaultButton(default)
    box.setEscapeButton(Button.Cancel if Button.Cancel in buttons else default)
    if informative:
        box.setInformativeText(informative)
    answer = run_box(box)
    return Button(answer) if not isinstance(answer, Button) else answer


def run_box(box: QMessageBox) -> int | QMessageBox.StandardButton:
    """Show ``box`` modally; returns the button clicked.

    The parent window is activated again afterwards: without a window manager Qt leaves it
    inactive, and its shortcuts dead (see MainWindow.return_focus_to_grid).
    """
    answer = box.exec()
    parent = box.parentWidget()
    if parent is not None:
        parent.window().activateWindow()
    return answer


def ask_unsaved_edits(parent: QWidget | None, name: str) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel before the document is closed or replaced."""
    return ask(
        parent,
        QMessageBox.Icon.Warning,
        "Unsaved Edits",
        f"{name} has unsaved edits. Save them before closing?",
        {Button.Save: "", Button.Discard: "", Button.Cancel: ""},
        Button.Save,
        "Discard drops the edits; the file on disk stays as it is.",
    )


def ask_overwrite_outside_changes(parent: QWidget | None, question: str) -> bool:
    """The file changed on disk since it was opened: overwrite those changes with ours?"""
    answer = ask(
        parent,
        QMessageBox.Icon.Warning,
        "File Changed on Disk",
        question,
        {Button.Save: "Overwrite", Button.Cancel: ""},
        Button.Cancel,
        "Cancel keeps your edits unsaved; Save As can write them to another file.",
    )
    return answer == Button.Save


def ask_save_elsewhere(parent: QWidget | None, reason: str) -> bool:
    """Save cannot write in place (``reason``): offer Save As instead."""
    answer = ask(
        parent,
        QMessageBox.Icon.Information,
        "Cannot Save in Place",
        reason,
        {Button.Save: "Save As…", Button.Cancel: ""},
        Button.Save,
        "Your edits are kept in memory; Save As writes the file with them to a new file.",
    )
    return answer == Button.Save


def confirm_revert(parent: QWidget | None, name: str, edited_bytes: int) -> bool:
    """Revert drops every unsaved edit (the undo history too)."""
    answer = ask(
        parent,
        QMessageBox.Icon.Question,
        "Revert",
        f"Discard every unsaved edit to {name} ({edited_bytes:,} edited bytes)?",
        {Button.Discard: "Revert", Button.Cancel: ""},
        Button.Cancel,
        "The file on disk is unchanged; the undo history is cleared.",
    )
    return answer == Button.Discard


def ask_keep_history(parent: QWidget | None, copy_bytes: int) -> QMessageBox.StandardButton:
    """A save that moves bytes in place would first copy ``copy_bytes`` of the old file to keep
    the undo history usable: Keep (copy) / Drop history / Cancel. Yes keeps, No drops."""
    if copy_bytes >= 1 << 30:
        size = f"{copy_bytes / (1 << 30):.1f} GiB"
    elif copy_bytes >= 1 << 20:
        size = f"{copy_bytes / (1 << 20):.0f} MiB"
    else:
        size = f"{copy_bytes:,} bytes"
    return ask(
        parent,
        QMessageBox.Icon.Question,
        "Keep Undo History?",
        f"To keep undo working past this save, up to {size} of the file's old bytes must be "
        "copied first (into memory, spilling to your cache folder).",
        {Button.Yes: "Keep History", Button.No: "Drop History", Button.Cancel: ""},
        Button.Yes,
        "Drop History saves at once; the steps before the save can then no longer be undone.",
    )
