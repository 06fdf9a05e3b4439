"""Small widgets of the main window: the non-modal message bar and the empty-window placeholder."""

from __future__ import annotations

import enum

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class MessageLevel(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# Translucent tints read well on light and dark palettes alike.
_TINTS = {
    MessageLevel.INFO: "rgba(60, 130, 230, 45)",
    MessageLevel.WARNING: "rgba(235, 170, 0, 70)",
    MessageLevel.ERROR: "rgba(220, 50, 50, 70)",
}
_ICONS = {MessageLevel.INFO: "ℹ", MessageLevel.WARNING: "⚠", MessageLevel.ERROR: "✖"}


class MessageBar(QFrame):
    """A dismissable line of news above the grid (outside changes, errors); never blocks."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.level = MessageLevel.INFO
        self._icon = QLabel(self)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        self.close_button = close
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._icon)
        layout.addWidget(self._label, 1)
        layout.addWidget(close)
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, level: MessageLevel = MessageLevel.INFO) -> None:
        if level is not self.level or not self.styleSheet():
            # Style sheets are costly to re-apply; a storm of reloads repeats the same level.
            self.setStyleSheet(
                f"#messageBar {{ background: {_TINTS[level]}; border-radius: 3px; }}"
            )
        self.level = level
        self._icon.setText(_ICONS[level])
        self._label.setText(text)
        self.show()

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


class PanelDock(QDockWidget):
    """A dock whose panel scrolls when squeezed instead of holding the window to its size.

    The panel sits in a frameless, resizable scroll area: a small window (down to 640×480) and
    the grid's text column come first, a panel's minimum size never does. ``widget()`` still
    returns the panel itself.
    """

    def __init__(self, title: str, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self._panel = panel
        area = QScrollArea(self)
        area.setObjectName("panelScroll")
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidgetResizable(True)
        area.setWidget(panel)
        self.setWidget(area)

    def widget(self) -> QWidget:  # type: ignore[override]
        return self._panel

    def sizeHint(self) -> QSize:
        """What the panel itself asks for (a bare scroll area would offer a generic size)."""
        hint = super().sizeHint()
        panel = self._panel.sizeHint().expandedTo(self._panel.minimumSizeHint())
        extra = 2 * self.style().pixelMetric(self.style().PixelMetric.PM_DockWidgetFrameWidth)
        return hint.expandedTo(QSize(panel.width() + extra, hint.height()))


def dock_of(widget: QWidget) -> QDockWidget | None:
    """The dock a panel is shown in (through its scroll area), if any."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


class Placeholder(QWidget):
    """What an empty window shows: how to open a file."""

    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Open a file to see its bytes", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        button = QPushButton("Open File…", self)
        button.clicked.connect(self.open_requested)
        hint = QLabel("or drop a file here — any size, from 0 bytes to 8 EiB", self)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(hint)
        layout.addStretch(1)


def show_entry_state(label: QLabel, ok_button: QPushButton, line: str, *, valid: bool,
                     error: bool) -> None:  # fmt: skip
    """The line under a dialog's entry: what the entry means or what is wrong, and whether OK
    may be pressed. ``error`` marks the line (a dialog's ``error_text`` reads the mark)."""
    label.setText(line)
    label.setStyleSheet("color: palette(bright-text);" if error else "")
    label.setProperty("error", error)
    ok_button.setEnabled(valid)


def ok_cancel_buttons(dialog: QDialog) -> QDialogButtonBox:
    """The OK / Cancel row of a dialog, wired to accept and reject."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def entry_feedback(dialog: QDialog) -> tuple[QLabel, QDialogButtonBox]:
    """The line under a dialog's entry and its OK/Cancel buttons, wired to accept/reject."""
    message = QLabel(dialog)
    message.setWordWrap(True)
    return message, ok_cancel_buttons(dialog)
