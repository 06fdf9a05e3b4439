"""Starting the window: QApplication, the exception hook, the first file and the test hooks.

``run_gui`` returns the process exit status: 1 when the file named on the command line could not
be opened (the message also goes to stderr), after the window is closed.
``MMHEX_EXIT_AFTER_FIRST_PAINT=1`` makes the app print one ``mmhex-first-paint`` line (a
CLOCK_MONOTONIC timestamp, RSS, cursor and top row) to stdout right after the first frame is
painted, then quit: benchmarks time start-up with it and tests run the real start-up headless.
When the message bar shows something then, an ``mmhex-message`` line (JSON: level, text) follows,
so a test run as another user can check the sentence the window shows.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from types import TracebackType

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mmhex import __version__
from mmhex.cli import GuiRequest
from mmhex.core.errors import describe_error
from mmhex.ui.features import install_features
from mmhex.ui.icons import apply_desktop_identity
from mmhex.ui.instance import InstanceServer, hand_off
from mmhex.ui.main_window import MainWindow

FIRST_PAINT_ENV = "MMHEX_EXIT_AFTER_FIRST_PAINT"


def resident_kib() -> int:
    """Resident set size of this process now, in KiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


class FirstPaintProbe(QObject):
    """Prints one line after the first paint of ``widget``, then quits the application."""

    def __init__(self, window: MainWindow, widget: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._done = False
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._done:
            self._done = True
            # Runs once the paint that is about to happen has finished.
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        view = self._window.view
        print(
            f"mmhex-first-paint monotonic_ns={time.monotonic_ns()} rss_kib={resident_kib()} "
            f"cursor={view.cursor_offset} top_row={view.top_row} "
            f"size={view.size}",
            flush=True,
        )
        bar = self._window.message_bar
        if bar.text:
            shown = {"level": bar.level.value, "text": bar.text}
            print(f"mmhex-message {json.dumps(shown)}", flush=True)
        # exit(), not quit(): quit() also closes every window and leaves Qt "closing".
        QApplication.exit(0)


class ExceptionDialogHook:
    """sys.excepthook: an unexpected exception becomes a dialog, not a dead application."""

    def __init__(self) -> None:
        self.dialog: QMessageBox | None = None
        self.count = 0

    def __call__(
        self,
        kind: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        self.count += 1
        details = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(details)
        if QApplication.instance() is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            # One dialog at a time: a failing paint must not open hundreds of them.
            self.dialog.setInformativeText(f"({self.count} unexpected errors so far)")
            return
        dialog = QMessageBox(QMessageBox.Icon.Critical, "mmhex: unexpected error", "")
        dialog.setText(
            "Something went wrong inside mmhex; your file is unchanged. " + describe_error(value)
        )
        dialog.setDetailedText(details)
        dialog.setModal(False)
        dialog.show()
        self.dialog = dialog


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName("mmhex")
    app.setApplicationName("mmhex")
    app.setApplicationVersion(__version__)
    apply_desktop_identity(app)
    return app


def run_gui(request: GuiRequest) -> int:
    """Show the window for ``request``; returns the exit status when it closes."""
    app = application()
    probing = os.environ.get(FIRST_PAINT_ENV) == "1"  # a benchmark times its own window
    if request.files and not request.new_window and not probing and hand_off(request):
        return 0  # the running mmhex opened the files in tabs
    previous_hook = sys.excepthook
    sys.excepthook = ExceptionDialogHook()
    try:
        window = MainWindow()
        install_features(window)
        server = InstanceServer(lambda later: receive_request(window, later), window)
        if not probing:
            server.listen()
        status = open_request(window, request)
        if os.environ.get(FIRST_PAINT_ENV) == "1":
            page = window.view.viewport() if window.document else window.placeholder
            FirstPaintProbe(window, page)
        # Ctrl+C in the terminal closes the window; the timer lets Python see the signal.
        signal.signal(signal.SIGINT, lambda *_: window.close())
        wake = QTimer(window)
        wake.timeout.connect(lambda: None)
        wake.start(250)
        window.show()
        code = app.exec()
        server.close()
        if app.platformName() == "offscreen":
            # Qt's offscreen clipboard crashes at exit holding a Copy's QMimeData (PySide6 6.11).
            app.clipboard().clear()
        window.close()
        window.deleteLater()
        return status or code
    finally:
        sys.excepthook = previous_hook
        signal.signal(signal.SIGINT, signal.default_int_handler)


def open_request(window: MainWindow, request: GuiRequest) -> int:
    """Open the command line's files (a tab each) at their offsets, or the process asked for;
    1 (and a line on stderr per failure) when one could not be opened. The first file's tab
    ends up in front."""
    if request.compare is not None:
        from mmhex.ui.compare.feature import open_compare_request

        return open_compare_request(window, *request.compare)
    if request.pid is not None or request.run:
        from mmhex.ui.process import feature as process

        error = process.open_request_process(window, request.pid, request.run)
        if error is None and request.offset is not None:
            error = process.go_to_address(window, request.offset)  # an address for a process
            if error is not None:
                window.show_message(error)
        if error is not None:
            print(f"mmhex: {error}", file=sys.stderr, flush=True)
            return 1
        return 0
    status = 0
    for path, offset in request.files:
        error = window.open_path(path, readonly=request.readonly)
        if error is None and offset is not None:
            error = window.go_to_expression(offset)
            if error is not None:
                window.show_message(error)
        if error is None and request.edit:
            window.request_edit_mode()
        if error is not None:
            print(f"mmhex: {error}", file=sys.stderr, flush=True)
            status = 1
    if len(request.files) > 1 and request.path is not None:
        window.open_path(request.path)  # already open: brings its tab forward
    return status


def receive_request(window: MainWindow, request: GuiRequest) -> None:
    """Files handed over by a later ``mmhex FILE``: open them and bring the window forward."""
    open_request(window, request)
    if window.isMinimized():
        window.showNormal()
    window.raise_()
    window.focus_grid()
