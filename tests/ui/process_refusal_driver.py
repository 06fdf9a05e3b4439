"""File ▸ Open Process… on PID (argv[1]) in a real window, run by a user who may not read it.

Prints one JSON line: whether the list showed the process, the message bar's level and text,
whether a document opened, and how many unexpected errors the exception hook saw. Used by
tests/ui/test_process_refusal_as_nobody.py; run as ``nobody`` from a staged copy.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtWidgets import QApplication

from mmhex.ui.app import ExceptionDialogHook, application
from mmhex.ui.features import install_features
from mmhex.ui.main_window import MainWindow
from mmhex.ui.process.feature import feature_of


def main() -> int:
    pid = int(sys.argv[1])
    app = application()
    hook = ExceptionDialogHook()
    sys.excepthook = hook
    window = MainWindow()
    install_features(window)
    window.show()
    app.processEvents()
    window.action_builder.actions["process.open"].trigger()  # File ▸ Open Process…
    feature = feature_of(window)
    dialog = feature.open_dialog
    dialog.filter_edit.setText(str(pid))
    app.processEvents()
    listed = pid in dialog.shown_pids()
    if listed:
        dialog.table.selectRow(dialog.shown_pids().index(pid))
    dialog.accept()
    for _ in range(10):
        app.processEvents()
    bar = window.message_bar
    print(
        json.dumps(
            {
                "listed": listed,
                "level": bar.level.value,
                "text": bar.text,
                "document": window.document is not None,
                "errors": hook.count,
            }
        ),
        flush=True,
    )
    window.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
