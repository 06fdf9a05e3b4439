"""Copy, Copy As and Copy Offset: the selected bytes onto the system clipboard.

Every copy puts the raw bytes on the clipboard as ``application/octet-stream`` beside its text,
so a paste into mmhex (which prefers that format) gives back exactly the bytes copied, whatever
the text looked like. The text itself comes from mmhex.core.formats; this module only reads the
selection, asks before a very large copy, and runs that copy on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMimeData, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QProgressDialog

from mmhex.core.formats import COPY_FORMATS, to_hex_text
from mmhex.core.progress import Cancelled, CancelToken
from mmhex.ui.dialogs import questions
from mmhex.ui.editing import RAW_BYTES_MIME
from mmhex.ui.hex_view import Pane
from mmhex.ui.workers import BackgroundTask, ProgressCallback

# Above this a copy asks first and runs in the background (the threshold).
LARGE_COPY = 64 * 1024 * 1024
# Above this nothing is copied: the text of 1 GiB as hex is 3 GiB of memory, twice over while
# the clipboard holds it.
MAX_COPY = 1024 * 1024 * 1024
READ_CHUNK = 4 * 1024 * 1024
STATUS_MS = 6000

Formatter = Callable[[bytes, int], str]


def pane_text(data: bytes, pane: Pane, text_of: Callable[[bytes], str]) -> str:
    """What the pane shows for ``data``: hex digits (as the grid writes them) or characters."""
    if pane is Pane.HEX:
        return to_hex_text(data, upper=False)
    return text_of(data)


def clipboard_mime(text: str, data: bytes) -> QMimeData:
    """Text for other programs plus the exact bytes for hex editors (mmhex's Paste)."""
    mime = QMimeData()
    mime.setText(text)
    mime.setData(RAW_BYTES_MIME, data)
    return mime


def read_range(
    read: Callable[[int, int], bytes],
    start: int,
    end: int,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> bytes:
    """``[start, end)`` read in chunks, reporting progress and stopping when cancelled."""
    parts: list[bytes] = []
    pos = start
    while pos < end:
        if cancel is not None and cancel.cancelled:
            raise Cancelled()
        chunk = read(pos, min(READ_CHUNK, end - pos))
        if not chunk:
            break
        parts.append(chunk)
        pos += len(chunk)
        if progress is not None:
            progress(pos - start, end - start)
    return b"".join(parts)


class ClipboardController(QObject):
    """The window's Copy / Copy As / Copy Offset actions (target ``clipboard``)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.task: BackgroundTask | None = None
        self.progress: QProgressDialog | None = None
        window.view.selection_changed.connect(self.update_actions)
        window.document_changed.connect(self.update_actions)

    def update_actions(self, *_args: object) -> None:
        """Copy needs a selection, Copy Offset a file; both wait for a running copy."""
        start, end = self.window.view.selection
        has_file = self.window.document is not None and self.task is None
        actions = self.window.action_builder.actions
        for key, action in actions.items():
            if key == "edit.copy" or key.startswith("edit.copy_as."):
                action.setEnabled(has_file and end > start)
            elif key == "edit.copy_offset":
                action.setEnabled(has_file)

    # ----------------------------------------------------------------- actions
    def copy(self) -> bool:
        """Ctrl+C: what the focused pane shows, plus the raw bytes."""
        view = self.window.view
        pane = view.active_pane

        def formatter(data: bytes, offset: int) -> str:
            return pane_text(data, pane, lambda chunk: view.pane_characters(chunk, offset))

        return self._copy(formatter, "hex digits" if pane is Pane.HEX else "text")

    def copy_as(self, key: str) -> bool:
        label, formatter = COPY_FORMATS[key]
        return self._copy(formatter, label.replace("&", ""))

    def copy_offset(self) -> bool:
        """The selection's first byte (or the cursor) as ``0x…``, the way Go to reads it back."""
        view = self.window.view
        if self.window.document is None:
            return False
        offset = view.selection[0]
        address_of = getattr(self.window.document, "address_of", None)
        if address_of is not None and 0 <= offset < self.window.document.size:
            address = address_of(offset)  # a process: Go to Address reads it back
            QApplication.clipboard().setText(f"0x{address:X}")
            self._status(f"Copied address 0x{address:X} (offset 0x{offset:X}).")
            return True
        QApplication.clipboard().setText(f"0x{offset:X}")
        self._status(f"Copied offset 0x{offset:X} ({offset:,}).")
        return True

    # ----------------------------------------------------------------- copying
    def _copy(self, formatter: Formatter, what: str) -> bool:
        document = self.window.document
        if document is None or self.task is not None:
            return False
        start, end = self.window.view.selection
        length = end - start
        if length == 0:
            self._status("Nothing is selected: select the bytes to copy first.")
            return False
        if length > MAX_COPY:
            self.window.show_message(
                f"Nothing was copied: {length:,} bytes is more than the clipboard can hold here "
                f"({MAX_COPY // 2**20:,} MiB at most). Save a range with Save As or "
                "`mmhex dump` instead."
            )
            return False
        if getattr(document, "reads_held", False):
            # An in-place save is moving the file's bytes (Document.reads_held).
            self.window.show_message("Nothing was copied: saving… try again when it finishes.")
            return False
        if length <= LARGE_COPY:
            data = read_range(document.read, start, end)
            self._publish(formatter(data, start), data, what)
            return True
        if not self._confirm_large(length, what):
            return False
        self._copy_in_background(document.read, start, end, formatter, what)
        return True

    def _confirm_large(self, length: int, what: str) -> bool:
        answer = questions.ask(
            self.window,
            QMessageBox.Icon.Question,
            "Large Copy",
            f"Copy {length / 2**20:,.1f} MiB as {what}?",
            {questions.Button.Yes: "Copy", questions.Button.Cancel: ""},
            questions.Button.Cancel,
            "The clipboard will hold the text and the bytes in memory until something else is "
            "copied.",
        )
        return answer == questions.Button.Yes

    def _copy_in_background(
        self,
        read: Callable[[int, int], bytes],
        start: int,
        end: int,
        formatter: Formatter,
        what: str,
    ) -> None:
        def work(progress: ProgressCallback, cancel: CancelToken) -> tuple[str, bytes]:
            data = read_range(read, start, end, progress, cancel)
            if cancel.cancelled:
                raise Cancelled()
            return formatter(data, start), data

        task = BackgroundTask(work, self)
        dialog = QProgressDialog(f"Copying {(end - start) / 2**20:,.1f} MiB…", "Cancel", 0, 1000)
        dialog.setParent(self.window, dialog.windowFlags())
        dialog.setWindowTitle("Copy")
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(task.cancel)
        task.progressed.connect(
            lambda done, total: dialog.setValue(int(1000 * done / max(total, 1)))
        )
        task.succeeded.connect(lambda result: self._publish(result[0], result[1], what))
        task.failed.connect(self._failed)
        task.finished.connect(self._finished)
        self.task, self.progress = task, dialog
        self.update_actions()
        task.start()

    def _failed(self, error: object) -> None:
        if isinstance(error, Cancelled):
            self._status("Copy cancelled; the clipboard is unchanged.")
        else:
            self.window.show_message(f"Nothing was copied: {error}")

    def _finished(self) -> None:
        if self.progress is not None:
            self.progress.reset()
            self.progress.deleteLater()
        if self.task is not None:
            self.task.deleteLater()
        self.task = self.progress = None
        self.update_actions()
        self.window.return_focus_to_grid()

    def wait(self) -> None:
        """Block until a background copy has ended and been published (tests, shutdown)."""
        while self.task is not None:
            self.task.wait()
            QApplication.processEvents()

    def _publish(self, text: str, data: bytes, what: str) -> None:
        QApplication.clipboard().setMimeData(clipboard_mime(text, data))
        count = len(data)
        self._status(f"Copied {count:,} byte{'s' if count != 1 else ''} as {what}.")

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, STATUS_MS)


def install(window: QMainWindow) -> ClipboardController:
    """Make the ``clipboard.*`` rows of the action table live in ``window``."""
    controller = ClipboardController(window)
    window.register_action_target("clipboard", controller)
    controller.update_actions()
    return controller
