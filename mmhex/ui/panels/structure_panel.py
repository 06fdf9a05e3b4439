"""The Structure dock: the document's fields as its format sees them, beside the hex grid.

``StructureModel`` is a QAbstractItemModel over mmhex.core.structure's lazy tree (arrays grow
through canFetchMore/fetchMore); the panel only draws it. ``StructureFeature`` wires it to the
window through the extension interface (``add_dock``, ``install_actions``, ``document_changed``,
``view``): parses in the background with Cancel, re-parses (debounced) after edits, selects a
field's bytes on click, follows the cursor, tints the expanded fields in the grid by depth, and
shows libmagic's file type in the status bar.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.progress import Cancelled
from mmhex.ui.actions import ActionSpec
from mmhex.ui.status_bar import ElidedLabel
from mmhex.ui.workers import BackgroundTask

MENU = "&View/&Structure"
COLUMNS = ("Name", "Offset", "Size", "Type", "Value")
REPARSE_DELAY_MS = 400  # after the last edit, so typing a run of bytes parses once
_DEPTH_HUES = (210, 30, 120, 280, 0, 60)  # tint per depth of an expanded field, cycled

STRUCTURE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "structure.parse_as",
        "&Parse as…",
        "structure.choose_format",
        MENU,
        ("Ctrl+Alt+P",),
        tip="Parse the file with a format chosen from the list",
    ),
    ActionSpec(
        "structure.detect",
        "&Detect Format",
        "structure.detect_format",
        MENU,
        tip="Parse with the format detected from the file type",
    ),
    ActionSpec("structure.reparse", "&Re-parse", "structure.reparse", MENU),
    ActionSpec("structure.cancel", "&Cancel Parsing", "structure.cancel", MENU),
)


class StructureModel(QAbstractItemModel):
    """Rows are Nodes; children are built when Qt asks for them, arrays a chunk at a time."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root: Any = None  # mmhex.core.structure.Node (the format's top-level struct)
        self._fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def set_root(self, root: Any) -> None:
        self.beginResetModel()
        self.root = root
        self.endResetModel()

    def node(self, index: QModelIndex) -> Any:
        return index.internalPointer() if index.isValid() else None

    def index_of(self, node: Any, column: int = 0) -> QModelIndex:
        if node is None:
            return QModelIndex()
        if node.parent is None:
            return self.index(0, column)
        return self.createIndex(node.row, column, node)

    # --------------------------------------------------------------- structure
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if self.root is None or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, self.root) if row == 0 else QModelIndex()
        children = self.node(parent).children()
        if not 0 <= row < len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self.node(index)
        if node is None or node.parent is None:
            return QModelIndex()
        return self.index_of(node.parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        if self.root is None:
            return 0
        if not parent.isValid():
            return 1
        if parent.column() > 0:
            return 0
        node = self.node(parent)
        return len(node.children()) if node.has_children else 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008
        if not parent.isValid():
            return self.root is not None
        return parent.column() == 0 and self.node(parent).has_children

    def canFetchMore(self, parent: QModelIndex) -> bool:
        node = self.node(parent)
        return node is not None and node.can_fetch_more()

    def fetchMore(self, parent: QModelIndex) -> None:
        node = self.node(parent)
        if node is None:
            return
        start = len(node.children())
        count = min(node.total_children() - start, 256)
        if count <= 0:
            return
        self.beginInsertRows(parent, start, start + count - 1)
        node.fetch_more(count)
        self.endInsertRows()

    # -------------------------------------------------------------------- data
    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            node.evaluate()
            if column == 0:
                return node.name
            if column == 1:
                if node.offset is None:
                    return ""
                return f"{'≈' if node.approximate else ''}0x{node.offset:x}"
            if column == 2:
                return "" if node.size is None else f"{node.size:,}"
            if column == 3:
                return node.type_name
            total = node.total_children() if isinstance(node.value, list) else 0
            return node.text if not total else f"{total:,} items"
        if role == Qt.ItemDataRole.ToolTipRole:
            node.evaluate()
            tip = node.path or node.name
            if node.error:
                tip += f"\n{node.error}"
            if node.approximate:
                tip += "\nInside decoded data: the range shown is the enclosing field's."
            return tip
        if role == Qt.ItemDataRole.ForegroundRole and node.error:
            return QColor(200, 40, 40)
        if role == Qt.ItemDataRole.FontRole and column in (1, 2, 4):
            return self._fixed
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class FormatChooser(QDialog):
    """View ▸ Structure ▸ Parse as…: a list of the formats with a filter line."""

    def __init__(self, names: list[str], current: str | None, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Parse as")
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter formats")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        for name in names:
            QListWidgetItem(name, self.list)
            if name == current:
                self.list.setCurrentRow(self.list.count() - 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.filter.textChanged.connect(self._filter)
        self.filter.returnPressed.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(320, 420)

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            hidden = not all(word in item.text() for word in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is not None and (
            self.list.currentItem() is None or self.list.currentItem().isHidden()
        ):
            self.list.setCurrentItem(first)

    def chosen(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None or item.isHidden() else item.text()


class StructurePanel(QWidget):
    """The dock's widget: format line with Parse as…/Cancel, the tree, and why a parse stopped."""

    field_clicked = Signal(object)  # Node
    field_hovered = Signal(object)  # Node or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.format_label = QLabel("No file", self)
        self.format_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.parse_as_button = QPushButton("Parse as…", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.hide()
        self.model = StructureModel(self)
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setMouseTracking(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((230, 90, 60, 130)):
            header.resizeSection(column, width)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        top = QHBoxLayout()
        top.addWidget(self.format_label, 1)
        top.addWidget(self.cancel_button)
        top.addWidget(self.parse_as_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        self.tree.clicked.connect(lambda index: self.field_clicked.emit(self.model.node(index)))
        self.tree.activated.connect(lambda index: self.field_clicked.emit(self.model.node(index)))
        self.tree.entered.connect(lambda index: self.field_hovered.emit(self.model.node(index)))
        # Walking the tree with the arrow keys selects as clicking does (ImHex, 010 Editor).
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.viewport().installEventFilter(self)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.tree.hasFocus():
            self.field_clicked.emit(self.model.node(current))

    def sizeHint(self) -> QSize:
        # Below the grid, the dock starts with about 8 fields: the grid is what the window is
        # for (at 1366×768 a taller hint left the grid 13 rows); drag the splitter for more.
        return QSize(480, 180)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Leave:
            self.field_hovered.emit(None)
        return super().eventFilter(watched, event)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "")
        self.message.setVisible(bool(text))


class StructureFeature(QObject):
    """Keeps the Structure dock in step with the window's current document and grid."""

    parsed = Signal(object)  # ParseResult, after the tree is shown (tests wait on it)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.panel = StructurePanel()
        # Below the grid, as ImHex's pattern data and 010 Editor's template results. The right
        # column keeps the bottom-right corner: otherwise the dock spans the window and the
        # right panels' minimum height squeezes it to a few rows.
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock = window.add_dock(
            self.panel, "Structure", Qt.DockWidgetArea.BottomDockWidgetArea, True
        )
        # Elides to its place: a long libmagic line never holds the window wide.
        self.type_label = ElidedLabel(shrink_first=False)
        self.type_label.setToolTip("File type (libmagic, as `file` prints it)")
        self.type_label.setMaximumWidth(360)
        window.statusBar().addPermanentWidget(self.type_label)
        window.install_actions(STRUCTURE_ACTIONS, structure=self)
        self.document: Any = None
        self.format: str | None = None  # what the tree shows (None: nothing to parse)
        self.chosen: dict[str, str] = {}  # path -> format chosen with Parse as…
        self.detected: str | None = None
        self.result: Any = None
        self._registry: Any = None
        self._task: BackgroundTask | None = None
        self._pending = False  # a parse was asked for while one ran
        self._syncing = False  # selecting bytes from the tree: ignore the cursor echo
        self._hover: tuple[int, int] | None = None
        self._tints: list[tuple[int, int, int]] = []  # start, end, depth of expanded fields
        self._view: Any = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPARSE_DELAY_MS)
        self._timer.timeout.connect(self.reparse)
        self.panel.parse_as_button.clicked.connect(self.choose_format)
        self.panel.cancel_button.clicked.connect(self.cancel)
        self.panel.field_clicked.connect(self.select_field)
        self.panel.field_hovered.connect(self._hovered)
        self.panel.tree.expanded.connect(self._update_tints)
        self.panel.tree.collapsed.connect(self._update_tints)
        window.document_changed.connect(self.set_document)
        self._attach_view()
        if getattr(window, "document", None) is not None:
            self.set_document(window.document)

    # ------------------------------------------------------------------ wiring
    @property
    def registry(self) -> Any:
        if self._registry is None:
            from mmhex.core.structure_formats import FormatRegistry

            self._registry = FormatRegistry()
        return self._registry

    def _attach_view(self) -> None:
        """Follow the window's current grid (it may change with tabs)."""
        view = getattr(self.window, "view", None)
        if view is self._view:
            return
        if self._view is not None:
            self._view.cursor_moved.disconnect(self._cursor_moved)
            self._view.remove_highlighter(self.highlights)
        self._view = view
        if view is not None:
            view.cursor_moved.connect(self._cursor_moved)
            view.add_highlighter(self.highlights)

    def set_document(self, document: Any) -> None:
        self._attach_view()
        if self.document is not None and document is not self.document:
            self.document.remove_listener(self._document_changed)
        same = document is self.document
        self.document = document
        if document is not None and not same:
            document.add_listener(self._document_changed)
        self._timer.stop()
        self.cancel()
        if not same:
            self._show(None)
        if document is None:
            self.type_label.set_full_text("")
            self.panel.format_label.setText("No file")
            self.panel.show_message("")
            return
        self._detect()
        self.reparse()

    def _detect(self) -> None:
        from mmhex.core.structure_detect import detect

        found = detect(
            self.document,
            self.document.path,
            modified=self.document.modified,
            known=set(self.registry.names()),
        )
        self.detected = found.format
        self.type_label.set_full_text(_elide(found.description, 60))
        self.type_label.setToolTip(f"File type: {found.description}")

    def _document_changed(self, change: Any) -> None:
        from mmhex.core.document import ChangeKind

        if change.kind in (ChangeKind.EDIT, ChangeKind.RELOAD):
            self._timer.start()  # debounced: a run of typed bytes parses once

    # ----------------------------------------------------------------- parsing
    def reparse(self) -> None:
        """Parse the current document in the background (cancelling a parse under way)."""
        document = self.document
        if document is None:
            return
        if self._task is not None and self._task.running:
            self._pending = True
            self._task.cancel()
            return
        self.format = self.chosen.get(document.path, self.detected)
        if self.format is None:
            self._show(None)
            self.panel.format_label.setText("No format for this file type")
            self.panel.show_message("Choose one with View ▸ Structure ▸ Parse as….")
            return
        from mmhex.core.structure import parse

        registry, name = self.registry, self.format
        source = "chosen" if document.path in self.chosen else "detected"
        self.panel.format_label.setText(f"Format: {name} ({source}) — parsing…")
        self.panel.cancel_button.show()

        def work(_progress: Any, token: Any) -> Any:
            return parse(document, name, registry, token)

        task = BackgroundTask(work, self)
        task.succeeded.connect(lambda result: self._parsed(task, result, source))
        task.failed.connect(lambda error: self._failed(task, error))
        task.finished.connect(lambda: self._finished(task))
        self._task = task
        task.start()

    def cancel(self) -> None:
        if self._task is not None and self._task.running:
            self._task.cancel()

    def _finished(self, task: BackgroundTask) -> None:
        if task is self._task:
            self._task = None
            self.panel.cancel_button.hide()
            if self._pending:
                self._pending = False
                self.reparse()

    def _parsed(self, task: BackgroundTask, result: Any, source: str) -> None:
        if task is not self._task or self._pending:
            return
        self.panel.format_label.setText(f"Format: {result.format} ({source})")
        self._show(result)
        if result.stop is not None:
            self.panel.show_message(result.stop.describe(), error=True)
        else:
            self.panel.show_message("")
        self.parsed.emit(result)

    def _failed(self, task: BackgroundTask, error: BaseException) -> None:
        if task is not self._task or self._pending:
            return
        if isinstance(error, Cancelled):
            self.panel.format_label.setText(f"Format: {self.format} — parsing cancelled")
            return
        from mmhex.core.errors import describe_error

        self.panel.format_label.setText(f"Format: {self.format}")
        self.panel.show_message(describe_error(error), error=True)

    def _show(self, result: Any) -> None:
        """Show a new tree, keeping the fields that were open (by path) and the current one."""
        tree = self.panel.tree
        expanded = self._expanded_paths() if self.result is not None else []
        current = self.panel.model.node(tree.currentIndex())
        current_path = current.path if current is not None else None
        self.result = result
        self._tints = []
        self._hover = None
        self.panel.model.set_root(result.root if result is not None else None)
        if result is None:
            self._repaint_view()
            return
        tree.expand(self.panel.model.index(0, 0))
        for path in expanded:
            node = _find(result.root, path)
            if node is not None:
                tree.expand(self.panel.model.index_of(node))
        if current_path is not None:
            node = _find(result.root, current_path)
            if node is not None:
                self._syncing = True
                tree.setCurrentIndex(self.panel.model.index_of(node))
                self._syncing = False
        self._update_tints()

    def _expanded_paths(self) -> list[str]:
        paths = []
        model, tree = self.panel.model, self.panel.tree
        stack = [model.index(0, 0)]
        while stack:
            index = stack.pop()
            if not index.isValid() or not tree.isExpanded(index):
                continue
            node = model.node(index)
            if node.parent is not None:
                paths.append(node.path)
            for row in range(len(node.children())):
                stack.append(model.index(row, 0, index))
        return sorted(paths, key=len)

    # ----------------------------------------------------------- tree <-> grid
    def select_field(self, node: Any) -> None:
        """Select the field's bytes in the grid and scroll to where they start."""
        if node is None or self._view is None:
            return
        node.evaluate()
        if node.offset is None:
            return
        size = max(node.size or 0, 1)
        end = min(node.offset + size, self._view.size)
        if node.offset >= self._view.size:
            return
        self._syncing = True
        try:
            self._view.go_to(node.offset)
            self._view.select(node.offset, end)
            self._view.ensure_visible(node.offset)
        finally:
            self._syncing = False

    def _cursor_moved(self, offset: int) -> None:
        if self._syncing or self.result is None:
            return
        node = self.result.root.innermost(offset)
        if node is None:
            return
        model, tree = self.panel.model, self.panel.tree
        parent = node.parent
        chain = []
        while parent is not None:
            chain.append(parent)
            parent = parent.parent
        for ancestor in reversed(chain):
            tree.expand(model.index_of(ancestor))
        index = model.index_of(node)
        tree.setCurrentIndex(index)
        tree.scrollTo(index)

    def _hovered(self, node: Any) -> None:
        hover = None
        if node is not None and node.evaluated and node.offset is not None:
            hover = (node.offset, node.offset + max(node.size or 0, 1))
        if hover != self._hover:
            self._hover = hover
            self._repaint_view()

    def _update_tints(self, *_args: Any) -> None:
        tints = []
        model, tree = self.panel.model, self.panel.tree
        stack = [model.index(0, 0)] if model.root is not None else []
        while stack:
            index = stack.pop()
            if not index.isValid() or not tree.isExpanded(index):
                continue
            node = model.node(index)
            if node.parent is not None and node.offset is not None and node.size:
                tints.append((node.offset, node.offset + node.size, node.depth))
            for row in range(len(node.children())):
                stack.append(model.index(row, 0, index))
        self._tints = sorted(tints, key=lambda t: t[2])
        self._repaint_view()

    def highlights(self, start: int, end: int) -> list[tuple[int, int, QColor]]:
        """Expanded fields tinted by depth, the hovered field on top (a HexView highlighter)."""
        out = []
        for first, last, depth in self._tints:
            if first < end and last > start:
                color = QColor.fromHsv(_DEPTH_HUES[(depth - 1) % len(_DEPTH_HUES)], 120, 230)
                color.setAlpha(45)
                out.append((max(first, start), min(last, end), color))
        if self._hover is not None and self._hover[0] < end and self._hover[1] > start:
            color = QColor(self.panel.palette().color(QPalette.ColorRole.Highlight))
            color.setAlpha(70)
            out.append((max(self._hover[0], start), min(self._hover[1], end), color))
        return out

    def _repaint_view(self) -> None:
        if self._view is not None:
            self._view.viewport().update()

    # ----------------------------------------------------------------- actions
    def choose_format(self) -> None:
        if self.document is None:
            return
        dialog = FormatChooser(self.registry.names(), self.format, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen():
            self.parse_as(dialog.chosen())

    def parse_as(self, name: str) -> None:
        if self.document is None:
            return
        self.chosen[self.document.path] = name
        self.dock.show()
        self.reparse()

    def detect_format(self) -> None:
        if self.document is None:
            return
        self.chosen.pop(self.document.path, None)
        self._detect()
        self.reparse()

    def shutdown(self) -> None:
        self._timer.stop()
        if self._task is not None and self._task.running:
            self._task.cancel()
            self._task.wait()


def _find(root: Any, path: str) -> Any:
    """The node at ``path`` ("header.section_headers[3].name") in a fresh tree, if present."""
    node = root
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if not node.has_children:
            return None
        children = node.children()
        if part.startswith("["):
            index = int(part[1:-1])
            while len(children) <= index and node.can_fetch_more():
                node.fetch_more()
            node = children[index] if index < len(children) else None
        else:
            node = next((c for c in children if c.name == part), None)
        if node is None:
            return None
        node.evaluate()
    return node


def _elide(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def install(window: QMainWindow) -> StructureFeature:
    """Add the Structure dock, its View ▸ Structure menu and the file-type status label."""
    from PySide6.QtCore import QCoreApplication

    feature = StructureFeature(window)
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(feature.shutdown)
    return feature
