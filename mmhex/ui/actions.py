"""Every action, menu entry and key binding of the window, declared in one table.

A row names its slot as ``"target.method"``: ``window`` is the MainWindow, ``view`` the HexView;
features register more targets (``MainWindow.register_action_target``) and add rows here.
Rows with a menu become QActions in that menu (``"&View/&Bytes per row"`` is a submenu); rows
without a menu whose target is ``view`` are key bindings the grid handles while it has focus, so
they never steal keys from text fields in other panels. Shortcuts are standard QKeySequence keys
where Qt has one, so platform conventions apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from mmhex.core.display import ENCODINGS
from mmhex.core.formats import COPY_FORMATS

Key = QKeySequence.StandardKey
Shortcut = QKeySequence.StandardKey | str

# Top-level menus in the order they appear; menus named by rows but missing here go before Help.
MENU_ORDER = ("&File", "&Edit", "&View", "&Go", "&Help")


@dataclass(frozen=True)
class ActionSpec:
    """One user command: where it appears, which keys trigger it, what it calls."""

    key: str  # unique id, e.g. "file.open"
    text: str
    slot: str  # "target.method"; called with ``value`` when that is not None
    menu: str = ""  # "" = key binding only
    shortcuts: tuple[Shortcut, ...] = ()
    value: object = None
    group: str = ""  # exclusive, checkable group (radio items)
    tip: str = ""
    separator_before: bool = False
    dynamic_menu: bool = False  # ``menu`` is a submenu the slot fills before it shows
    checkable: bool = False  # an on/off item; its slot sets the checked state it ends up in
    context_menu: bool = False  # also in the grid's context menu (after CONTEXT_MENU's entries)
    needs_file: bool = False  # disabled in an empty window (see _NEEDS_FILE for the table's)

    @property
    def target(self) -> str:
        return self.slot.partition(".")[0]

    @property
    def method(self) -> str:
        return self.slot.partition(".")[2]


def _choice(key: str, text: str, slot: str, menu: str, value: object) -> ActionSpec:
    """A radio item; items whose keys share the prefix before the last dot form one group."""
    return ActionSpec(key, text, slot, menu, value=value, group=key.rpartition(".")[0])


def _grid_key(key: str, text: str, method: str, shortcut: Shortcut) -> ActionSpec:
    """A key the hex grid handles itself while it has focus (no menu entry)."""
    return ActionSpec(key, text, f"view.{method}", shortcuts=(shortcut,))


_ROWS = "&View/&Bytes per row"
_GROUPS = "&View/Byte &grouping"
_OFFSETS = "&View/&Offsets"
_THEMES = "&View/&Theme"
_COPY_AS = "&Edit/Copy &As"
_INSPECTOR = "&View/&Inspector Reads At"
_ENCODINGS = "&View/Text &Encoding"

# fmt: off
ACTIONS: tuple[ActionSpec, ...] = (
    # ---- File
    ActionSpec("file.new", "&New", "editing.new_document", "&File", (Key.New,),
               tip="An empty document in memory; Save asks where to write it"),
    ActionSpec("file.open", "&Open…", "window.open_file_dialog", "&File", (Key.Open,)),
    ActionSpec("file.recent", "Open &Recent", "window.fill_recent_menu", "&File/Open &Recent",
               dynamic_menu=True),
    ActionSpec("file.save", "&Save", "editing.save", "&File", (Key.Save,), separator_before=True,
               tip="Write the edits into the file (journaled: a crash never half-writes it)"),
    ActionSpec("file.save_as", "Save &As…", "editing.save_as", "&File",
               (Key.SaveAs, "Ctrl+Shift+S"), tip="Write the file with the edits to a new file"),
    ActionSpec("file.revert", "Re&vert", "editing.revert", "&File",
               tip="Discard every unsaved edit"),
    ActionSpec("file.close", "&Close", "window.close_document", "&File", (Key.Close,),
               separator_before=True),
    ActionSpec("tabs.next", "Ne&xt Tab", "window.next_tab", "&File", ("Ctrl+Tab", "Ctrl+PgDown")),
    ActionSpec("tabs.previous", "Pre&vious Tab", "window.previous_tab", "&File",
               ("Ctrl+Shift+Tab", "Ctrl+PgUp")),
    ActionSpec("file.quit", "&Quit", "window.close", "&File", (Key.Quit, "Ctrl+Q"),
               separator_before=True),
    # ---- Edit
    ActionSpec("edit.undo", "&Undo", "editing.undo", "&Edit", (Key.Undo,)),
    ActionSpec("edit.redo", "&Redo", "editing.redo", "&Edit",
               (Key.Redo, "Ctrl+Shift+Z", "Ctrl+Y")),
    ActionSpec("edit.copy", "&Copy", "clipboard.copy", "&Edit", (Key.Copy,),
               separator_before=True,
               tip="Copy the selection as the focused pane shows it (hex digits or text), with "
                   "the raw bytes for hex editors"),
    *(ActionSpec(f"edit.copy_as.{key}", label, "clipboard.copy_as", _COPY_AS, value=key)
      for key, (label, _formatter) in COPY_FORMATS.items()),
    ActionSpec("edit.copy_offset", "Copy &Offset", "clipboard.copy_offset", "&Edit",
               tip="Copy the offset of the selection (or cursor) as 0x…"),
    ActionSpec("edit.paste", "&Paste", "editing.paste", "&Edit", (Key.Paste,),
               tip="Overwrite with the clipboard: hex text in the hex pane, characters in the text "
                   "pane, raw bytes anywhere; never grows the file"),
    ActionSpec("edit.fill", "&Fill Selection…", "editing.show_fill_dialog", "&Edit",
               tip="Fill the selected bytes with a byte or a repeated pattern"),
    ActionSpec("edit.select_all", "Select &All", "window.select_all", "&Edit", (Key.SelectAll,),
               separator_before=True),
    ActionSpec("edit.toggle_editing", "&Enable Editing", "editing.toggle_editing", "&Edit",
               ("Ctrl+E",), separator_before=True, checkable=True,
               tip="Edit in private memory (copy-on-write): the file is untouched until you save"),
    ActionSpec("edit.history", "Undo &History", "editing.show_history", "&Edit"),
    # ---- View
    _choice("view.bytes_per_row.8", "&8 bytes", "window.set_bytes_per_row", _ROWS, 8),
    _choice("view.bytes_per_row.16", "&16 bytes", "window.set_bytes_per_row", _ROWS, 16),
    _choice("view.bytes_per_row.32", "&32 bytes", "window.set_bytes_per_row", _ROWS, 32),
    ActionSpec("view.bytes_per_row.custom", "&Custom…", "window.ask_bytes_per_row", _ROWS,
               group="view.bytes_per_row", separator_before=True),
    ActionSpec("view.bytes_per_row.fit", "&Fit to Width", "window.fit_to_width", _ROWS,
               group="view.bytes_per_row",
               tip="As many bytes per row as the window's width shows (a multiple of 8)"),
    _choice("view.group.1", "&1 byte", "window.set_group", _GROUPS, 1),
    _choice("view.group.2", "&2 bytes", "window.set_group", _GROUPS, 2),
    _choice("view.group.4", "&4 bytes", "window.set_group", _GROUPS, 4),
    _choice("view.group.8", "&8 bytes", "window.set_group", _GROUPS, 8),
    ActionSpec("view.gap8", "Gap Every &8 Bytes", "window.toggle_gap8", "&View",
               checkable=True, separator_before=True,
               tip="One more space after every 8 bytes of the hex column, as hexdump -C"),
    ActionSpec("view.colour_classes", "&Colour Bytes by Class", "window.toggle_colour_classes",
               "&View", checkable=True,
               tip="Zero, printable ASCII, whitespace, other controls, 0xFF and high bytes each "
                   "in their own colour"),
    *(_choice(f"view.encoding.{key}", label, "window.set_encoding", _ENCODINGS, key)
      for key, label in ENCODINGS.items()),
    _choice("view.offset_base.16", "&Hexadecimal", "window.set_offset_base", _OFFSETS, 16),
    _choice("view.offset_base.10", "&Decimal", "window.set_offset_base", _OFFSETS, 10),
    _choice("view.theme.system", "Follow the &System", "window.set_theme", _THEMES, "system"),
    _choice("view.theme.light", "&Light", "window.set_theme", _THEMES, "light"),
    _choice("view.theme.dark", "&Dark", "window.set_theme", _THEMES, "dark"),
    _choice("view.inspector_origin.selection", "&Selection Start", "links.set_inspector_origin",
            _INSPECTOR, "selection"),
    _choice("view.inspector_origin.cursor", "&Cursor", "links.set_inspector_origin", _INSPECTOR,
            "cursor"),
    ActionSpec("view.zoom_in", "Zoom &In", "window.zoom_in", "&View", (Key.ZoomIn, "Ctrl+="),
               separator_before=True),
    ActionSpec("view.zoom_out", "Zoom &Out", "window.zoom_out", "&View", (Key.ZoomOut, "Ctrl+-")),
    ActionSpec("view.zoom_reset", "&Reset Zoom", "window.zoom_reset", "&View", ("Ctrl+0",)),
    # ---- Go
    ActionSpec("go.offset", "&Go to Offset…", "window.show_goto_dialog", "&Go", ("Ctrl+G",),
               tip="Jump to an offset: 0x1F4, 500, +0x10, -16, end-0x100, 0x400*3+2"),
    ActionSpec("go.start", "&Start of File", "view.move_to_start", "&Go", ("Ctrl+Home",)),
    ActionSpec("go.end", "&End of File", "view.move_to_end", "&Go", ("Ctrl+End",)),
    # ---- Search (rows of the search feature's menu that act on the selection)
    ActionSpec("search.find_selection", "Find &Selection", "selection_tools.find_selection",
               "&Search", separator_before=True,
               tip="Search for the selected bytes (as hex)"),
    ActionSpec("search.checksums", "Selection &Checksums", "selection_tools.show_checksums",
               "&Search", tip="Checksums and hashes of the selection"),
    # ---- Help
    ActionSpec("help.shortcuts", "&Keyboard Shortcuts…", "window.show_shortcuts", "&Help",
               ("F1",), tip="Every action, its menu and its keys"),
    ActionSpec("help.about", "&About mmhex", "window.show_about", "&Help"),
    # ---- Grid keys
    _grid_key("cursor.right", "Next byte", "move_right", Key.MoveToNextChar),
    _grid_key("cursor.left", "Previous byte", "move_left", Key.MoveToPreviousChar),
    _grid_key("cursor.down", "Next row", "move_down", Key.MoveToNextLine),
    _grid_key("cursor.up", "Previous row", "move_up", Key.MoveToPreviousLine),
    _grid_key("cursor.page_down", "Next page", "page_down", Key.MoveToNextPage),
    _grid_key("cursor.page_up", "Previous page", "page_up", Key.MoveToPreviousPage),
    _grid_key("cursor.row_start", "Start of row", "move_row_start", Key.MoveToStartOfLine),
    _grid_key("cursor.row_end", "End of row", "move_row_end", Key.MoveToEndOfLine),
    _grid_key("select.right", "Extend right", "select_right", Key.SelectNextChar),
    _grid_key("select.left", "Extend left", "select_left", Key.SelectPreviousChar),
    _grid_key("select.down", "Extend down", "select_down", Key.SelectNextLine),
    _grid_key("select.up", "Extend up", "select_up", Key.SelectPreviousLine),
    _grid_key("select.page_down", "Extend a page down", "select_page_down", Key.SelectNextPage),
    _grid_key("select.page_up", "Extend a page up", "select_page_up", Key.SelectPreviousPage),
    _grid_key("select.row_start", "Extend to row start", "select_row_start",
              Key.SelectStartOfLine),
    _grid_key("select.row_end", "Extend to row end", "select_row_end", Key.SelectEndOfLine),
    _grid_key("select.start", "Extend to start of file", "select_to_start",
              Key.SelectStartOfDocument),
    _grid_key("select.end", "Extend to end of file", "select_to_end", Key.SelectEndOfDocument),
    _grid_key("pane.switch", "Switch hex/text pane", "switch_pane", "Tab"),
    _grid_key("scroll.down", "Scroll one row down", "scroll_down", "Ctrl+Down"),
    _grid_key("scroll.up", "Scroll one row up", "scroll_up", "Ctrl+Up"),
)
# fmt: on

# The grid's context menu: action keys in order ("-" a separator, "&…" a submenu of the menu
# bar); keys whose feature is not installed are left out. Rows flagged ``context_menu`` follow.
CONTEXT_MENU: tuple[str, ...] = (
    "edit.copy",
    _COPY_AS,
    "edit.copy_offset",
    "edit.cut",
    "edit.paste",
    "-",
    "edit.select_all",
    "edit.fill",
    "edit.delete_selection",
    "edit.insert_bytes",
    "-",
    "bookmarks.add",
    "search.find_selection",
    "go.offset",
    "search.checksums",
)


# Rows that act on the open file: disabled in an empty window. Other features' rows opt in with
# ``needs_file=True`` (a row that opens something, e.g. a process, must stay enabled).
_NEEDS_FILE = (
    "file.save", "file.revert", "file.close", "edit.", "go.", "search.", "bookmarks.",
    "checksums.",
)  # fmt: skip


def needs_file(spec: ActionSpec) -> bool:
    return spec.needs_file or spec.key.startswith(_NEEDS_FILE)


def _menu_rank(title: str) -> float:
    """Position of a top-level menu: MENU_ORDER, and unknown menus just before Help."""
    if title in MENU_ORDER:
        return MENU_ORDER.index(title)
    return MENU_ORDER.index("&Help") - 0.5


def key_sequences(spec: ActionSpec) -> list[QKeySequence]:
    """Every key sequence of a row (a standard key may expand to several)."""
    sequences: list[QKeySequence] = []
    for shortcut in spec.shortcuts:
        if isinstance(shortcut, str):
            sequences.append(QKeySequence(shortcut))
        else:
            sequences.extend(QKeySequence.keyBindings(shortcut))
    unique: list[QKeySequence] = []
    for sequence in sequences:
        if not sequence.isEmpty() and sequence not in unique:
            unique.append(sequence)
    return unique


def view_key_bindings(
    specs: tuple[ActionSpec, ...] = ACTIONS,
) -> list[tuple[QKeySequence, str]]:
    """(key sequence, view method) for the rows the grid handles itself."""
    return [
        (sequence, spec.method)
        for spec in specs
        if not spec.menu and spec.target == "view"
        for sequence in key_sequences(spec)
    ]


class ActionBuilder:
    """Turns rows into QActions and menus on a menu bar, resolving slots by target name."""

    def __init__(self, menu_bar: QMenuBar, parent: QWidget) -> None:
        self._menu_bar = menu_bar
        self._parent = parent
        self._menus: dict[str, QMenu] = {}
        self._groups: dict[str, QActionGroup] = {}
        self._separators: dict[str, QAction] = {}  # row key -> the separator drawn above it
        self.actions: dict[str, QAction] = {}
        self.specs: dict[str, ActionSpec] = {}  # every row built, in the order it was built

    def menu(self, path: str) -> QMenu:
        """The (sub)menu at ``path`` ("&View/&Bytes per row"), created in MENU_ORDER."""
        if path in self._menus:
            return self._menus[path]
        parent_path, _, title = path.rpartition("/")
        if parent_path:
            menu = self.menu(parent_path).addMenu(title)
        else:
            menu = QMenu(title, self._menu_bar)
            self._menu_bar.insertMenu(self._top_level_anchor(title), menu)
        self._menus[path] = menu
        return menu

    def _top_level_anchor(self, title: str) -> QAction | None:
        """The action of the existing top-level menu that ``title`` must be inserted before."""
        for action in self._menu_bar.actions():
            if _menu_rank(action.text()) > _menu_rank(title):
                return action
        return None

    def build(self, specs: tuple[ActionSpec, ...], targets: dict[str, object]) -> None:
        """Create the actions of rows whose target exists and that are not built yet.

        Rows land in table order within their menu even when their target registers later.
        """
        for index, spec in enumerate(specs):
            if spec.key in self.actions or not spec.menu or spec.target not in targets:
                continue
            slot = getattr(targets[spec.target], spec.method)
            self.specs[spec.key] = spec
            if spec.dynamic_menu:
                submenu = self.menu(spec.menu)
                submenu.aboutToShow.connect(lambda submenu=submenu, slot=slot: slot(submenu))
                self.actions[spec.key] = submenu.menuAction()
                continue
            self.actions[spec.key] = self._action(spec, slot, specs[index + 1 :])

    def _anchor(self, menu: QMenu, later: tuple[ActionSpec, ...]) -> QAction | None:
        """What a new row goes before: the first built later row in ``menu`` (its separator)."""
        present = menu.actions()
        for spec in later:
            action = self.actions.get(spec.key)
            if action is not None and action in present:
                return self._separators.get(spec.key, action)
        return None

    def _submenu_at(self, path: str, later: tuple[ActionSpec, ...]) -> QMenu:
        """A submenu created where its rows belong in the parent, not appended at its end."""
        parent_path, _, title = path.rpartition("/")
        if path in self._menus or not parent_path:
            return self.menu(path)
        parent = self.menu(parent_path)
        menu = QMenu(title, parent)
        parent.insertMenu(self._anchor(parent, later), menu)
        self._menus[path] = menu
        return menu

    def _action(
        self, spec: ActionSpec, slot: Callable[..., object], later: tuple[ActionSpec, ...]
    ) -> QAction:
        menu = self._submenu_at(spec.menu, later)
        anchor = self._anchor(menu, later)
        if spec.separator_before:
            self._separators[spec.key] = menu.insertSeparator(anchor)
        action = QAction(spec.text, self._parent)
        action.setObjectName(spec.key)
        shortcuts = key_sequences(spec)
        if shortcuts:
            action.setShortcuts(shortcuts)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        if spec.checkable:
            action.setCheckable(True)
        if spec.group:
            action.setCheckable(True)
            group = self._groups.get(spec.group)
            if group is None:
                group = self._groups[spec.group] = QActionGroup(self._parent)
                group.setExclusive(True)
            group.addAction(action)
        if spec.value is not None:
            action.triggered.connect(lambda _checked=False, v=spec.value: slot(v))
        else:
            action.triggered.connect(lambda _checked=False: slot())
        menu.insertAction(anchor, action)
        return action

    def context_menu(self, parent: QWidget) -> QMenu:
        """The grid's context menu: CONTEXT_MENU, then rows flagged ``context_menu``.

        It holds the very QActions of the menu bar, so enabled states and shortcuts agree.
        """
        menu = QMenu(parent)
        entries = list(CONTEXT_MENU)
        entries += [
            key for key, spec in self.specs.items() if spec.context_menu and key not in entries
        ]
        for entry in entries:
            if entry == "-":
                if menu.actions() and not menu.actions()[-1].isSeparator():
                    menu.addSeparator()
            elif entry in self._menus:
                menu.addMenu(self._menus[entry])
            elif entry in self.actions:
                menu.addAction(self.actions[entry])
        while menu.actions() and menu.actions()[-1].isSeparator():
            menu.removeAction(menu.actions()[-1])
        return menu

    def check(self, key: str) -> None:
        """Tick a radio item (e.g. the current bytes per row) without triggering it."""
        action = self.actions.get(key)
        if action is not None:
            action.setChecked(True)
