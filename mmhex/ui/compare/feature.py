"""File ▸ Compare With…: opens a CompareWindow of the main window's file against another file.

``install(main_window)`` adds the menu row (``COMPARE_ACTION``) and its ``compare`` target;
the main window's Document is shared, so its unsaved edits are compared and update the
result. When the main window lets go of that document, the compare window re-opens the file.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QMainWindow

from mmhex.core.document import Document
from mmhex.core.errors import describe_error
from mmhex.ui.actions import ACTIONS, ActionSpec
from mmhex.ui.compare.window import CompareWindow

COMPARE_ACTION = ActionSpec(
    "file.compare",
    "Compar&e With…",
    "compare.compare_with_dialog",
    "&File",
    ("Ctrl+K",),
    tip="Compare the open file with another one, side by side",
)


def _rows_after(key: str) -> tuple[ActionSpec, ...]:
    """The table's rows after ``key`` (already built: the builder only uses them as anchors)."""
    keys = [spec.key for spec in ACTIONS]
    return ACTIONS[keys.index(key) + 1 :] if key in keys else ()


class CompareFeature(QObject):
    """Opens compare windows for ``main_window`` and keeps their A side valid."""

    def __init__(self, main_window: QMainWindow) -> None:
        super().__init__(main_window)
        self.main_window = main_window
        self.windows: list[CompareWindow] = []
        main_window.document_changed.connect(self._on_main_document)
        main_window.installEventFilter(self)
        # The rows after it let the builder put the item in its place (after Open Recent).
        main_window.install_actions((COMPARE_ACTION, *_rows_after("file.recent")), compare=self)

    def compare_with_dialog(self) -> None:
        """Ask for the file(s) to compare: A is the open file (asked for when there is none)."""
        window = self.main_window
        if window.document is None:
            path_a, _ = QFileDialog.getOpenFileName(window, "Compare: first file (A)")
            if not path_a or window.open_path(path_a) is not None:
                return
        path_b, _ = QFileDialog.getOpenFileName(
            window, f"Compare {os.path.basename(window.document.path)} with (B)"
        )
        if path_b:
            self.compare_with(path_b)

    def compare_with(self, path_b: str) -> CompareWindow | str:
        """Open the compare window of the open file against ``path_b`` (or the error sentence)."""
        window = self.main_window
        if window.document is None:
            return "Open a file first: it is compared with the other one."
        try:
            document_b = Document.open(path_b, readonly=True)
        except (OSError, ValueError) as exc:
            message = describe_error(exc, path_b)
            window.show_message(message)
            return message
        compare_window = CompareWindow(window.document, document_b, owns_a=False, owns_b=True)
        self.windows.append(compare_window)
        compare_window.destroyed.connect(lambda *_: self._forget(compare_window))
        saving_changed = getattr(window.action_targets.get("editing"), "saving_changed", None)
        if saving_changed is not None:  # a save that moves A's bytes pauses the compare
            saving_changed.connect(compare_window.set_saving)
        compare_window.show()
        # Without a window manager nothing activates a new window: its shortcuts (F7 …) would
        # stay dead until a click. The main window does the same for itself (focus_grid).
        compare_window.activateWindow()
        compare_window.view_a.setFocus()
        return compare_window

    def _forget(self, compare_window: CompareWindow) -> None:
        if compare_window in self.windows:
            self.windows.remove(compare_window)

    def _on_main_document(self, document: Document | None) -> None:
        """The main window shows another document: windows comparing the old one re-open it."""
        for compare_window in list(self.windows):
            old = compare_window.document_a
            if old is document:
                continue
            try:
                reopened = Document.open(old.path, readonly=True)
            except (OSError, ValueError):
                compare_window.close()
                continue
            compare_window.replace_document_a(reopened, owned=True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.main_window and event.type() == QEvent.Type.Close:
            # After the window decided (unsaved edits may keep it open): close ours with it.
            QTimer.singleShot(0, self._close_if_main_closed)
        return False

    def _close_if_main_closed(self) -> None:
        if not self.main_window.isVisible():
            self.close_all()

    def close_all(self) -> None:
        for compare_window in list(self.windows):
            compare_window.close()


def install(main_window: QMainWindow) -> CompareFeature:
    """Add File ▸ Compare With… to ``main_window``."""
    return CompareFeature(main_window)


def open_compare_request(main_window: QMainWindow, path_a: str, path_b: str) -> int:
    """``mmhex --compare A B``: open A in the window and compare it with B; 1 on failure."""
    import sys

    error = main_window.open_path(path_a)
    if error is None:
        feature = main_window.findChild(CompareFeature)
        if feature is None:
            feature = install(main_window)
        outcome = feature.compare_with(path_b)
        error = outcome if isinstance(outcome, str) else None
    if error is not None:
        print(f"mmhex: {error}", file=sys.stderr, flush=True)
        return 1
    return 0
