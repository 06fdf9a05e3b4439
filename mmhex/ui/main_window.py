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
import platform
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QHideEvent,
    QResizeEvent,
    QShowEvent,
    QWindow,
)
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
from mmhex.core.errors import FileTruncatedError, SavingInProgressError, describe_error
from mmhex.core.expressions import ExpressionError, resolve_goto
from mmhex.core.mapping import OpenMode
from mmhex.ui import settings
from mmhex.ui.actions import ACTIONS, ActionBuilder, ActionSpec, needs_file
from mmhex.ui.dialogs.shortcuts import ShortcutsDialog, shortcut_rows
from mmhex.ui.file_watch import FileWatcher
from mmhex.ui.goto_dialog import GotoDialog
from mmhex.ui.hex_view import HexView, fixed_font
from mmhex.ui.settings import ViewOptions
from mmhex.ui.status_bar import StatusBar
from mmhex.ui.tabs import DocumentState, DocumentTabs, RestoreHook, SaveHook, TabStateHook
from mmhex.ui.theme import apply_theme
from mmhex.ui.widgets import MessageBar, MessageLevel, PanelDock, Placeholder

EditModeHandler = Callable[["MainWindow"], bool]
CloseGuard = Callable[[], bool]  # False keeps the document open (the user chose Cancel)


# Screens with less available height than this are laptops (1366×768, 1280×800, 1600×900):
# the first window fills them; larger ones get a window of their own size.
SMALL_SCREEN_HEIGHT = 900
# Room left for a window manager's title bar under a first window that fills a laptop screen.
TITLE_BAR_ALLOWANCE = 32


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
    document_closed = Signal(object)  # a tab's Document was closed (drop state kept for it)

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
        self.context_menu: QMenu | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.options = (options or settings.load_view_options()).normalized()
        self._applied_options: ViewOptions | None = None

        self.view = HexView(self)
        self.placeholder = Placeholder(self)
        self.placeholder.open_requested.connect(self.open_file_dialog)
        self.message_bar = MessageBar(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)
        self.tab_bar = DocumentTabs(self)
        self.tab_bar.currentChanged.connect(self._on_tab_changed)
        self.tab_bar.close_requested.connect(self.close_tab)
        # Features' per-tab state (search results, undo stacks): see mmhex.ui.tabs.
        self.tab_state_hooks: list[TabStateHook] = []
        self.state: DocumentState | None = None
        self._switching = False
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.tab_bar)
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
        self.view.context_menu_requested.connect(self.show_context_menu)
        self.view.width_changed.connect(self._follow_width)

        self.cursor_label = QLabel(self)
        self.selection_label = QLabel(self)
        self.size_label = QLabel(self)
        self.mode_label = QLabel(self)
        status = StatusBar(self)
        self.setStatusBar(status)
        # All four are permanent widgets: a passing message (showMessage) goes to the bar's
        # eliding message label left of them and never hides where the cursor is or what is
        # selected.
        for label in (self.cursor_label, self.selection_label, self.size_label, self.mode_label):
            status.addPermanentWidget(label)

        self._targets: dict[str, object] = {"window": self, "view": self.view}
        self.action_builder = ActionBuilder(self.menuBar(), self)
        self._build_actions(ACTIONS)
        self.apply_options(self.options, save=False)
        geometry = settings.load_window_geometry()
        self._geometry_restored = bool(geometry) and self.restoreGeometry(geometry)
        if not self._geometry_restored:
            self.resize(self._content_width(), self._first_height())
            screen = self.screen()
            if screen is not None and self._small_screen():
                self.move(screen.availableGeometry().topLeft())
        self._show_document_state()
        self._focus_window: QWindow | None = None
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._on_focus_window_changed)

    # ----------------------------------------------------------------- extension points
    def add_dock(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        visible_by_default: bool = True,
    ) -> QDockWidget:
        """Put ``widget`` in a dock panel with a View ▸ Panels toggle."""
        dock = PanelDock(title, widget, self)
        dock.setObjectName(f"dock:{title}")
        self.addDockWidget(area, dock)
        dock.setVisible(visible_by_default)
        self.action_builder.menu("&View/&Panels").addAction(dock.toggleViewAction())
        if not self._geometry_restored and not self.isVisible():
            # A first window makes room for the grid and its side panels together.
            self.resize(max(self.width(), self._content_width()), self.height())
        return dock

    def _small_screen(self) -> bool:
        """A laptop screen (1366×768 and the like): the first window takes all of it."""
        screen = self.screen()
        return screen is not None and screen.availableGeometry().height() < SMALL_SCREEN_HEIGHT

    def _first_height(self) -> int:
        """A first window tall enough for the grid and every inspector row beside it.

        On a laptop screen every row counts: the whole height but the window manager's title
        bar, as a maximized window has. Larger screens: 90% of the height, at most 1000.
        """
        screen = self.screen()
        if screen is None:
            return 640
        available = screen.availableGeometry().height()
        if self._small_screen():
            return max(480, available - TITLE_BAR_ALLOWANCE)
        return max(480, min(1000, int(available * 0.9)))

    def _within_screen(self, width: int) -> int:
        """``width`` bounded by the screen; on a laptop screen, the screen's whole width."""
        screen = self.screen()
        if screen is None:
            return width
        available = screen.availableGeometry().width()
        return available if self._small_screen() else min(width, available)

    def _content_width(self) -> int:
        """The grid's full width plus the side docks shown beside it, within the screen."""
        # Docks on one side share a column: that side needs its widest dock, not their sum.
        widest = {Qt.DockWidgetArea.LeftDockWidgetArea: 0, Qt.DockWidgetArea.RightDockWidgetArea: 0}
        for dock in self.findChildren(QDockWidget):
            area = self.dockWidgetArea(dock)
            if area in widest and not dock.isHidden() and not dock.isFloating():
                widest[area] = max(widest[area], dock.sizeHint().width() + 8)
        docks = sum(widest.values())
        return self._within_screen(self.view.sizeHint().width() + 40 + docks)

    @property
    def action_targets(self) -> dict[str, object]:
        """The objects the action table's ``target.method`` slots name, by target name."""
        return dict(self._targets)

    def register_action_target(self, name: str, target: object) -> None:
        """Make ``name.method`` slots of the action table resolvable, and build their actions."""
        self._targets[name] = target
        self._build_actions(ACTIONS)

    def install_actions(self, specs: tuple[ActionSpec, ...], **targets: object) -> None:
        """Add a feature's own rows (same format as actions.ACTIONS)."""
        self._targets.update(targets)
        self._build_actions(specs)

    def _build_actions(self, specs: tuple[ActionSpec, ...]) -> None:
        """Build rows whose target exists; in an empty window the new ones start disabled."""
        before = set(self.action_builder.actions)
        self.action_builder.build(specs, self._targets)
        if self.document is None:
            specs = self.action_builder.specs
            for key, action in self.action_builder.actions.items():
                if key not in before and key in specs and needs_file(specs[key]):
                    action.setEnabled(False)

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

    # ----------------------------------------------------------------- documents (tabs)
    @property
    def states(self) -> list[DocumentState]:
        """Every open tab's state, in tab order."""
        return [self.tab_bar.tabData(index) for index in range(self.tab_bar.count())]

    def add_tab_state_hook(self, name: str, save: SaveHook, restore: RestoreHook) -> None:
        """Keep a feature's state per tab: ``save`` before another tab shows, ``restore`` after."""
        self.tab_state_hooks.append(TabStateHook(name, save, restore))

    def may_close_document(self) -> bool:
        """Ask every close guard (unsaved edits); False when the user wants to keep the file."""
        if self.document is None:
            return True
        return all(guard() for guard in self.close_guards)

    def open_path(self, path: str, *, readonly: bool = False) -> str | None:
        """Open ``path`` in a new tab (or show its tab); None, or the sentence shown on failure."""
        for index, state in enumerate(self.states):
            if state.path == os.path.abspath(path):
                self.tab_bar.setCurrentIndex(index)  # already open: its tab, as it was left
                settings.add_recent_file(path)
                self.focus_grid()
                return None
        try:
            document = Document.open(path, readonly=readonly)
        except (OSError, ValueError) as exc:
            message = describe_error(exc, path)
            self.show_message(message, MessageLevel.ERROR)
            return message
        self.set_document(document, new_tab=True)
        settings.add_recent_file(path)
        recovery = document.recovery
        if recovery is not None and recovery.message:
            # What opening did about an interrupted earlier save (rolled back, kept, pending).
            level = MessageLevel.WARNING if recovery.ok else MessageLevel.ERROR
            self.show_message(recovery.message, level)
        if document.shift_recovery is not None:  # an interrupted in-place insert or delete
            self.show_message(document.shift_recovery.message, MessageLevel.WARNING)
        return None

    def set_document(self, document: Document | None, *, new_tab: bool = False) -> None:
        """Show ``document`` in a new tab, or in place of the current tab's (which is closed).

        None closes the current tab. Asks nothing: callers ask ``may_close_document`` first.
        """
        if document is None:
            if self.state is not None:
                self._remove_tab(self.tab_bar.currentIndex())
            return
        state = DocumentState(document)
        if new_tab or self.state is None:
            index = self.tab_bar.count()
            self._switching = True  # the tab is shown below, with its state in place
            try:
                self.tab_bar.insertTab(index, state.title)
                self.tab_bar.setTabData(index, state)
            finally:
                self._switching = False
            self._show_state(state)
            self.tab_bar.setCurrentIndex(index)
        else:
            old = self.state.document
            index = self.tab_bar.currentIndex()
            self.tab_bar.setTabData(index, state)
            self._show_state(state, forget=True)
            old.close()
            self.document_closed.emit(old)

    def _on_tab_changed(self, index: int) -> None:
        if self._switching or index < 0:
            return
        state = self.tab_bar.tabData(index)
        if state is not self.state:
            self._show_state(state)

    def _show_state(self, state: DocumentState | None, *, forget: bool = False) -> None:
        """Bring ``state``'s document forward, keeping the current tab's state in its tab."""
        previous = self.state
        if previous is not None and not forget:
            previous.view = self.view.save_state()
            for hook in self.tab_state_hooks:
                previous.saved[hook.name] = hook.save(previous.document)
            previous.document.remove_listener(self._on_document_change)
        elif previous is not None:
            previous.document.remove_listener(self._on_document_change)
        self.state = state
        document = state.document if state is not None else None
        self.document = document
        self.view.set_document(document)
        if state is not None and state.view is not None:
            self.view.restore_state(state.view)
        if document is not None:
            document.add_listener(self._on_document_change)
        self.watcher.watch(document.path if document is not None else None)
        self.watcher.set_polling(document is not None and self.isVisible())
        self.message_bar.dismiss()
        self._show_document_state()
        if document is not None and not self.isVisible() and not self._geometry_restored:
            self.resize(max(self.width(), self._width_for(document)), self.height())
        self._enable_for_document(document is not None)
        if document is not None:
            self.focus_grid()
        self.document_changed.emit(document)
        if state is not None:
            for hook in self.tab_state_hooks:
                if hook.name in state.saved:
                    hook.restore(state.document, state.saved.pop(hook.name))
        if previous is not None and document is not None:
            self.check_outside_change()  # the file may have changed while its tab was hidden

    def _remove_tab(self, index: int) -> None:
        """Close the document of tab ``index`` and show a neighbour (or the empty window)."""
        state = self.tab_bar.tabData(index)
        current = state is self.state
        self._switching = True
        try:
            self.tab_bar.removeTab(index)
        finally:
            self._switching = False
        if current:
            following = self.tab_bar.currentIndex()
            self._show_state(self.tab_bar.tabData(following) if following >= 0 else None,
                             forget=True)  # fmt: skip
        state.document.close()
        self.document_closed.emit(state.document)

    def close_tab(self, index: int) -> bool:
        """Close tab ``index`` after its unsaved-edits question; False when the user kept it."""
        if not 0 <= index < self.tab_bar.count():
            return False
        self.tab_bar.setCurrentIndex(index)  # the questions are about the file on screen
        if not self.may_close_document():
            return False
        self._remove_tab(index)
        return True

    def close_all_tabs(self) -> bool:
        """Ask about every tab with unsaved edits, then close them all; False if one is kept."""
        for index, state in enumerate(self.states):
            if state.document.modified:
                self.tab_bar.setCurrentIndex(index)
                if not self.may_close_document():
                    return False
        while self.tab_bar.count():
            self._remove_tab(self.tab_bar.count() - 1)
        return True

    def next_tab(self) -> None:
        count = self.tab_bar.count()
        if count > 1:
            self.tab_bar.setCurrentIndex((self.tab_bar.currentIndex() + 1) % count)

    def previous_tab(self) -> None:
        count = self.tab_bar.count()
        if count > 1:
            self.tab_bar.setCurrentIndex((self.tab_bar.currentIndex() - 1) % count)

    def _make_room_for_grid(self) -> None:
        """Side panels give up width before the grid loses its text column."""
        if self.document is None or self.options.fit_width:
            return
        view = self.view
        needed = view.sizeHint().width()
        deficit = needed - view.width()
        if deficit <= 0:
            return
        for area in (Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea):
            docks = [
                dock
                for dock in self.findChildren(QDockWidget)
                if self.dockWidgetArea(dock) == area and dock.isVisible() and not dock.isFloating()
            ]
            if not docks or deficit <= 0:
                continue
            width = max(dock.width() for dock in docks)
            smallest = max(dock.minimumSizeHint().width() for dock in docks)
            target = max(smallest, width - deficit)
            if target < width:
                self.resizeDocks(docks, [target] * len(docks), Qt.Orientation.Horizontal)
                deficit -= width - target

    def _enable_for_document(self, has_file: bool) -> None:
        """An empty window disables every action that acts on a file (features refine later)."""
        specs = self.action_builder.specs
        for key, action in self.action_builder.actions.items():
            if key in specs and needs_file(specs[key]):
                action.setEnabled(has_file)

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
        return self._within_screen(max(self._content_width(), status))

    def close_document(self) -> None:
        """File ▸ Close (Ctrl+W): the current tab."""
        if self.state is not None:
            self.close_tab(self.tab_bar.currentIndex())

    def _show_document_state(self) -> None:
        document = self.document
        self.stack.setCurrentWidget(self.view if document is not None else self.placeholder)
        title = "mmhex"
        if document is not None:
            # Qt shows "*" in place of "[*]" while windowModified is set (unsaved edits).
            title = f"{os.path.basename(document.path)}[*] — mmhex"
        self.setWindowTitle(title)
        self.setWindowModified(document is not None and document.modified)
        self._update_tab_titles()
        self._update_status()

    def _update_tab_titles(self) -> None:
        for index, state in enumerate(self.states):
            if self.tab_bar.tabText(index) != state.title:
                self.tab_bar.setTabText(index, state.title)
            self.tab_bar.setTabToolTip(index, state.path)

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
                self._update_tab_titles()

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
        if isinstance(error, SavingInProgressError):
            self.show_message(str(error))  # the rows read before the save stay shown
            return
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
    def address_text(self, offset: int) -> str | None:
        """A process's virtual address for ``offset`` ("address 0x7f…"); None for a file."""
        document = self.document
        address_of = getattr(document, "address_of", None)
        if address_of is None or document is None or not 0 <= offset < document.size:
            return None
        return f"address 0x{address_of(offset):x}"

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
            named = self.address_text(start) or f"0x{start:x}"
            self.selection_label.setText(
                f"Selected {length:,} byte{'s' if length > 1 else ''} from {named}"
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
        self.return_focus_to_grid()

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

    def show_context_menu(self, position: QPoint) -> QMenu | None:
        """The grid's context menu (actions.CONTEXT_MENU) at a global position."""
        if self.document is None:
            return None
        menu = self.action_builder.context_menu(self)
        menu.aboutToHide.connect(menu.deleteLater)
        self.context_menu = menu  # tests read it while it is open
        menu.popup(position)
        return menu

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help ▸ Keyboard Shortcuts (non-modal: it can stay open beside the grid)."""
        dialog = ShortcutsDialog(shortcut_rows(self.action_builder.specs), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self.return_focus_to_grid)
        self.shortcuts_dialog = dialog
        dialog.show()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, "About mmhex", about_text())
        self.return_focus_to_grid()

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

    def focus_grid(self) -> None:
        """Keyboard focus to the grid, in an active window: PgDn works without a click.

        Without a window manager nothing activates a new window or gives it back after a
        dialog; Qt then delivers no key at all until the user clicks.
        """
        if not self.isVisible():
            return
        self.activateWindow()
        if self.document is not None:
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_focus_window_changed(self, window: QWindow | None) -> None:
        """A dialog of ours closed and left no window focused (no window manager): take it."""
        previous, self._focus_window = self._focus_window, window
        handle = self.windowHandle()
        if window is not None or previous is None or handle is None or not self.isVisible():
            return
        try:
            ours = previous is not handle and previous.transientParent() is handle
            closed = not previous.isVisible()
        except RuntimeError:  # the dialog's window is already deleted: it was closed
            ours = closed = True
        if ours and closed:
            QTimer.singleShot(0, self.return_focus_to_grid)

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
        self.view.set_text_format(options.encoding, options.gap8, options.colour_classes)
        if previous is None or options.font_size != previous.font_size:
            self.view.set_font_size(options.font_size)
        per_row = options.bytes_per_row
        if options.fit_width:
            per_row = self.view.fitting_bytes_per_row()
        self.view.set_format(per_row, options.group, options.offset_base)
        builder = self.action_builder
        if options.fit_width:
            builder.check("view.bytes_per_row.fit")
        elif per_row in settings.BYTES_PER_ROW_CHOICES:
            builder.check(f"view.bytes_per_row.{per_row}")
        else:
            builder.check("view.bytes_per_row.custom")
        builder.check(f"view.encoding.{options.encoding}")
        for key, on in (
            ("view.gap8", options.gap8),
            ("view.colour_classes", options.colour_classes),
        ):
            action = builder.actions.get(key)
            if action is not None:
                action.setChecked(on)
        builder.check(f"view.group.{options.group}")
        builder.check(f"view.offset_base.{options.offset_base}")
        builder.check(f"view.theme.{options.theme}")
        if previous is None or options.theme != previous.theme:
            apply_theme(options.theme)  # re-polishes every widget: only when it changes
        if save:
            settings.save_view_options(options)

    def set_bytes_per_row(self, count: int) -> None:
        self.apply_options(replace(self.options, bytes_per_row=count, fit_width=False))

    def fit_to_width(self) -> None:
        """View ▸ Bytes per row ▸ Fit to Width: follows the window's width from now on."""
        self.apply_options(replace(self.options, fit_width=True))

    def _follow_width(self, _width: int) -> None:
        if self.options.fit_width:
            count = self.view.fitting_bytes_per_row()
            if count != self.view.bytes_per_row:
                self.view.set_format(count, self.options.group, self.options.offset_base)

    def toggle_gap8(self) -> None:
        self.apply_options(replace(self.options, gap8=not self.options.gap8))

    def toggle_colour_classes(self) -> None:
        self.apply_options(replace(self.options, colour_classes=not self.options.colour_classes))

    def set_encoding(self, encoding: str) -> None:
        self.apply_options(replace(self.options, encoding=encoding))

    def ask_bytes_per_row(self) -> None:
        count, ok = QInputDialog.getInt(
            self,
            "Bytes per Row",
            f"Bytes per row (1–{settings.MAX_BYTES_PER_ROW}):",
            self.options.bytes_per_row,
            1,
            settings.MAX_BYTES_PER_ROW,
        )
        chosen = replace(self.options, bytes_per_row=count, fit_width=False)
        self.apply_options(chosen if ok else self.options)
        self.return_focus_to_grid()

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

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() < event.oldSize().width():
            QTimer.singleShot(0, self._make_room_for_grid)  # once the layout has settled

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.watcher.set_polling(self.document is not None)
        if not event.spontaneous():
            QTimer.singleShot(0, self.focus_grid)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.watcher.set_polling(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_all_tabs():
            event.ignore()
            return
        settings.save_window_geometry(bytes(self.saveGeometry().data()))
        super().closeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            for path in paths:
                self.open_path(path)


def _dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    data = event.mimeData()
    if not data.hasUrls():
        return []
    return [url.toLocalFile() for url in data.urls() if url.isLocalFile()]


def about_text() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    python = platform.python_version()
    return ABOUT.as_html(
        f"Running on Python {python}, Qt {qVersion()} with PySide6 {pyside_version}.",
        f"Search engines: {', '.join(search_engines())}.",
    )


def search_engines() -> list[str]:
    """The search libraries this install can use, with versions (read without importing them)."""
    from importlib import metadata  # ~15 ms: only when the About box asks, not at start-up

    engines = [f"Python re {platform.python_version()}"]
    for name, label in (("stringzilla", "StringZilla"), ("hyperscan", "Hyperscan")):
        try:
            engines.append(f"{label} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            engines.append(f"{label} (not installed)")
    return engines
