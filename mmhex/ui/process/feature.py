"""Processes in the window: Open Process…, Run Program…, the Regions dock, Refresh and Live.

A process opens as a ProcessDocument shown through ``window.set_document`` like any file; this
feature adds what only a process has: addresses in the offset column, each readable region
starting a row of its own and each folded gap as one separator row with its note (HexView's
offset labeller and segments hook), the Regions dock, F5 to re-read the maps and bytes, a live
refresh of the visible rows, the question before writing into a live process, and the
message (never a traceback) when access is refused. Programs started by Run Program are
mmhex's children, which Yama's default ptrace_scope=1 lets it read; they are asked to stop
(SIGTERM) when mmhex quits.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QInputDialog,
    QMainWindow,
    QMessageBox,
)

from mmhex.core.document import Change, ChangeKind
from mmhex.core.errors import describe_error
from mmhex.core.expressions import ExpressionError, parse_expression
from mmhex.core.process import PAGE_SIZE, AddressSpace, ProcessAccessError, Region, page_state
from mmhex.core.process_document import ProcessDocument
from mmhex.core.process_residency import PageCounts, region_pages
from mmhex.core.row_layout import Segment
from mmhex.ui import settings
from mmhex.ui.actions import ActionSpec
from mmhex.ui.dialogs import questions
from mmhex.ui.main_window import human_size
from mmhex.ui.process.open_dialog import ProcessDialog
from mmhex.ui.process.regions_panel import RegionsPanel
from mmhex.ui.widgets import MessageLevel

LIVE_SETTING = "process/live_refresh"
LIVE_INTERVAL_MS = 500
OBJECT_NAME = "process-feature"
STATUS_MS = 8000

PROCESS_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "process.open",
        "Open &Process…",
        "process.show_open_dialog",
        "&File",
        ("Ctrl+Shift+O",),
        separator_before=True,
        tip="Open a running process's memory (its readable mappings, at their addresses)",
    ),
    ActionSpec(
        "process.run",
        "R&un Program…",
        "process.show_run_dialog",
        "&File",
        tip="Start a program as mmhex's child and open its memory (allowed without privileges)",
    ),
    ActionSpec(
        "process.goto_address",
        "Go to &Address…",
        "process.show_goto_address",
        "&Go",
        ("Ctrl+Shift+G",),
        tip="Jump to a virtual address of the process shown (hex: 7f3a0000, 0x7f3a_0000, +0x10)",
    ),
    ActionSpec(
        "process.open_mapped",
        "Open &Mapped File at Cursor",
        "process.open_mapped_at_cursor",
        "&Go",
        tip="Open the file behind the region under the cursor, at the offset the cursor maps to",
    ),
    ActionSpec(
        "process.refresh",
        "&Refresh",
        "process.refresh",
        "&View",
        ("F5",),
        separator_before=True,
        tip="Re-read the process's mappings and bytes (or re-check the file)",
    ),
    ActionSpec(
        "process.live",
        "Refresh Visible Rows &Live",
        "process.toggle_live",
        "&View",
        checkable=True,
        tip=f"Re-read the rows on screen every {LIVE_INTERVAL_MS} ms while a process is shown",
    ),
)


def process_segments(space: AddressSpace) -> list[Segment]:
    """The rows of a process: its readable regions in order, a note on each that follows a gap
    (unmapped or unreadable addresses folded away)."""
    segments = []
    for index, region in enumerate(space.readable):
        gap = space.gap_before(index)
        note = gap_note(space.regions, *gap) if gap is not None else None
        segments.append(Segment(space.region_start_offset(index), region.size, note))
    return segments


def gap_note(regions: Sequence[Region], start: int, end: int) -> str:
    """'… 7f3a_0000 – 7f3b_2000 unmapped, 72 KiB' (or what lies there when it is mapped)."""
    inside = [region for region in regions if region.start < end and region.end > start]
    what = "unmapped"
    if inside:
        kinds = sorted({region.kind for region in inside})
        what = "not readable (" + ", ".join(kinds[:3]) + (", …" if len(kinds) > 3 else "") + ")"
    return f"… 0x{start:_x} – 0x{end:_x} {what}, {human_size(end - start)}"


class ProcessFeature(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName(OBJECT_NAME)
        self.window = window
        self.view = window.view
        self.document: ProcessDocument | None = None
        self.started: list[subprocess.Popen[bytes]] = []
        self.open_dialog: ProcessDialog | None = None
        # The segments of the last address space laid out (regions, gaps noted), by its id.
        self._segments: tuple[object, list[Segment]] = (None, [])
        self._address_digits = 12
        self.panel = RegionsPanel()
        self.dock = window.add_dock(
            self.panel, "Regions", Qt.DockWidgetArea.BottomDockWidgetArea, False
        )
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_INTERVAL_MS)
        self.live_timer.timeout.connect(self.refresh_visible_rows)
        window.install_actions(PROCESS_ACTIONS, process=self)
        window.document_changed.connect(self._on_document_changed)
        self.view.segments_hook = self.segments_hook
        self.panel.region_activated.connect(self.go_to_region)
        self.panel.open_file_requested.connect(self.open_mapped_file)
        self.view.cursor_moved.connect(self._show_cursor_page)
        # After the window's own status update, which knows only files' modes.
        self.view.cursor_moved.connect(self._show_mode)
        self.view.selection_changed.connect(self._show_mode)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_children)
        live = settings.open_settings().value(LIVE_SETTING, False, type=bool)
        self.set_live(bool(live), save=False)

    # ----------------------------------------------------------------- opening
    def open_pid(self, pid: int) -> str | None:
        """Show process ``pid`` in a tab of its own; returns None, or the sentence shown when it
        was refused."""
        try:
            document = ProcessDocument.open(pid)
        except ProcessAccessError as exc:
            return self._refuse(str(exc))
        except OSError as exc:
            return self._refuse(describe_error(exc, f"process {pid}"))
        self.window.set_document(document, new_tab=True)
        return None

    def _refuse(self, sentence: str) -> str:
        self.window.show_message(sentence, MessageLevel.ERROR)
        return sentence

    def run_program(self, argv: Sequence[str]) -> str | None:
        """Start ``argv`` as mmhex's child and open it; None, or the sentence shown."""
        if not argv:
            return self._refuse("Run Program: no command was given.")
        try:
            child = subprocess.Popen(list(argv))
        except OSError as exc:
            return self._refuse(f"{argv[0]}: {describe_error(exc)}")
        self.started.append(child)
        error = self.open_pid(child.pid)
        if error is not None and child.poll() is not None:
            return self._refuse(
                f"{argv[0]} (PID {child.pid}) ended at once, with exit status {child.returncode}, "
                "before its memory could be shown."
            )
        return error

    def show_open_dialog(self) -> ProcessDialog:
        """File ▸ Open Process…: the searchable list (window-modal, non-blocking)."""
        dialog = ProcessDialog(self.window)
        dialog.accepted.connect(lambda: self.open_pid(dialog.pid) if dialog.pid else None)
        dialog.finished.connect(self.window.return_focus_to_grid)
        dialog.finished.connect(dialog.deleteLater)
        self.open_dialog = dialog
        dialog.open()
        return dialog

    def show_run_dialog(self) -> None:
        text, ok = QInputDialog.getText(
            self.window, "Run Program", "Command line (it becomes mmhex's child):"
        )
        self.window.return_focus_to_grid()
        if ok and text.strip():
            try:
                argv = shlex.split(text)
            except ValueError as exc:
                self._refuse(f"Run Program: {exc}.")
                return
            self.run_program(argv)

    def stop_children(self) -> None:
        """Ask the programs mmhex started to stop (SIGTERM) and reap them."""
        for child in self.started:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        self.started.clear()

    # ----------------------------------------------------------------- following the document
    def _on_document_changed(self, document: object) -> None:
        if document is not self.document and self.document is not None:
            self.document.remove_listener(self._on_change)
            self.document.confirm_editing = None
        if not isinstance(document, ProcessDocument):
            self.document = None
            self.view.set_offset_labeller(None)
            self.panel.set_regions([], {})
            self.panel.cursor_page.setText("")
            return
        if document is not self.document:
            self.document = document
            document.add_listener(self._on_change)
            document.confirm_editing = self.confirm_editing
            self.dock.show()
            self.dock.raise_()
        self._follow_space()
        self._show_mode()

    def _follow_space(self) -> None:
        """Labels, gap notes and the Regions table after the address space was (re)read."""
        document = self.document
        assert document is not None
        space = document.space
        last = space.readable[-1].end - 1 if space.readable else 0
        self._address_digits = max(8, len(f"{last:x}"))
        self.view.set_offset_labeller(self.address_label, header="address")
        self.panel.set_regions(space.regions, self._measure(space.regions))
        self._show_cursor_page()

    def _measure(self, regions: list[Region]) -> dict[int, PageCounts | None]:
        document = self.document
        assert document is not None
        counts: dict[int, PageCounts | None] = {}
        for region in regions:
            if not region.readable:
                continue
            try:
                counts[region.start] = region_pages(document.memory, region)
            except OSError:
                counts[region.start] = None
        return counts

    def segments_hook(self, document: object) -> Callable[[], list[Segment]] | None:
        """HexView asks this for each document it shows: a process's rows follow its regions."""
        if not isinstance(document, ProcessDocument):
            return None
        return lambda: self.segments_of(document)

    def segments_of(self, document: ProcessDocument) -> list[Segment]:
        """Each readable region a segment (it starts a row); a gap before it gives the
        separator row's note. Worked out again only when the address space was re-read."""
        space = document.space
        if self._segments[0] is not space:
            self._segments = (space, process_segments(space))
        return self._segments[1]

    def address_label(self, offset: int) -> str:
        """The offset column of a process: the virtual address of the row's first byte."""
        document = self.document
        if document is None or not 0 <= offset < document.size:
            return ""
        return f"{document.address_of(offset):0{self._address_digits}x}"

    def _on_change(self, change: Change) -> None:
        if change.kind is ChangeKind.MODE:
            self._show_mode()
            if self.document is not None and self.document.editing:
                # After the editing feature's own remark, which speaks of files and saving.
                QTimer.singleShot(0, self._explain_live_writes)

    def _explain_live_writes(self) -> None:
        self.window.statusBar().showMessage(
            "Writing into the process: each change takes effect at once; Undo writes the old "
            "bytes back.",
            STATUS_MS,
        )

    def _show_mode(self, *_args: object) -> None:
        """The status bar in a process's terms (after the window wrote it in a file's)."""
        document = self.document
        if document is None:
            return
        if document.size:
            offset = min(self.view.cursor_offset, document.size - 1)
            self.window.cursor_label.setText(
                f"Address 0x{document.address_of(offset):x} (offset 0x{offset:x})"
            )
        label = self.window.mode_label
        label.setText("Process: writing live" if document.editing else "Process: read-only")
        label.setToolTip(
            "Changes go into the running process at once"
            if document.editing
            else "Ctrl+E asks before writing into the process"
        )

    def confirm_editing(self, document: ProcessDocument) -> bool:
        """Asked by ProcessDocument.enable_editing before /proc/PID/mem is opened for writing."""
        answer = questions.ask(
            self.window,
            QMessageBox.Icon.Warning,
            "Write into a running process?",
            f"Edits will change the memory of {document.path} at once, while it runs; a wrong "
            "byte can crash it or corrupt its data. Undo writes the old bytes back.",
            {
                QMessageBox.StandardButton.Yes: "&Write into the Process",
                QMessageBox.StandardButton.Cancel: "",
            },
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    # ----------------------------------------------------------------- refresh
    def refresh(self) -> None:
        """F5: re-read a process's maps and bytes (the cursor keeps its address); or re-check
        the file."""
        document = self.document
        if document is None:
            self.window.check_outside_change()
            return
        cursor = self.view.cursor_offset
        address = document.address_of(cursor) if cursor < document.size else None
        change = document.refresh()
        if address is not None:
            offset = document.offset_of(address)
            if offset is not None:
                self.view.go_to(offset)
        if not change.message:
            self.window.statusBar().showMessage(
                f"Re-read {len(document.space.readable)} readable regions of {document.path}.",
                STATUS_MS,
            )

    def toggle_live(self) -> None:
        self.set_live(not self.live_timer.isActive())

    def set_live(self, enabled: bool, *, save: bool = True) -> None:
        if enabled:
            self.live_timer.start()
        else:
            self.live_timer.stop()
        action = self.window.action_builder.actions.get("process.live")
        if action is not None:
            action.setChecked(enabled)
        if save:
            settings.open_settings().setValue(LIVE_SETTING, enabled)

    def refresh_visible_rows(self) -> None:
        """The timer: read the rows on screen again (nothing else is told; no panel churns)."""
        if self.document is None or not self.view.isVisible() or not self.document.alive:
            return
        self.view.model.invalidate()
        self.view.viewport().update()

    # ----------------------------------------------------------------- addresses
    def show_goto_address(self) -> None:
        """Go ▸ Go to Address…: ask for an address and jump there (or say why not)."""
        if self.document is None:
            self.window.statusBar().showMessage(
                "Go to Address works on a process (File ▸ Open Process…); use Go to Offset "
                "for a file.",
                STATUS_MS,
            )
            return
        text, ok = QInputDialog.getText(
            self.window,
            "Go to Address",
            "Virtual address (hex: 7f3a0000, 0x7f3a_0000; +0x10 or -16 from the cursor):",
        )
        self.window.return_focus_to_grid()  # without a window manager, shortcuts need it
        if ok and text.strip():
            error = self.go_to_address_text(text)
            if error:
                self.window.show_message(error, MessageLevel.WARNING)

    def go_to_address_text(self, text: str) -> str | None:
        """Jump to the address ``text`` names; returns None, or what to tell the user: why it
        could not be read, or that an address in a gap went to the next mapped byte."""
        document = self.document
        if document is None:
            return "No process is shown."
        cursor = (
            document.address_of(min(self.view.cursor_offset, document.size - 1))
            if document.size
            else 0
        )
        try:
            address = parse_address(text, cursor)
        except ExpressionError as exc:
            return f"Address {text.strip()!r}: {exc}."
        offset = document.offset_of(address)
        if offset is not None:
            self.view.go_to(offset)
            return None
        reason = why_not_shown(document.regions, address).removesuffix(".")
        following = [region for region in document.space.readable if region.start > address]
        if following:
            target, which = following[0].start, "next"
        elif document.size:
            target, which = document.space.readable[-1].end - 1, "last"
        else:
            return reason + "."
        offset = document.offset_of(target)
        assert offset is not None
        self.view.go_to(offset)
        return f"{reason}: the cursor is on the {which} mapped byte, 0x{target:_x}."

    # ----------------------------------------------------------------- regions
    def go_to_region(self, region: Region) -> None:
        document = self.document
        if document is None:
            return
        offset = document.offset_of(region.start)
        if offset is None:
            self.window.statusBar().showMessage(
                f"{region.start:_x} – {region.end:_x} is not shown: {region.unreadable}.",
                STATUS_MS,
            )
            return
        self.view.go_to(offset)
        self.view.setFocus()

    def open_mapped_at_cursor(self) -> str | None:
        """Go ▸ Open Mapped File at Cursor: the file behind the cursor's region, if any."""
        document = self.document
        if document is None or not document.size:
            self.window.statusBar().showMessage("Open a process first.", STATUS_MS)
            return None
        address = document.address_of(min(self.view.cursor_offset, document.size - 1))
        region = next(r for r in document.regions if r.start <= address < r.end)
        if not region.file_backed:
            self.window.statusBar().showMessage(
                f"The cursor is in {region.kind}, which no file backs.", STATUS_MS
            )
            return None
        return self.open_mapped_file(region)

    def open_mapped_file(self, region: Region) -> str | None:
        """Open the file behind ``region`` in a tab of its own, at the offset the cursor maps to;
        returns None, or the sentence shown when the file could not be opened."""
        if not region.file_backed:
            return None
        file_offset = region.offset
        document = self.document
        if document is not None and self.view.cursor_offset < document.size:
            address = document.address_of(self.view.cursor_offset)
            if region.start <= address < region.end:
                file_offset += address - region.start
        error = self.window.open_path(region.path, readonly=True)
        if error is None and self.window.document is not None:
            self.window.view.go_to(min(file_offset, max(self.window.document.size - 1, 0)))
        return error

    def _show_cursor_page(self, *_args: object) -> None:
        document = self.document
        if document is None or not document.size:
            return
        offset = min(self.view.cursor_offset, document.size - 1)
        address = document.address_of(offset)
        try:
            entry = document.memory.pagemap(address - address % PAGE_SIZE, 1)
        except OSError as exc:
            self.panel.cursor_page.setText(describe_error(exc))
            return
        state = page_state(entry[0]) if entry else "unknown"
        self.panel.cursor_page.setText(f"Page at 0x{address:_x}: {state}")


def parse_address(text: str, cursor: int) -> int:
    """An address as typed: bare digits are hex (as the offset column shows them); ``0x``,
    ``_`` separators and expressions (``+0x10``, ``-16`` from the cursor) as in Go to."""
    text = text.strip().replace("_", "")
    if re.fullmatch(r"[0-9a-fA-F]+", text):
        return int(text, 16)
    expression = parse_expression(text)
    value = expression.evaluate({"cursor": cursor})
    if expression.relative:
        value += cursor
    if value < 0:
        raise ExpressionError(f"address {value} is negative")
    return value


def why_not_shown(regions: Sequence[Region], address: int) -> str:
    """Why ``address`` has no place in the grid: an unreadable region, or no mapping."""
    for region in regions:
        if region.start <= address < region.end:
            return (
                f"0x{address:_x} lies in {region.kind} ({region.perms}), which is not shown: "
                f"{region.unreadable}."
            )
    below = [region.end for region in regions if region.end <= address]
    above = [region.start for region in regions if region.start > address]
    low = f"0x{max(below):_x}" if below else "0"
    high = f"0x{min(above):_x}" if above else "the top of the address space"
    return f"0x{address:_x} is not mapped (nothing between {low} and {high})."


def install(window: QMainWindow) -> ProcessFeature:
    """Add Open Process, Run Program, the Regions dock, Refresh and Live to ``window``."""
    return ProcessFeature(window)


def feature_of(window: QMainWindow) -> ProcessFeature | None:
    """The feature installed on ``window`` (for the command line's --pid and --run)."""
    found = window.findChild(QObject, OBJECT_NAME)
    return found if isinstance(found, ProcessFeature) else None


def open_request_process(window: QMainWindow, pid: int | None, run: Sequence[str]) -> str | None:
    """``mmhex --pid PID`` / ``mmhex --run -- CMD``: None, or the sentence shown."""
    feature = feature_of(window) or install(window)
    return feature.run_program(run) if run else feature.open_pid(pid or 0)


def go_to_address(window: QMainWindow, text: str) -> str | None:
    """``mmhex --pid PID --offset ADDRESS``: jump to the address; None, or why not."""
    feature = feature_of(window)
    return "No process is shown." if feature is None else feature.go_to_address_text(text)
