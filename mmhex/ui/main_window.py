"""MainWindow: menus from the action table, the hex grid, the status bar and the file's lifecycle.

It opens and closes Documents, turns every failure into one sentence in the message bar
(errors.describe_error), watches the file for outside changes and keeps the view options
persistent. Extension points for later features: ``add_dock``, ``install_actions`` /
``register_action_target``, ``HexView.add_highlighter``, the ``document_changed`` signal,
``edit_mode_handler`` (called by ``request_edit_mode``), ``close_guards`` (asked before the
document is closed or replaced) and ``outside_checks_paused`` (while our own save writes the file).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmhex.about import ABOUT
from mmhex.core.document import Change, ChangeKind, Document
from mmhex.core.errors import FileTruncatedError, describe_error
from mmhex.core.expressions import ExpressionError, resolve_goto
from mmhex.core.mapping import OpenMode
from mmhex.ui import settings
from mmhex.ui.actions import ACTIONS, ActionBuilder, ActionSpec
from mmhex.ui.file_watch import FileWatcher
from mmhex.ui.goto_dialog import GotoDialog
from mmhex.ui.hex_view import HexView, fixed_font
from mmhex.ui.settings import ViewOptions
from mmhex.ui.theme import apply_theme
from mmhex.ui.widgets import MessageBar, MessageLevel, Placeholder

EditModeHandler = Callable[["MainWindow"], bool]
CloseGuard = Callable[[], bool]  # False keeps the document open (the user chose Cancel)


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} EiB"


class MainWindow(QMainWindow):
    """One window showing at most one document."""

    visible_range_changed = Signal(object, object)  # [start, end) bytes on screen
    document_changed = Signal(object)  # the Document shown now (None when closed); also on reload

    def __init__(self, options: ViewOptions | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("mmhex")
        self.setAcceptDrops(True)
        self.document: Document | None = None
        self.edit_requested = False
        # Set by the editing feature; request_edit_mode() calls it.
        self.edit_mode_handler: EditModeHandler | None = None
        # Asked before the document is closed or replaced (unsaved edits: Save/Discard/Cancel).
        self.close_guards: list[CloseGuard] = []
        # Set while mmhex itself writes the file (a save): its own writes are not outside changes.
        self.outside_checks_paused = False
        self.goto_dialog: GotoDialog | None = None
        self.options = (options or settings.load_view_options()).normalized()
        self._applied_options: ViewOptions | None = None

        self.view = HexView(self)
        self.placeholder = Placeholder(self)
        self.placeholder.open_requested.connect(self.open_file_dialog)
        self.message_bar = MessageBar(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.watcher = FileWatcher(self)
        self.watcher.check_requested.connect(self.check_outside_change)
        # Queued: a failed read happens inside a paint; re-check the file after it.
        self.view.model.read_failed.connect(
            self._on_read_failed, Qt.ConnectionType.QueuedConnection
        )
        self.view.cursor_moved.connect(self._update_status)
        self.view.visible_range_changed.connect(self.visible_range_changed)
        self.view.selection_changed.connect(self._update_status)
        self.view.zoom_requested.connect(self._zoom_step)

        self.cursor_label = QLabel(self)
        self.selection_label = QLabel(self)
        self.size_label = QLabel(self)
        self.mode_label = QLabel(self)
        status = self.statusBar()
        status.addWidget(self.cursor_label)
        status.addWidget(self.selection_label)
        status.addPermanentWidget(self.size_label)
        status.addPermanentWidget(self.mode_label)

        self._targets: dict[str, object] = {"window": self, "view": self.view}
        self.action_builder = ActionBuilder(self.menuBar(), self)
        self.action_builder.build(ACTIONS, self._targets)
        self.apply_options(self.options, save=False)
        geometry = settings.load_window_geometry()
        self._geometry_restored = bool(geometry) and self.restoreGeometry(geometry)
        if not self._geometry_restored:
            self.resize(self._content_width(), self._first_height())
        self._show_document_state()

    # ----------------------------------------------------------------- extension points
    def add_dock(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        visible_by_default: bool = True,
    ) -> QDockWidget:
        """Put ``widget`` in a dock panel with a View ▸ Panels toggle."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock:{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        dock.setVisible(visible_by_default)
        self.action_builder.menu("&View/&Panels").addAction(dock.toggleViewAction())
        if not self._geometry_restored and not self.isVisible():
            # A first window makes room for the grid and its side panels together.
            self.resize(max(self.width(), self._content_width()), self.height())
        return dock

    def _first_height(self) -> int:
        """A first window tall enough for the side panels: most of the screen, at most 1000."""
        screen = self.screen()
        if screen is None:
            return 640
        return max(480, min(1000, int(screen.availableGeometry().height() * 0.85)))

    def _content_width(self) -> int:
        """The grid's full width plus the side docks shown beside it, within the screen."""
        # Docks on one side share a column: that side needs its widest dock, not their sum.
        widest = {Qt.DockWidgetArea.LeftDockWidgetArea: 0, Qt.DockWidgetArea.RightDockWidgetArea: 0}
        for dock in self.findChildren(QDockWidget):
            area = self.dockWidgetArea(dock)
            if area in widest and not dock.isHidden() and not dock.isFloating():
                widest[area] = max(widest[area], dock.sizeHint().width() + 8)
        docks = sum(widest.values())
        width = self.view.sizeHint().width() + 40 + docks
        screen = self.screen()
        return min(width, screen.availableGeometry().width()) if screen else width

    def register_action_target(self, name: str, target: object) -> None:
        """Make ``name.method`` slots of the action table resolvable, and build their actions."""
        self._targets[name] = target
        self.action_builder.build(ACTIONS, self._targets)

    def install_actions(self, specs: tuple[ActionSpec, ...], **targets: object) -> None:
        """Add a feature's own rows (same format as actions.ACTIONS)."""
        self._targets.update(targets)
        self.action_builder.build(specs, self._targets)

    def request_edit_mode(self) -> bool:
        """Ask for private editing; True when the editing feature switched the document over."""
        self.edit_requested = True
        if self.edit_mode_handler is not None:
            return self.edit_mode_handler(self)
        if self.document is not None:
            self.show_message(
                "Editing is not available in this version: the file is shown read-only.",
                MessageLevel.INFO,
            )
        return False

    # ----------------------------------------------------------------- documents
    def may_close_document(self) -> bool:
        """Ask every close guard (unsaved edits); False when the user wants to keep the file."""
        if self.document is None:
            return True
        return all(guard() for guard in self.close_guards)

    def open_path(self, path: str, *, readonly: bool = False) -> str | None:
        """Open ``path``; returns None, or the sentence shown to the user when it failed."""
        if not self.may_close_document():
            return f"{path} was not opened: the open file has unsaved edits."
        try:
            document = Document.open(path, readonly=readonly)
        except (OSError, ValueError) as exc:
            message = describe_error(exc, path)
            self.show_message(message, MessageLevel.ERROR)
            return message
        self.set_document(document)
        settings.add_recent_file(path)
        recovery = document.recovery
        if recovery is not None and recovery.message:
            # What opening did about an interrupted earlier save (rolled back, kept, pending).
            level = MessageLevel.WARNING if recovery.ok else MessageLevel.ERROR
            self.show_message(recovery.message, level)
        return None

    def set_document(self, document: Document | None) -> None:
        """Show ``document`` (closing the previous one)."""
        old = self.document
        if old is not None:
            old.remove_listener(self._on_document_change)
        self.document = document
        self.view.set_document(document)
        if old is not None:
            old.close()
        if document is not None:
            document.add_listener(self._on_document_change)
        self.watcher.watch(document.path if document is not None else None)
        self.watcher.set_polling(document is not None and self.isVisible())
        self.message_bar.dismiss()
        self._show_document_state()
        if document is not None and not self.isVisible() and not self._geometry_restored:
            self.resize(max(self.width(), self._width_for(document)), self.height())
        if document is not None:
            self.view.setFocus()
        self.document_changed.emit(document)

    def _width_for(self, document: Document) -> int:
        """A first window wide enough for the file's offsets and its longest status bar line."""
        last = max(document.size - 1, 0)
        longest = (
            f"Offset 0x{last:x} ({last:,})",
            f"Selected 16 bytes from 0x{last:x}",
            f"Size {human_size(document.size)}",
            "Private edit",
        )
        metrics = self.statusBar().fontMetrics()
        status = sum(metrics.horizontalAdvance(text) + 24 for text in longest)
        width = max(self._content_width(), status)
        screen = self.screen()
        return min(width, screen.availableGeometry().width()) if screen else width

    def close_document(self) -> None:
        if self.may_close_document():
            self.set_document(None)

    def _show_document_state(self) -> None:
        document = self.document
        self.stack.setCurrentWidget(self.view if document is not None else self.placeholder)
        title = "mmhex"
        if document is not None:
            # Qt shows "*" in place of "[*]" while windowModified is set (unsaved edits).
            title = f"{os.path.basename(document.path)}[*] — mmhex"
        self.setWindowTitle(title)
        self.setWindowModified(document is not None and document.modified)
        self._update_status()

    def _on_document_change(self, change: Change) -> None:
        if change.kind is ChangeKind.RELOAD:
            if change.message:
                self.show_message(change.message, MessageLevel.WARNING)
            self._update_status()
            self.document_changed.emit(self.document)
        elif change.kind is ChangeKind.SAVED and self.document is not None:
            path = self.document.path
            if os.path.abspath(path) != self.watcher.path:  # Save As: now showing another file
                self.watcher.watch(path)
                settings.add_recent_file(path)
            self._show_document_state()
        elif change.kind is ChangeKind.MODE:
            self._update_status()
        elif change.kind is ChangeKind.EDIT:
            modified = self.document is not None and self.document.modified
            if modified != self.isWindowModified():  # once per batch, not once per edit
                self.setWindowModified(modified)

    def check_outside_change(self) -> Change | None:
        """Re-check the file (watcher, focus, timer, failed read); the document broadcasts."""
        document = self.document
        if document is None or self.outside_checks_paused:
            return None
        try:
            return document.check_outside_change()
        except (OSError, ValueError) as exc:
            self.show_message(describe_error(exc, document.path), MessageLevel.ERROR)
            return None

    def _on_read_failed(self, error: BaseException) -> None:
        document = self.document
        if document is None or self.check_outside_change() is not None:
            return
        message = describe_error(error, document.path)
        if isinstance(error, FileTruncatedError):
            # The failed read already re-mapped the shorter file, so the re-check saw nothing
            # new; tell every listener (new size, new generation) ourselves.
            document.notify(Change(ChangeKind.RELOAD, 0, document.size, message))
        else:
            self.show_message(message, MessageLevel.ERROR)

    def show_message(self, text: str, level: MessageLevel = MessageLevel.INFO) -> None:
        self.message_bar.show_message(text, level)

    # ----------------------------------------------------------------- status bar
    def _update_status(self, *_args: object) -> None:
        document = self.document
        if document is None:
            for label in (self.cursor_label, self.selection_label, self.size_label):
                label.setText("")
            self.mode_label.setText("No file")
            return
        cursor = self.view.cursor_offset
        self.cursor_label.setText(f"Offset 0x{cursor:x} ({cursor:,})" if document.size else "")
        start, end = self.view.selection
        if end > start:
            length = end - start
            self.selection_label.setText(
                f"Selected {length:,} byte{'s' if length > 1 else ''} from 0x{start:x}"
            )
            self.selection_label.setToolTip(f"0x{start:x} to 0x{end - 1:x} inclusive")
        else:
            self.selection_label.setText("No selection")
            self.selection_label.setToolTip("")
        # Compact: exact figures are in the tooltip, so huge files still fit the status bar.
        self.size_label.setText(f"Size {human_size(document.size)}")
        self.size_label.setToolTip(f"{document.size:,} bytes (0x{document.size:x})")
        if document.mode is OpenMode.READ_ONLY:
            self.mode_label.setText("Read-only")
        else:
            self.mode_label.setText("Private edit")
        self.mode_label.setToolTip(document.readonly_reason or "")

    # ----------------------------------------------------------------- actions: file
    def open_file_dialog(self) -> None:
        folder = os.path.dirname(self.document.path) if self.document else os.getcwd()
        path, _ = QFileDialog.getOpenFileName(self, "Open File", folder)
        if path:
            self.open_path(path)

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        files = settings.recent_files()
        for path in files:
            action = menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)
            return
        menu.addSeparator()
        menu.addAction("Clear Recent Files").triggered.connect(settings.clear_recent_files)

    def select_all(self) -> None:
        self.view.select_all()

    def show_about(self) -> None:
        QMessageBox.about(self, "About mmhex", about_text())

    # ----------------------------------------------------------------- actions: go
    def show_goto_dialog(self) -> GotoDialog | None:
        """Open the non-blocking Go to dialog (window-modal)."""
        if self.document is None:
            return None
        dialog = GotoDialog(self.view.cursor_offset, self.document.size, self)
        dialog.accepted.connect(lambda: self.view.go_to(dialog.offset or 0))
        dialog.finished.connect(self.return_focus_to_grid)
        dialog.finished.connect(dialog.deleteLater)
        self.goto_dialog = dialog
        dialog.open()
        return dialog

    def return_focus_to_grid(self) -> None:
        """Make this window active again, with the grid focused, after one of its dialogs.

        A window manager does this when a dialog closes; without one (Xvfb, kiosk sessions)
        Qt leaves the window inactive: typing still reaches the grid, but every shortcut of
        the window (Ctrl+F, Ctrl+S …) is dead.
        """
        self.activateWindow()
        if self.document is not None:
            self.view.setFocus()

    def go_to_expression(self, text: str) -> str | None:
        """Jump to a go-to expression; returns the error sentence when it is not valid."""
        if self.document is None:
            return "No file is open."
        try:
            target = resolve_goto(text, cursor=self.view.cursor_offset, size=self.document.size)
        except ExpressionError as exc:
            return f"Offset {text!r}: {exc}"
        self.view.go_to(target)
        return None

    # ----------------------------------------------------------------- actions: view
    def apply_options(self, options: ViewOptions, *, save: bool = True) -> None:
        options = options.normalized()
        previous, self.options = self._applied_options, options
        self._applied_options = options
        self.view.set_format(options.bytes_per_row, options.group, options.offset_base)
        if previous is None or options.font_size != previous.font_size:
            self.view.set_font_size(options.font_size)
        per_row = options.bytes_per_row
        builder = self.action_builder
        if per_row in settings.BYTES_PER_ROW_CHOICES:
            builder.check(f"view.bytes_per_row.{per_row}")
        else:
            builder.check("view.bytes_per_row.custom")
        builder.check(f"view.group.{options.group}")
        builder.check(f"view.offset_base.{options.offset_base}")
        builder.check(f"view.theme.{options.theme}")
        if previous is None or options.theme != previous.theme:
            apply_theme(options.theme)  # re-polishes every widget: only when it changes
        if save:
            settings.save_view_options(options)

    def set_bytes_per_row(self, count: int) -> None:
        self.apply_options(replace(self.options, bytes_per_row=count))

    def ask_bytes_per_row(self) -> None:
        count, ok = QInputDialog.getInt(
            self,
            "Bytes per Row",
            f"Bytes per row (1–{settings.MAX_BYTES_PER_ROW}):",
            self.options.bytes_per_row,
            1,
            settings.MAX_BYTES_PER_ROW,
        )
        self.apply_options(replace(self.options, bytes_per_row=count) if ok else self.options)

    def set_group(self, size: int) -> None:
        self.apply_options(replace(self.options, group=size))

    def set_offset_base(self, base: int) -> None:
        self.apply_options(replace(self.options, offset_base=base))

    def set_theme(self, theme: str) -> None:
        self.apply_options(replace(self.options, theme=theme))

    @property
    def font_point_size(self) -> int:
        return self.options.font_size or round(fixed_font().pointSizeF())

    def zoom_in(self) -> None:
        self.apply_options(replace(self.options, font_size=self.font_point_size + 1))

    def zoom_out(self) -> None:
        self.apply_options(replace(self.options, font_size=self.font_point_size - 1))

    def zoom_reset(self) -> None:
        self.apply_options(replace(self.options, font_size=0))

    def _zoom_step(self, step: int) -> None:
        if step > 0:
            self.zoom_in()
        else:
            self.zoom_out()

    # ----------------------------------------------------------------- events
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.check_outside_change()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.watcher.set_polling(self.document is not None)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.watcher.set_polling(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.may_close_document():
            event.ignore()
            return
        settings.save_window_geometry(bytes(self.saveGeometry().data()))
        self.set_document(None)
        super().closeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])


def _dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    data = event.mimeData()
    if not data.hasUrls():
        return []
    return [url.toLocalFile() for url in data.urls() if url.isLocalFile()]


def about_text() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    return ABOUT.as_html(f"Running on Qt {qVersion()} with PySide6 {pyside_version}.")
