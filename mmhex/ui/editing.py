"""The editing feature: edit mode, keys and paste/fill turned into edits, undo, save in a worker.

Every change becomes a core edit value (``Edit`` overwrite, ``Splice`` insert/delete, ``Batch``)
pushed on a QUndoStack as an EditCommand; the file on disk is untouched until Save.
The Insert key switches insert (INS) and overwrite (OVR, the default; a setting) mode, shown in
the status bar. In INS mode typing inserts, Backspace and Delete delete, and Paste inserts. In OVR
mode the size never changes: typing past the last byte keeps overwriting it, a paste is clipped
at the end (or at the selection) with a message, Backspace moves back one digit or byte without
erasing, and Delete removes nothing — pressed on a selection it says so, and pressed again on
the same selection fills it with 00 (one undo step). Cut (Ctrl+X), Edit ▸ Delete Selection,
Insert Bytes… and Resize File… change the size in either mode.
Saving runs on worker threads (``Document.prepare_save``, then its run, each a BackgroundTask)
while the window stays responsive, with progress and Cancel; the undo history it keeps comes
from the stack's own record (``HistoryStack``), never a walk of the stack.
"""

from __future__ import annotations

import os
import string
import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QEventLoop, QMimeData, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolBar,
    QWidget,
)

from mmhex.core.document import (
    HISTORY_COPY_ASK,
    Change,
    ChangeKind,
    Document,
    EditError,
    PreparedSave,
)
from mmhex.core.edits import AnyEdit, Edit, HexSyntaxError, parse_hex_bytes
from mmhex.core.errors import MmhexError, describe_error
from mmhex.core.progress import Cancelled
from mmhex.core.save import FileChangedOnDiskError, SaveResult
from mmhex.ui.coalesce import Coalescer
from mmhex.ui.dialogs import questions
from mmhex.ui.dialogs.fill_dialog import FillDialog
from mmhex.ui.dialogs.history import HistoryPanel
from mmhex.ui.dialogs.size_dialog import INSERT, RESIZE, SizeDialog
from mmhex.ui.edit_actions import EDIT_ACTIONS
from mmhex.ui.hex_view import Highlight, Pane
from mmhex.ui.search.worker import stop_jobs_reading
from mmhex.ui.settings import open_settings
from mmhex.ui.toolbar_proxy import fixed_text_proxy
from mmhex.ui.undo import EditBatchCommand, EditCommand, HistoryStack, batch_of, push_command
from mmhex.ui.widgets import MessageLevel
from mmhex.ui.workers import BackgroundTask, collections_paused

# One batch (Replace all) keeps an Edit object per place, a few hundred bytes each.
MAX_BATCH_EDITS = 1_000_000
# The settings key of the mode a new window starts in (False: overwrite, as HxD and Okteta do).
INSERT_MODE_SETTING = "editing/insert_mode"
RAW_BYTES_MIME = "application/octet-stream"
STATUS_MS = 8000
# Saves shorter than this never flash a progress bar.
PROGRESS_DELAY_MS = 300
DIRTY_COLOR = QColor(255, 160, 0, 120)  # amber: readable under light and dark text


def resizable(document: object) -> bool:
    """Whether bytes can be inserted and deleted (a file's document; a process's memory not)."""
    return hasattr(document, "insert")


def repeated(pattern: bytes, length: int) -> bytes:
    """``pattern`` repeated to exactly ``length`` bytes (the last copy cut short)."""
    if not pattern:
        raise ValueError("an empty pattern cannot fill anything")
    copies = -(-length // len(pattern))
    return (pattern * copies)[:length]


def clipboard_bytes(mime: QMimeData | None, pane: Pane) -> bytes:
    """What a paste writes: raw bytes as they are, text as hex (hex pane) or characters.

    Raises ValueError with the sentence to show when the clipboard cannot be pasted here.
    """
    if mime is not None and mime.hasFormat(RAW_BYTES_MIME):
        data = bytes(mime.data(RAW_BYTES_MIME).data())
        if data:
            return data
    if mime is None or not mime.hasText() or not mime.text():
        raise ValueError("The clipboard holds no text or bytes to paste.")
    text = mime.text()
    if pane is Pane.HEX:
        try:
            return parse_hex_bytes(text)
        except HexSyntaxError as exc:
            raise ValueError(
                f"Nothing was pasted: the clipboard is not hex bytes ({exc}). "
                "Press Tab and paste in the text pane to paste it as characters."
            ) from exc
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"Nothing was pasted: {text[exc.start]!r} is not a Latin-1 character (the text pane "
            "writes one byte per character); paste hex in the hex pane instead."
        ) from exc


def progress_text(done: int, total: int, seconds: float) -> str:
    """'120 of 4,096 MiB, 85 MB/s, 47 s left' — what a long save shows beside its bar."""
    mib = 1 << 20
    text = f"{done / mib:,.0f} of {total / mib:,.0f} MiB"
    if seconds > 0 and done > 0:
        rate = done / seconds
        text += f", {rate / 1e6:,.0f} MB/s, {(total - done) / rate:,.0f} s left"
    return text


class SaveProgress(QWidget):
    """Status-bar progress of a running save, with Cancel; appears only for slow saves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop saving: the file stays exactly as it was")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._task: BackgroundTask | None = None
        self._text = ""
        self._started = 0.0
        self._reveal = QTimer(self)
        self._reveal.setSingleShot(True)
        self._reveal.timeout.connect(self._show_if_running)
        self.cancel_button.clicked.connect(self._cancel)
        self.hide()

    def start(self, text: str, task: BackgroundTask) -> None:
        self._task = task
        self._text = text
        self._started = time.monotonic()
        self.label.setText(text)
        self.bar.setValue(0)
        self.cancel_button.setEnabled(True)
        task.progressed.connect(self.set_progress)
        self._reveal.start(PROGRESS_DELAY_MS)

    def stop(self) -> None:
        self._reveal.stop()
        self._task = None
        self.hide()

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setValue(int(done * 1000 // total) if total > 0 else 0)
        self.label.setText(
            f"{self._text} {progress_text(done, total, time.monotonic() - self._started)}"
        )

    def _show_if_running(self) -> None:
        if self._task is not None and self._task.running:
            self.show()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)


class EditController(QObject):
    """Edits the window's document: keys, paste, fill, undo/redo, save, revert, edit mode."""

    # True when a save starts writing the file, False when it ended (the residency panel
    # follows the file's dirty pages closely meanwhile).
    saving_changed = Signal(bool)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.view = window.view
        # One undo stack per open document (each tab keeps its history); the group's active
        # stack is the shown document's, and ``self.stack`` always names it.
        self.undo_group = QUndoGroup(self)
        self.stack = self._empty_stack = HistoryStack(self.undo_group)
        self._stacks: list[tuple[Document, HistoryStack]] = []
        self._document: Document | None = None
        self._task: BackgroundTask | None = None
        # Consecutive keystrokes merge into one undo step while this number stays the same;
        # any cursor move the user makes starts a new run.
        self._typing_run = 0
        self._moving_cursor = False
        # (document, start, end) of a selection the user was told Delete would zero-fill.
        self._delete_armed: tuple[Document, int, int] | None = None
        self.fill_dialog: FillDialog | None = None
        self._backspace_explained = False
        self.history = HistoryPanel(self.stack)
        self.history.view.setGroup(self.undo_group)
        self.history_dock: QDockWidget | None = None
        self.progress = SaveProgress(window)
        self.toolbar: QToolBar | None = None
        self.insert_mode = bool(open_settings().value(INSERT_MODE_SETTING, False, type=bool))
        # Typing reached the end in insert mode: the next byte is appended after the last one
        # (the grid's cursor cannot sit past the last byte).
        self._append_next = False
        self._history_ends = False
        self.mode_label = QLabel(window)
        self.mode_label.setToolTip(
            "INS: typing and pasting insert bytes; OVR: they overwrite. The Insert key switches."
        )
        self._stale = Coalescer(self._refresh, self)

        self.view.key_handler = self.handle_key
        self.view.add_highlighter(self.dirty_highlights)
        self.view.cursor_moved.connect(self._on_user_move)
        self.view.selection_changed.connect(self._on_user_move)
        window.edit_mode_handler = lambda _window: self.enable_editing()
        window.close_guards.append(self.confirm_close)
        window.document_changed.connect(self._on_document_changed)
        window.document_closed.connect(self._forget_stack)
        # Before the refresh below: back at the saved step, the document may read clean again.
        self.undo_group.cleanChanged.connect(self._on_clean_changed)
        self.undo_group.indexChanged.connect(self._release_dropped_steps)
        for signal in (
            self.undo_group.indexChanged,
            self.undo_group.cleanChanged,
            self.undo_group.undoTextChanged,
            self.undo_group.redoTextChanged,
        ):
            signal.connect(self._refresh)

    def attach(self) -> None:
        """The parts that need the window's actions built: toolbar, history dock, status bar."""
        window = self.window
        actions = window.action_builder.actions
        toolbar = QToolBar("Editing", window)
        toolbar.setObjectName("toolbar:editing")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        # Short, fixed button labels: the menu items' texts change ("Undo Typing: 3 bytes…").
        for key, label in (("edit.toggle_editing", "Edit"), ("file.save", "Save")):
            actions[key].setIconText(label)
            toolbar.addAction(actions[key])
        # Undo/Redo change text on every edit: their buttons are fixed-text proxies (Qt bug).
        for key, label in (("edit.undo", "Undo"), ("edit.redo", "Redo")):
            toolbar.addAction(fixed_text_proxy(actions[key], label, toolbar))
        window.addToolBar(toolbar)
        self.toolbar = toolbar
        self.history_dock = window.add_dock(
            self.history, "Undo History", Qt.DockWidgetArea.RightDockWidgetArea, False
        )
        window.statusBar().addPermanentWidget(self.progress)
        window.statusBar().addPermanentWidget(self.mode_label)
        window.install_actions(EDIT_ACTIONS, editing=self)
        self._on_document_changed(window.document)

    # ----------------------------------------------------------------- state
    @property
    def document(self) -> Document | None:
        return self._document

    @property
    def saving(self) -> bool:
        return self._task is not None

    def _on_document_changed(self, document: Document | None) -> None:
        if document is not self._document:
            if self._document is not None:
                self._document.remove_listener(self._on_change)
            self._use_stack_of(document)
            self._document = document
            self._break_typing_run()
            if document is not None:
                document.add_listener(self._on_change)
        self._refresh()

    def _use_stack_of(self, document: Document | None) -> None:
        """Make ``document``'s own undo stack current (a new one the first time it shows)."""
        stack = next((s for d, s in self._stacks if d is document), self._empty_stack)
        if document is not None and stack is self._empty_stack:
            stack = HistoryStack(self.undo_group)
            self._stacks.append((document, stack))
        self.stack = stack
        self.undo_group.setActiveStack(stack)

    def _forget_stack(self, document: Document) -> None:
        """A tab closed: its undo history goes with it."""
        for closed in [s for d, s in self._stacks if d is document]:
            self.undo_group.removeStack(closed)
            closed.deleteLater()
        self._stacks = [(d, s) for d, s in self._stacks if d is not document]

    def _on_change(self, change: Change) -> None:
        if change.kind is ChangeKind.RELOAD:
            self._break_typing_run()
        if change.kind is ChangeKind.EDIT:
            self._stale.schedule()  # a batch of edits: one refresh when the loop turns
        else:
            self._refresh()

    def _on_user_move(self, *_args: object) -> None:
        if not self._moving_cursor:
            self._break_typing_run()

    def _break_typing_run(self) -> None:
        self._typing_run += 1
        self._delete_armed = None
        self._append_next = False

    def toggle_insert_mode(self) -> None:
        """Insert key: insert (INS) or overwrite (OVR) typing and pasting."""
        self.insert_mode = not self.insert_mode
        self._break_typing_run()
        self._status(
            "Insert mode: typing and pasting insert bytes (the file grows)."
            if self.insert_mode
            else "Overwrite mode: typing and pasting replace bytes (the size stays)."
        )
        self._refresh()

    def _refresh(self, *_args: object) -> None:
        """Action states, the title's modified mark and the nibble cursor follow the document."""
        self._stale.cancel()
        document = self._document
        editing = document is not None and document.editing
        modified = document is not None and document.modified
        idle = not self.saving
        self.view.nibble_cursor = editing
        self.view.viewport().update()
        if self.window.isWindowModified() != modified:  # Qt re-titles the window even if equal
            self.window.setWindowModified(modified)
        actions = self.window.action_builder.actions
        states = {
            "edit.undo": editing and idle and self.stack.canUndo(),
            "edit.redo": editing and idle and self.stack.canRedo(),
            "edit.paste": editing and idle,
            "edit.fill": editing and idle,
            "edit.cut": editing and idle,
            "edit.delete_selection": editing and idle,
            "edit.insert_bytes": editing and idle,
            "edit.resize": editing and idle,
            "file.save": modified and idle,
            "file.save_as": document is not None and idle,
            "file.revert": modified and idle,
            "edit.toggle_editing": document is not None and idle,
        }
        for key, enabled in states.items():
            action = actions.get(key)
            if action is not None:
                action.setEnabled(enabled)
        toggle = actions.get("edit.toggle_editing")
        if toggle is not None:
            toggle.setChecked(editing)
        mode = actions.get("edit.insert_mode")
        if mode is not None:
            mode.setChecked(self.insert_mode)
        mode_text = ("INS" if self.insert_mode else "OVR") if editing else ""
        if self.mode_label.text() != mode_text:
            self.mode_label.setText(mode_text)
        undo, redo = actions.get("edit.undo"), actions.get("edit.redo")
        if undo is not None:
            undo.setText(f"&Undo {self.stack.undoText()}".strip())
        if redo is not None:
            redo.setText(f"&Redo {self.stack.redoText()}".strip())
        self.history.setEnabled(idle)

    # ----------------------------------------------------------------- messages
    def _status(self, text: str) -> None:
        """A passing remark (what a key did, what was saved)."""
        self.window.statusBar().showMessage(text, STATUS_MS)

    def _warn(self, text: str, level: MessageLevel = MessageLevel.WARNING) -> None:
        """Something the user must read (a refusal, a failure): the message bar."""
        self.window.show_message(text, level)

    # ----------------------------------------------------------------- highlighting
    def dirty_highlights(self, start: int, end: int) -> Iterable[Highlight]:
        """Unsaved bytes among ``[start, end)``: shaded until saved or reverted."""
        document = self._document
        if document is None or not document.modified:
            return ()
        return [(low, high, DIRTY_COLOR) for low, high in document.dirty_ranges_in(start, end)]

    # ----------------------------------------------------------------- edit mode
    def toggle_editing(self) -> None:
        """Ctrl+E: private edit mode on or off."""
        document = self._document
        if document is None:
            self._status("Open a file first.")
        elif document.editing:
            self.disable_editing()
        else:
            self.enable_editing()
        self._refresh()

    def enable_editing(self) -> bool:
        """Re-map the file copy-on-write; says why when the document cannot be edited."""
        document = self._document
        if document is None:
            return False
        if document.editing:
            return True
        try:
            document.enable_editing()
        except EditError as exc:
            self._warn(str(exc))
            self._refresh()
            return False
        except (OSError, ValueError) as exc:
            self._warn(describe_error(exc, document.path), MessageLevel.ERROR)
            self._refresh()
            return False
        blocker = document.save_blocker()
        if blocker:
            self._warn(
                f"Editing privately: your changes stay in memory. {blocker}", MessageLevel.INFO
            )
        else:
            self._status("Editing enabled: changes stay in memory until you save (Ctrl+S).")
        self._refresh()
        return True

    def disable_editing(self) -> bool:
        document = self._document
        if document is None or not document.editing:
            return True
        try:
            document.disable_editing()
        except EditError as exc:
            self._warn(str(exc))
            self._refresh()
            return False
        self._clear_history()  # the steps left are all undone or saved; none replay read-only
        self._status("Read-only: editing disabled.")
        self._refresh()
        return True

    def _editable(self, *, allow_empty: bool = False) -> Document | None:
        """The document when an edit may be made now; otherwise say why and return None."""
        document = self._document
        if document is None:
            return None
        if self.saving:
            self._status("Saving… edits wait until the save has finished.")
            return None
        if not document.editing:
            if document.readonly_reason:
                self._warn(f"This file cannot be edited: {document.readonly_reason}.")
            else:
                self._status("Read-only: press Ctrl+E (Edit ▸ Enable Editing) to edit.")
            return None
        if document.size == 0 and not allow_empty:
            self._status(
                "The file is empty: there is no byte to overwrite. Press Insert to type in "
                "insert mode, or use Edit ▸ Insert Bytes."
            )
            return None
        return document

    # ----------------------------------------------------------------- keys
    def handle_key(self, event: QKeyEvent) -> bool:
        """The grid's unbound keys: typing, Backspace, Delete. True when the key was used."""
        if self._document is None:
            return False
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = modifiers == Qt.KeyboardModifier.NoModifier
        if plain and event.key() == Qt.Key.Key_Backspace:
            if self.insert_mode:
                self.delete_before_cursor()
            else:
                self.backspace()
            return True
        if plain and event.key() == Qt.Key.Key_Delete:
            if self.insert_mode:
                self.delete_selection()
            else:
                self.delete()
            return True
        command_keys = (
            Qt.KeyboardModifier.ControlModifier
            | Qt.KeyboardModifier.AltModifier
            | Qt.KeyboardModifier.MetaModifier
        )
        text = event.text()
        if modifiers & command_keys or not text or not text.isprintable():
            return False
        self.type_text(text)
        return True

    def type_text(self, text: str) -> bool:
        """Type ``text`` at the cursor: hex digits in the hex pane, characters in the text pane."""
        for char in text:
            if self.view.active_pane is Pane.HEX:
                done = self._type_hex_digit(char)
            else:
                done = self._type_character(char)
            if not done:
                return False
        return True

    def _type_hex_digit(self, char: str) -> bool:
        if char not in string.hexdigits:
            self._status(
                f"{char!r} is not a hex digit (0–9, a–f); press Tab to type characters in the "
                "text pane."
            )
            return False
        if self.insert_mode or self._empty():
            return self._insert_hex_digit(int(char, 16))
        document = self._editable()
        if document is None:
            return False
        self._collapse_selection()
        offset, nibble = self.view.cursor_offset, self.view.cursor_nibble
        try:
            old = document.read(offset, 1)[0]
        except (OSError, ValueError, IndexError) as exc:
            self._warn(describe_error(exc, document.path), MessageLevel.ERROR)
            return False
        value = int(char, 16)
        new = (value << 4) | (old & 0x0F) if nibble == 0 else (old & 0xF0) | value
        if self._write(offset, bytes([new]), "Typing", typing=True) is None:
            return False
        if nibble == 0:
            self.view.set_cursor_nibble(1)
        else:
            self._advance(offset + 1)
        return True

    def _type_character(self, char: str) -> bool:
        if ord(char) > 0xFF:
            self._status(
                f"{char!r} is not a Latin-1 character: the text pane types one byte per "
                "character; use the hex pane for other values."
            )
            return False
        if self.insert_mode or self._empty():
            offset = self._insertion_point()
            if offset is None or self._insert(offset, bytes([ord(char)]), typing=True) is None:
                return False
            self._advance(offset + 1)
            return True
        document = self._editable()
        if document is None:
            return False
        self._collapse_selection()
        offset = self.view.cursor_offset
        if self._write(offset, bytes([ord(char)]), "Typing", typing=True) is None:
            return False
        self._advance(offset + 1)
        return True

    def _empty(self) -> bool:
        """Nothing to overwrite: typing inserts whatever the mode (a new document)."""
        return self._document is not None and self._document.size == 0

    def _insertion_point(self) -> int | None:
        """Where insert-mode typing puts its byte: the cursor (a selection is replaced)."""
        document = self._editable(allow_empty=True)
        if document is None:
            return None
        start, end = self.view.selection
        if end > start:
            if (
                self._resize_record(lambda: document.delete(start, end - start), "Typing", True)
                is None
            ):
                return None
            self._place_cursor(start)
            return start
        if self._append_next or document.size == 0:
            return document.size
        return self.view.cursor_offset

    def _insert_hex_digit(self, value: int) -> bool:
        """INS: the first digit inserts a byte (high nibble), the second completes it."""
        document = self._editable(allow_empty=True)
        if document is None:
            return False
        view = self.view
        if view.cursor_nibble == 1 and not self._append_next:
            offset = view.cursor_offset
            old = document.read(offset, 1)[0]
            if self._write(offset, bytes([(old & 0xF0) | value]), "Typing", typing=True) is None:
                return False
            self._advance(offset + 1)
            return True
        offset = self._insertion_point()
        if offset is None or self._insert(offset, bytes([value << 4]), typing=True) is None:
            return False
        self._place_cursor(offset, nibble=1)
        return True

    def _place_cursor(self, offset: int, *, nibble: int = 0) -> None:
        """Move the cursor after an edit without ending the run of typing.

        In insert mode a cursor past the last byte means "append next" (the grid cannot show it).
        """
        self._moving_cursor = True
        try:
            self.view.set_cursor(offset)
            if nibble:
                self.view.set_cursor_nibble(nibble)
            size = self._document.size if self._document is not None else 0
            self._append_next = self.insert_mode and 0 < size <= offset
        finally:
            self._moving_cursor = False

    def _collapse_selection(self) -> None:
        """Typing over a selection overwrites from its first byte (the size never changes)."""
        start, end = self.view.selection
        if end > start:
            self.view.set_cursor(start)

    def _advance(self, offset: int) -> None:
        """Move on after typing, without ending the run of typing."""
        self._moving_cursor = True
        try:
            if offset <= self.view.last_offset:
                self.view.set_cursor(offset)
                self._append_next = False
            elif self.insert_mode:
                self.view.set_cursor_nibble(0)
                self._append_next = True
                self._status("End of file: typing goes on appending bytes.")
            else:
                self.view.set_cursor_nibble(0)
                self._status(
                    "End of file: typing overwrites the last byte (press Insert to append)."
                )
        finally:
            self._moving_cursor = False

    def backspace(self) -> None:
        """Move back one hex digit or byte; never erases (overwrite editing has nothing to pull)."""
        view = self.view
        if view.active_pane is Pane.HEX and view.cursor_nibble == 1:
            view.set_cursor_nibble(0)
        else:
            view.set_cursor(view.cursor_offset - 1)
        if not self._backspace_explained:
            # Once: a status message hides the offset label, which matters more while moving.
            self._backspace_explained = True
            self._status(
                "Backspace moves back without erasing: typing overwrites, nothing is deleted."
            )

    def delete(self) -> None:
        """Delete removes nothing; pressed twice on a selection it fills that with 00."""
        document = self._editable()
        if document is None:
            return
        start, end = self.view.selection
        if end == start:
            self._status(
                "Delete removes nothing: editing overwrites and keeps the file's size. Select "
                "bytes and press Delete twice to fill them with 00, or use Edit ▸ Fill Selection."
            )
            return
        armed = (document, start, end)
        if self._delete_armed != armed:
            self._delete_armed = armed
            self._status(
                f"Press Delete again to fill the {end - start:,} selected bytes with 00 "
                "(bytes are never removed; Ctrl+Z undoes it)."
            )
            return
        self._delete_armed = None
        if self._fill_record(document, start, end, b"\0", "Zero-fill") is not None:
            self._status(
                f"Filled {end - start:,} bytes with 00 from 0x{start:x}; Ctrl+Z undoes it."
            )

    def delete_before_cursor(self) -> None:
        """INS Backspace: delete the selection, or the byte before the cursor."""
        document = self._editable()
        if document is None:
            return
        start, end = self.view.selection
        if end > start:
            self.delete_selection()
            return
        offset = document.size if self._append_next else self.view.cursor_offset
        if offset == 0:
            self._status("Nothing before the first byte to delete.")
            return
        if self._resize_record(lambda: document.delete(offset - 1, 1), "Typing", True) is not None:
            self._place_cursor(offset - 1)

    def delete_selection(self) -> bool:
        """Edit ▸ Delete Selection (and Delete in INS mode): remove the bytes; the file shrinks."""
        document = self._editable()
        if document is None:
            return False
        start, end = self.view.selection
        if end == start:
            if not self.insert_mode:
                self._status("Select the bytes to delete first (Shift+arrows or drag).")
                return False
            end = start + 1
        if self._resize_record(lambda: document.delete(start, end - start), "") is None:
            return False
        self.view.set_cursor(start)
        self._status(
            f"Deleted {end - start:,} byte{'s' if end - start != 1 else ''} at 0x{start:x}."
        )
        return True

    def cut(self) -> bool:
        """Ctrl+X: copy the selection as Copy does (pane text + raw bytes), then delete it."""
        # clipboard.py imports this module (RAW_BYTES_MIME): import it when first used.
        from mmhex.ui.clipboard import MAX_COPY, clipboard_mime, pane_text

        document = self._editable()
        if document is None:
            return False
        start, end = self.view.selection
        if end == start:
            self._status("Select the bytes to cut first (Shift+arrows or drag).")
            return False
        if end - start > MAX_COPY:
            self._warn(
                f"Nothing was cut: {end - start:,} bytes is more than the clipboard can hold "
                f"({MAX_COPY // 2**20:,} MiB at most). Edit ▸ Delete Selection removes them."
            )
            return False
        try:
            data = document.read(start, end - start)
        except (OSError, ValueError) as exc:
            self._warn(describe_error(exc, document.path), MessageLevel.ERROR)
            return False
        pane = self.view.active_pane
        text = pane_text(data, pane, lambda chunk: self.view.pane_characters(chunk, start))
        QApplication.clipboard().setMimeData(clipboard_mime(text, data))
        if self._resize_record(lambda: document.delete(start, end - start), "Cut") is None:
            return False
        self.view.set_cursor(start)
        self._status(f"Cut {end - start:,} byte{'s' if end - start != 1 else ''} at 0x{start:x}.")
        return True

    def show_insert_dialog(self) -> SizeDialog | None:
        """Edit ▸ Insert Bytes…: a count (4k, 0x100) of a byte or pattern at the cursor."""
        document = self._editable(allow_empty=True)
        if document is None:
            return None
        offset = document.size if self._append_next else self.view.cursor_offset
        dialog = SizeDialog(INSERT, offset, document.size, self.window)
        dialog.accepted.connect(
            lambda: self.insert_bytes(offset, dialog.count or 0, dialog.pattern or b"\0")
        )
        return self._open_dialog(dialog)

    def show_resize_dialog(self) -> SizeDialog | None:
        """Edit ▸ Resize File…: truncate, or extend with a fill byte or pattern."""
        document = self._editable(allow_empty=True)
        if document is None:
            return None
        dialog = SizeDialog(RESIZE, 0, document.size, self.window)
        dialog.accepted.connect(
            lambda: self.resize(dialog.count if dialog.count is not None else document.size,
                                dialog.pattern or b"\0")
        )  # fmt: skip
        return self._open_dialog(dialog)

    def _open_dialog(self, dialog: SizeDialog) -> SizeDialog:
        dialog.finished.connect(self.window.return_focus_to_grid)
        dialog.finished.connect(dialog.deleteLater)
        self.size_dialog = dialog
        dialog.open()
        return dialog

    def insert_bytes(self, offset: int, count: int, pattern: bytes) -> bool:
        """Insert ``count`` bytes of ``pattern`` repeated before ``offset`` (stores nothing)."""
        document = self._editable(allow_empty=True)
        if document is None or count <= 0:
            return False
        if self._resize_record(lambda: document.insert_fill(offset, count, pattern), "") is None:
            return False
        self.view.set_cursor(offset)
        self._status(f"Inserted {count:,} byte{'s' if count != 1 else ''} at 0x{offset:x}.")
        return True

    def resize(self, size: int, pattern: bytes = b"\0") -> bool:
        """Truncate to ``size`` or extend to it with ``pattern`` repeated."""
        document = self._editable(allow_empty=True)
        if document is None:
            return False
        old = document.size
        if self._resize_record(lambda: document.resize(size, pattern), "") is None:
            return False
        self._status(f"Resized from {old:,} to {size:,} bytes.")
        return True

    # ----------------------------------------------------------------- writing
    def _record(
        self, make: Callable[[], AnyEdit], label: str, typing: bool = False
    ) -> AnyEdit | None:
        """Make an edit through the document and push its undo step; None if refused."""
        document = self._document
        assert document is not None
        try:
            edit = make()
        except EditError as exc:
            self._warn(str(exc))
            return None
        except (OSError, ValueError) as exc:
            self._warn(describe_error(exc, document.path), MessageLevel.ERROR)
            return None
        if not (isinstance(edit, Edit) and edit.old == edit.new):
            push_command(
                self.stack,
                EditCommand(
                    document,
                    edit,
                    label,
                    typing=typing,
                    run=self._typing_run,
                    on_error=self._warn,
                ),
            )
        return edit

    def _resize_record(
        self, make: Callable[[], AnyEdit], label: str, typing: bool = False
    ) -> AnyEdit | None:
        """``_record`` for an edit that changes the size; refused with a reason where the
        document cannot grow or shrink (a process's memory)."""
        if not resizable(self._document):
            self._warn(
                "This memory cannot grow or shrink: inserting and deleting bytes works on files. "
                "Press Insert for overwrite mode."
            )
            return None
        return self._record(make, label, typing)

    def _fill_record(
        self, document: Document, start: int, end: int, pattern: bytes, label: str
    ) -> AnyEdit | None:
        """A fill: a pattern piece where the document has them, else the bytes written."""
        if hasattr(document, "fill"):
            return self._record(lambda: document.fill(start, end - start, pattern), label)
        return self._write(start, repeated(pattern, end - start), label)

    def _write(
        self, offset: int, data: bytes, label: str, *, typing: bool = False
    ) -> AnyEdit | None:
        """Overwrite through the document and push the undo step; None if refused."""
        document = self._document
        assert document is not None
        return self._record(lambda: document.write(offset, data), label, typing)

    def _insert(self, offset: int, data: bytes, *, typing: bool = False) -> AnyEdit | None:
        document = self._document
        assert document is not None
        return self._resize_record(
            lambda: document.insert(offset, data), "Typing" if typing else "", typing
        )

    def _write_range(self, offset: int, data: bytes, label: str) -> AnyEdit | None:
        return self._write(offset, data, label)

    def apply_edits(self, edits: list[tuple[int, bytes]], label: str) -> bool:
        """Several overwrites as one undo step (Replace all, the inspector); True if all done.

        Stops at the first edit the document refuses and says why; what was written before
        it stays, as one step that Undo takes back.
        """
        document = self._editable()
        if document is None or not edits:
            return False
        if len(edits) > MAX_BATCH_EDITS:
            self._warn(
                f"{label} refused: {len(edits):,} places; one step may change at most "
                f"{MAX_BATCH_EDITS:,} (each keeps its old bytes for undo)."
            )
            return False
        done: list[AnyEdit] = []
        refusal = ""
        # Places whose replacement has another length shift every later place: make them
        # last to first, so each offset still means what it meant when the places were found.
        resizing = any(len(item) > 2 and item[2] != len(item[1]) for item in edits)
        ordered = sorted(edits, key=lambda item: item[0], reverse=True) if resizing else edits
        if resizing and not resizable(document):
            self._warn(f"{label} refused: this memory cannot grow or shrink, so a replacement "
                       "must have the length of what it replaces.")  # fmt: skip
            return False
        with batch_of(document):  # listeners hear of the whole step once
            for item in ordered:
                offset, data = item[0], item[1]
                try:
                    if len(item) > 2 and item[2] != len(data):
                        done.append(document.replace(offset, item[2], data))
                    else:
                        done.append(document.write(offset, data))
                except EditError as exc:
                    refusal = str(exc)
                except (OSError, ValueError) as exc:
                    refusal = describe_error(exc, document.path)
                if refusal:
                    break
        changed = [edit for edit in done if not (isinstance(edit, Edit) and edit.old == edit.new)]
        if len(changed) == 1:
            push_command(self.stack, EditCommand(document, changed[0], label, on_error=self._warn))
        elif changed:
            push_command(
                self.stack, EditBatchCommand(document, changed, label, on_error=self._warn)
            )
        if refusal:
            self._warn(f"{label} stopped after {len(done):,} of {len(edits):,} places: {refusal}")
            return False
        self._status(f"{label}: {len(done):,} place{'s' if len(done) != 1 else ''} changed.")
        return True

    def paste(self) -> bool:
        """Ctrl+V: overwrite the selection (or from the cursor) with the clipboard; INS inserts."""
        document = self._editable(allow_empty=self.insert_mode)
        if document is None:
            return False
        try:
            data = clipboard_bytes(QApplication.clipboard().mimeData(), self.view.active_pane)
        except ValueError as exc:
            self._warn(str(exc))
            return False
        start, end = self.view.selection
        if self.insert_mode:
            return self._paste_inserting(document, data, start, end)
        if end > start:
            room, limit = end - start, "the selection"
        else:
            start = self.view.cursor_offset
            room, limit = document.size - start, "the end of the file"
        total = len(data)
        data = data[:room]
        if self._write_range(start, data, "Paste") is None:
            return False
        self.view.set_cursor(min(start + len(data), self.view.last_offset))
        if total > room:
            self._warn(
                f"Pasted {room:,} of {total:,} bytes at 0x{start:x}: the rest would run past "
                f"{limit} (pasting overwrites; the file never grows — press Insert to paste "
                "in insert mode).",
                MessageLevel.INFO,
            )
        else:
            self._status(f"Pasted {total:,} byte{'s' if total != 1 else ''} at 0x{start:x}.")
        return True

    def _paste_inserting(self, document: Document, data: bytes, start: int, end: int) -> bool:
        """INS paste: the clipboard replaces the selection, or goes in before the cursor."""
        if end == start:
            start = end = document.size if self._append_next else self.view.cursor_offset
        made = self._resize_record(lambda: document.replace(start, end - start, data), "Paste")
        if made is None:
            return False
        self._place_cursor(start + len(data))
        self._status(f"Inserted {len(data):,} byte{'s' if len(data) != 1 else ''} at 0x{start:x}.")
        return True

    def show_fill_dialog(self) -> FillDialog | None:
        """Edit ▸ Fill Selection: ask for a byte or pattern (window-modal, non-blocking)."""
        document = self._editable()
        if document is None:
            return None
        start, end = self.view.selection
        if end == start:
            self._status("Select the bytes to fill first (Shift+arrows or drag).")
            return None
        dialog = FillDialog(start, end - start, self.window)
        dialog.accepted.connect(lambda: self.fill(start, end, dialog.pattern or b""))
        dialog.finished.connect(self.window.return_focus_to_grid)
        dialog.finished.connect(dialog.deleteLater)
        self.fill_dialog = dialog
        dialog.open()
        return dialog

    def fill(self, start: int, end: int, pattern: bytes) -> bool:
        """Overwrite ``[start, end)`` with ``pattern`` repeated (one undo step)."""
        document = self._editable()
        if document is None or not pattern or end <= start:
            return False
        if self._fill_record(document, start, end, pattern, "Fill") is None:
            return False
        self._status(f"Filled {end - start:,} bytes from 0x{start:x} with {pattern.hex(' ')}.")
        return True

    # ----------------------------------------------------------------- undo
    def undo(self) -> None:
        if self._editable() is None or not self.stack.canUndo():
            return
        command = self.stack.command(self.stack.index() - 1)
        self.stack.undo()
        self._reveal(command)

    def redo(self) -> None:
        if self._editable() is None or not self.stack.canRedo():
            return
        command = self.stack.command(self.stack.index())
        self.stack.redo()
        self._reveal(command)

    def _reveal(self, command: object) -> None:
        """Put the cursor on what an undo or redo changed."""
        if isinstance(command, EditCommand):
            self.view.set_cursor(command.edit.offset)
        elif isinstance(command, EditBatchCommand):
            self.view.set_cursor(command.first_offset)

    def show_history(self) -> None:
        if self.history_dock is not None:
            self.history_dock.show()
            self.history_dock.raise_()

    # ----------------------------------------------------------------- save
    def save(self) -> bool:
        """Ctrl+S: write the edits into the file; True when the file now holds them."""
        document = self._document
        if document is None:
            return True
        if self.saving:
            self._status("A save is already running.")
            return False
        if getattr(document, "scratch", False):
            return self.save_as()  # File ▸ New: there is no file yet, ask where
        if not document.modified:
            self._status("Nothing to save: the file already holds what you see.")
            return True
        blocker = document.save_blocker()
        if blocker:
            if questions.ask_save_elsewhere(self.window, blocker):
                return self.save_as()
            self._status("Not saved; your edits are kept.")
            return False
        history = self._history_to_keep(document)
        if history is False:
            self._status("Not saved; your edits are kept.")
            return False
        return self._save_with(
            lambda overwrite: document.prepare_save(
                overwrite_outside_changes=overwrite, history=history
            ),
            f"Saving {os.path.basename(document.path)}…",
            history,
        )

    def save_as(self) -> bool:
        """Ctrl+Shift+S: write the file with the edits to a new file and continue with it."""
        document = self._document
        if document is None or self.saving:
            return False
        target = self.ask_save_path(document)
        if not target:
            return False
        history = self._history_to_keep(document)
        if history is False:
            self._status("Not saved; your edits are kept.")
            return False
        # A process's Save As (a snapshot) has no history to keep.
        keep = {"history": history} if hasattr(document, "history_copy_bytes") else {}
        return self._save_with(
            # Only a save onto the file itself can meet someone else's changes: overwrite there.
            lambda overwrite: (
                document.prepare_save(overwrite_outside_changes=True, history=history)
                if overwrite
                else document.prepare_save_as(target, **keep)
            ),
            f"Saving as {os.path.basename(target)}…",
            history,
        )

    def ask_save_path(self, document: Document) -> str:
        scratch = getattr(document, "scratch", False)
        start = os.path.join(os.getcwd(), "Untitled") if scratch else document.path
        path, _filter = QFileDialog.getSaveFileName(self.window, "Save As", start)
        return path

    def new_document(self) -> Document | None:
        """File ▸ New (Ctrl+N): an empty document in memory, in a new tab; Save asks where."""
        if self.saving:
            return None
        try:
            document = Document.new_scratch()
        except OSError as exc:
            self._warn(describe_error(exc), MessageLevel.ERROR)
            return None
        self.window.set_document(document, new_tab=True)
        self.insert_mode = True  # an empty document has nothing to overwrite
        self._status("New document in insert mode: type to add bytes; Save asks where.")
        self._refresh()
        return document

    def _history_edits(self) -> list[AnyEdit]:
        """Every step of the current undo stack (done and undone), as core edit values.

        From the stack's own record of its commands: asking the stack for each (one PySide call
        a step) froze the window for a second or two at Save after 100,000 steps."""
        edits: list[AnyEdit] = []
        for command in self.stack.commands():
            if isinstance(command, EditCommand):
                edits.append(command.edit)
            elif isinstance(command, EditBatchCommand):
                edits.extend(command.edits)
        return edits

    def _history_to_keep(self, document: Document) -> list[AnyEdit] | bool | None:
        """The history a save must keep usable; None to drop it, False when the user cancels.

        Past HISTORY_COPY_ASK of old bytes to copy first, the user chooses (never silently).
        """
        with collections_paused():
            history = self._history_edits()
            needed = getattr(document, "history_copy_bytes", None)
            if not history or needed is None:
                return history
            # Off the window's thread: it walks every step (0.2 s after 100,000 inserted ones).
            copy = self._off_thread(lambda: needed(history))
        assert isinstance(copy, int)
        if copy <= HISTORY_COPY_ASK:
            return history
        answer = questions.ask_keep_history(self.window, copy)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        return history if answer == QMessageBox.StandardButton.Yes else None

    def _clear_history(self) -> None:
        """QUndoStack.clear(), and the old files only the history held are closed."""
        self.stack.clear()
        document = self._document
        if document is not None and hasattr(document, "release_history"):
            document.release_history([])

    def _release_dropped_steps(self, *_args: object) -> None:
        """A push dropped the undone steps: close old files that only they needed."""
        document = self._document
        if document is not None and getattr(document, "retired_files", 0):
            document.release_history(self._history_edits())

    def _on_clean_changed(self, clean: bool) -> None:
        """Undo then redo back to the saved step: the document reads as the file again."""
        document = self._document
        if clean and document is not None and hasattr(document, "back_at_saved_state"):
            document.back_at_saved_state()

    def _save_with(
        self,
        prepare: Callable[[bool], PreparedSave],
        text: str,
        history: list[AnyEdit] | None = None,
    ) -> bool:
        """Prepare, run in the worker, ask before overwriting outside changes, finish."""
        with collections_paused():
            return self._prepare_run_finish(prepare, text, history)

    def _prepare_run_finish(
        self,
        prepare: Callable[[bool], PreparedSave],
        text: str,
        history: list[AnyEdit] | None,
    ) -> bool:
        document = self._document
        # An insert or delete saved without keeping the history: the steps before the save
        # name bytes of the file's old layout, so the history ends with such a save.
        self._history_ends = history is None and bool(getattr(document, "layout_changed", False))
        overwrite = False
        while True:
            try:
                # Off the window's thread: planning a save that moves bytes walks every piece
                # (seconds after 100,000 inserts); the window stays responsive meanwhile.
                self._status(text)
                job = self._off_thread(lambda overwrite=overwrite: prepare(overwrite))
                assert isinstance(job, PreparedSave)
            except (MmhexError, OSError, ValueError) as exc:
                self._warn(describe_error(exc), MessageLevel.ERROR)
                return False
            outcome = self.run_in_worker(job, text)
            if isinstance(outcome, FileChangedOnDiskError) and not overwrite:
                if questions.ask_overwrite_outside_changes(self.window, outcome.question):
                    overwrite = True
                    continue
                self._status("Not saved: the file keeps the other program's changes.")
                return False
            return self._finish_save(job, outcome)

    def run_in_worker(self, job: PreparedSave, text: str) -> SaveResult | BaseException:
        """Run ``job`` on a worker thread; the window keeps handling events meanwhile."""
        task = BackgroundTask(job.run, self)
        self._task = task
        # Our own writes to the file must not read as another program's changes.
        self.window.outside_checks_paused = True
        self._refresh()
        self.progress.start(text, task)
        self.saving_changed.emit(True)
        document = self._document
        if document is not None and getattr(document, "reads_held", False):
            # This save moves the file's bytes under the document's mapping: a search or
            # checksum still reading it would read them half-moved. Stop it first.
            stopped = stop_jobs_reading(document.path, QApplication.processEvents)
            if stopped:
                self._status(
                    "The search or checksum under way was stopped: saving moves the bytes."
                )
        try:
            result = self._wait_for(task)
        finally:
            self.progress.stop()
            self._task = None
            self.window.outside_checks_paused = False
            task.deleteLater()
            self._refresh()
            view = getattr(self.window, "view", None)
            if view is not None:  # rows a read refused during the save: read them now
                view.viewport().update()
            self.saving_changed.emit(False)
        assert isinstance(result, SaveResult | BaseException)
        return result

    def _off_thread(self, work: Callable[[], object]) -> object:
        """``work()`` on a worker thread while the window keeps turning; edits, saves and the
        re-check for outside changes (which may reload the document) wait meanwhile, as during
        a save. Raises what ``work`` raised."""
        task = BackgroundTask(lambda _progress, _cancel: work(), self)
        self._task = task
        paused = self.window.outside_checks_paused
        self.window.outside_checks_paused = True
        self._refresh()
        try:
            outcome = self._wait_for(task)
        finally:
            self._task = None
            self.window.outside_checks_paused = paused
            task.deleteLater()
            self._refresh()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _wait_for(self, task: BackgroundTask) -> object:
        """Start ``task`` and turn the event loop until it has ended; what it returned, or
        the exception it raised."""
        outcome: list[object] = []
        loop = QEventLoop(self)
        task.succeeded.connect(outcome.append)
        task.failed.connect(outcome.append)
        task.finished.connect(loop.quit)
        try:
            task.start()
            loop.exec()
        finally:
            task.wait()
        return outcome[0]

    def _finish_save(self, job: PreparedSave, outcome: SaveResult | BaseException) -> bool:
        if isinstance(outcome, Cancelled):
            self._warn("Save cancelled: the file is unchanged and your edits are kept.")
            return False
        if isinstance(outcome, BaseException):
            self._warn(describe_error(outcome), MessageLevel.ERROR)
            return False
        try:
            result = job.finish(outcome)
        except (OSError, ValueError) as exc:
            self._warn(
                f"The edits were written to {job.path}, but it could not be shown again: "
                f"{describe_error(exc)}",
                MessageLevel.ERROR,
            )
            return False
        if self._history_ends:
            self._clear_history()
            self._status(f"{result.message} The undo history starts again from here.")
        else:
            self.stack.setClean()
            self._status(result.message)
        return True

    def revert(self) -> bool:
        """File ▸ Revert: drop every unsaved edit after asking."""
        document = self._document
        if document is None or self.saving:
            return False
        if not document.modified:
            self._status("Nothing to revert: there are no unsaved edits.")
            return False
        name = os.path.basename(document.path)
        unsaved = getattr(document, "unsaved_bytes", None)
        if unsaved is None:
            unsaved = sum(high - low for low, high in document.dirty_ranges())
        if not questions.confirm_revert(self.window, name, unsaved):
            return False
        clean = self.stack.cleanIndex()
        if clean >= 0:
            # Step back through the history first, so that whatever follows offsets through
            # inserts and deletes (bookmarks) follows the way back too; one notification.
            with batch_of(document):
                self.stack.setIndex(clean)
        document.revert_all()
        self._clear_history()
        self._status("Reverted: every unsaved edit was discarded; the file on disk is unchanged.")
        return True

    # ----------------------------------------------------------------- closing
    def confirm_close(self) -> bool:
        """Before the document is closed or replaced: Save / Discard / Cancel unsaved edits."""
        if self.saving:
            self._status("A save is running: wait for it to finish, or press Cancel.")
            return False
        document = self._document
        if document is None or not document.modified:
            return True
        answer = questions.ask_unsaved_edits(self.window, os.path.basename(document.path))
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard


def install(window: QMainWindow) -> EditController:
    """Add editing to ``window``: actions (File, Edit, toolbar), undo history dock, save worker."""
    controller = EditController(window)
    window.register_action_target("editing", controller)
    controller.attach()
    return controller
