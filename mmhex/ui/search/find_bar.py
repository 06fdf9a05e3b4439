"""The find/replace bar: what to look for, how, where; progress with bytes/s and Cancel.

It only collects and checks input: requests leave as signals carrying a FindRequest, and whoever
runs the search reports back through ``set_progress``/``show_message``/``set_busy``. A pattern
that cannot compile is flagged while typing, in words, and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QWidget,
)

from mmhex.core.formats import HexTextError, parse_hex_text
from mmhex.core.search import (
    CompiledPattern,
    PatternError,
    PatternKind,
    SearchPattern,
    TextEncoding,
    compile_pattern,
)
from mmhex.ui.search.worker import format_progress

_MODES = (
    (PatternKind.HEX, "Hex", "Hex bytes: DE AD ?? EF (?? any byte, 4? any of 40-4F)"),
    (PatternKind.TEXT, "Text", "Text in the chosen encoding"),
    (PatternKind.REGEX, "Regex", "Python regular expression over bytes, e.g. \\x89PNG.{4}IHDR"),
)
_ERROR_STYLE = "QLineEdit { border: 1px solid rgb(210, 50, 50); }"


@dataclass(frozen=True)
class FindRequest:
    """One search as the user asked for it."""

    pattern: SearchPattern
    compiled: CompiledPattern
    backward: bool = False
    wrap: bool = True
    in_selection: bool = False


@dataclass(frozen=True)
class FindInputs:
    """What the bar's fields hold: kept per tab, so each file shows its own search."""

    mode: int = 1  # index into _MODES: Text
    pattern: str = ""
    encoding: int = 0
    match_case: bool = True
    in_selection: bool = False
    wrap: bool = True
    replacement: str = ""


class FindBar(QWidget):
    """Ctrl+F shows it for finding, Ctrl+R with the replace row; Escape hides it."""

    find_requested = Signal(object)  # FindRequest
    find_all_requested = Signal(object)  # FindRequest
    replace_requested = Signal(object, bytes)  # FindRequest, replacement
    replace_all_requested = Signal(object, bytes)
    cancel_requested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self.mode = QComboBox(self)
        for kind, label, tip in _MODES:
            self.mode.addItem(label, kind)
            self.mode.setItemData(self.mode.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.pattern_edit = QLineEdit(self)
        self.pattern_edit.setPlaceholderText("Find")
        self.pattern_edit.setClearButtonEnabled(True)
        self.encoding = QComboBox(self)
        for encoding in TextEncoding:
            self.encoding.addItem(encoding.label, encoding)
        self.match_case = QCheckBox("Match case", self)
        self.match_case.setChecked(True)
        self.scope = QComboBox(self)
        self.scope.addItem("Whole file", False)
        self.scope.addItem("Selection", True)
        self.wrap = QCheckBox("Wrap", self)
        self.wrap.setChecked(True)
        self.wrap.setToolTip("Continue from the other end of the file (or selection)")
        self.previous_button = QPushButton("◀ Previous", self)
        self.previous_button.setToolTip("Find previous (Shift+F3)")
        self.next_button = QPushButton("Next ▶", self)
        self.next_button.setToolTip("Find next (F3)")
        self.next_button.setDefault(True)
        self.all_button = QPushButton("Find all", self)
        self.all_button.setToolTip("List every match and highlight them all")
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close (Escape)")

        self.replace_label = QLabel("Replace with", self)
        self.replace_edit = QLineEdit(self)
        self.replace_edit.setPlaceholderText("Replacement")
        self.replace_button = QPushButton("Replace", self)
        self.replace_all_button = QPushButton("Replace all", self)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.rate_label = QLabel(self)
        self.cancel_button = QPushButton("Cancel", self)
        self.message = QLabel(self)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # Two rows, so that the pattern keeps a usable width under a 16-byte grid: what to find
        # and the buttons that act on it, then how to match.
        self.pattern_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance("0") * 22)
        top = QHBoxLayout()
        for widget in (self.mode, self.pattern_edit, self.previous_button, self.next_button,
                       self.all_button, self.close_button):  # fmt: skip
            top.addWidget(widget, 1 if widget is self.pattern_edit else 0)
        options = QHBoxLayout()
        for widget in (self.encoding, self.match_case, self.scope, self.wrap):
            options.addWidget(widget)
        options.addStretch(1)
        replace = QHBoxLayout()
        for widget in (self.replace_label, self.replace_edit, self.replace_button,
                       self.replace_all_button):  # fmt: skip
            replace.addWidget(widget, 1 if widget is self.replace_edit else 0)
        status = QHBoxLayout()
        status.addWidget(self.progress)
        status.addWidget(self.rate_label)
        status.addWidget(self.cancel_button)
        status.addWidget(self.message, 1)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(3)
        grid.addLayout(top, 0, 0)
        grid.addLayout(options, 1, 0)
        grid.addLayout(replace, 2, 0)
        grid.addLayout(status, 3, 0)
        self._replace_widgets = (
            self.replace_label,
            self.replace_edit,
            self.replace_button,
            self.replace_all_button,
        )

        self._compiled: CompiledPattern | None = None
        self.message_error = False  # the message line says what went wrong (shown in red)
        self._editable = False
        self._has_selection = False
        self._busy = False
        self.mode.setCurrentIndex(1)  # Text
        self.mode.currentIndexChanged.connect(self._inputs_changed)
        self.encoding.currentIndexChanged.connect(self._inputs_changed)
        self.match_case.toggled.connect(self._inputs_changed)
        self.pattern_edit.textChanged.connect(self._inputs_changed)
        self.replace_edit.textChanged.connect(self._inputs_changed)
        self.pattern_edit.returnPressed.connect(self.find_next)
        self.next_button.clicked.connect(self.find_next)
        self.previous_button.clicked.connect(self.find_previous)
        self.all_button.clicked.connect(self.find_all)
        self.replace_button.clicked.connect(self.replace)
        self.replace_all_button.clicked.connect(self.replace_all)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.close_button.clicked.connect(self.close_bar)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close_bar,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)  # fmt: skip
        QShortcut(QKeySequence("Shift+Return"), self.pattern_edit, self.find_previous,
                  context=Qt.ShortcutContext.WidgetShortcut)  # fmt: skip
        self.set_replace_visible(False)
        self.set_busy(False)
        self._inputs_changed()

    # ----------------------------------------------------------------- showing
    def show_find(self, initial: str | None = None) -> None:
        """Ctrl+F: show without the replace row and put the cursor in the pattern field."""
        self.set_replace_visible(False)
        self._show(initial)

    def show_replace(self, initial: str | None = None) -> None:
        """Ctrl+R: show with the replace row."""
        self.set_replace_visible(True)
        self._show(initial)

    def _show(self, initial: str | None) -> None:
        if initial:
            self.pattern_edit.setText(initial)
        self.show()
        self.pattern_edit.setFocus()
        self.pattern_edit.selectAll()

    def close_bar(self) -> None:
        if self._busy:
            self.cancel_requested.emit()
        self.hide()
        self.closed.emit()

    def set_replace_visible(self, visible: bool) -> None:
        for widget in self._replace_widgets:
            widget.setVisible(visible)
        self._update_buttons()

    @property
    def replace_visible(self) -> bool:
        return not self.replace_edit.isHidden()

    # ----------------------------------------------------------------- state from outside
    def set_editable(self, editable: bool, reason: str = "") -> None:
        """Replace needs edit mode; say why not otherwise."""
        self._editable = editable
        tip = "" if editable else (reason or "Replacing needs edit mode (Edit ▸ Enable editing).")
        for button in (self.replace_button, self.replace_all_button):
            button.setToolTip(tip)
        self._update_buttons()

    def set_selection_available(self, available: bool) -> None:
        self._has_selection = available
        self.scope.model().item(1).setEnabled(available)
        if not available and self.scope.currentIndex() == 1:
            self.scope.setCurrentIndex(0)

    def set_busy(self, busy: bool) -> None:
        """While a search runs: progress and Cancel show, starting another is disabled."""
        self._busy = busy
        self.progress.setVisible(busy)
        self.rate_label.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setValue(0)
            self.rate_label.clear()
            self.show_message("")
        self._update_buttons()

    def set_progress(self, done: int, total: int, rate: float) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.rate_label.setText(format_progress(done, total, rate))

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message_error = error and bool(text)
        self.message.setText(text)
        self.message.setStyleSheet("color: rgb(210, 50, 50);" if error else "")
        # An empty line would cost the grid a row: the status line shows only with something.
        self.message.setVisible(bool(text))

    # ----------------------------------------------------------------- per tab
    def inputs(self) -> FindInputs:
        """The fields as they are now (a tab takes them along when another comes forward)."""
        return FindInputs(
            mode=self.mode.currentIndex(),
            pattern=self.pattern_edit.text(),
            encoding=self.encoding.currentIndex(),
            match_case=self.match_case.isChecked(),
            in_selection=bool(self.scope.currentData()),
            wrap=self.wrap.isChecked(),
            replacement=self.replace_edit.text(),
        )

    def set_inputs(self, inputs: FindInputs) -> None:
        """Fill the fields from a tab's saved inputs (the pattern is checked again)."""
        self.mode.setCurrentIndex(inputs.mode)
        self.encoding.setCurrentIndex(inputs.encoding)
        self.match_case.setChecked(inputs.match_case)
        self.pattern_edit.setText(inputs.pattern)
        self.replace_edit.setText(inputs.replacement)
        self.wrap.setChecked(inputs.wrap)
        self.scope.setCurrentIndex(1 if inputs.in_selection and self._has_selection else 0)
        self._inputs_changed()

    # ----------------------------------------------------------------- requests
    def current_request(self, *, backward: bool = False) -> FindRequest | None:
        """The request the inputs describe now, or None (and a message) if they are invalid."""
        if self._compiled is None:
            return None
        return FindRequest(
            pattern=self._pattern(),
            compiled=self._compiled,
            backward=backward,
            wrap=self.wrap.isChecked(),
            in_selection=bool(self.scope.currentData()),
        )

    def find_next(self) -> None:
        self._emit(self.find_requested, backward=False)

    def find_previous(self) -> None:
        self._emit(self.find_requested, backward=True)

    def find_all(self) -> None:
        self._emit(self.find_all_requested, backward=False)

    def replace(self) -> None:
        self._emit_replace(self.replace_requested)

    def replace_all(self) -> None:
        self._emit_replace(self.replace_all_requested)

    def _emit(self, signal: Signal, *, backward: bool) -> None:
        request = self.current_request(backward=backward)
        if request is not None and not self._busy:
            signal.emit(request)

    def _emit_replace(self, signal: Signal) -> None:
        request = self.current_request()
        if request is None or self._busy or not self._editable:
            return
        replacement = self.replacement_bytes()
        if replacement is not None:
            signal.emit(request, replacement)

    # ----------------------------------------------------------------- parsing
    def _pattern(self) -> SearchPattern:
        kind: PatternKind = self.mode.currentData()
        return SearchPattern(
            kind,
            self.pattern_edit.text(),
            self.encoding.currentData(),
            ignore_case=not self.match_case.isChecked(),
        )

    def replacement_bytes(self) -> bytes | None:
        """The replacement as bytes (hex in Hex mode, else text in the chosen encoding).

        None, with the reason shown, when it cannot be used.
        """
        text = self.replace_edit.text()
        kind: PatternKind = self.mode.currentData()
        try:
            if kind is PatternKind.HEX:
                data = parse_hex_text(text)
            else:
                encoding: TextEncoding = self.encoding.currentData()
                data = text.encode(encoding.value)
        except HexTextError as exc:
            self.show_message(str(exc), error=True)
            return None
        except UnicodeEncodeError:
            self.show_message(
                f"The replacement cannot be written in {self.encoding.currentText()}.", error=True
            )
            return None
        if not data:
            self.show_message("Type the replacement bytes first.", error=True)
            return None
        return data  # of any length: a longer or shorter replacement inserts or deletes

    def _inputs_changed(self) -> None:
        kind: PatternKind = self.mode.currentData()
        self.encoding.setVisible(kind is PatternKind.TEXT)
        self.match_case.setVisible(kind is not PatternKind.HEX)
        self.pattern_edit.setToolTip(_MODES[self.mode.currentIndex()][2])
        self.replace_edit.setPlaceholderText(
            "Replacement hex bytes" if kind is PatternKind.HEX else "Replacement text"
        )  # fmt: skip
        self._compiled = None
        if not self.pattern_edit.text():
            self.pattern_edit.setStyleSheet("")
            self.show_message("")
        else:
            try:
                self._compiled = compile_pattern(self._pattern())
            except PatternError as exc:
                self.pattern_edit.setStyleSheet(_ERROR_STYLE)
                self.show_message(str(exc), error=True)
            else:
                self.pattern_edit.setStyleSheet("")
                # A regex that can outrun the windowed search's limits says so before it runs.
                self.show_message(limits_note(self._compiled))
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = self._compiled is not None and not self._busy
        for button in (self.next_button, self.previous_button, self.all_button):
            button.setEnabled(ready)
        for button in (self.replace_button, self.replace_all_button):
            button.setEnabled(ready and self._editable and bool(self.replace_edit.text()))


def limits_note(compiled: CompiledPattern) -> str:
    """The find bar's line for a pattern's regex-limit warnings ('' when there are none)."""
    if not compiled.warnings:
        return ""
    return "Note: " + "; ".join(compiled.warnings) + "."
