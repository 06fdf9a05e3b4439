"""What the PyInstaller bundle runs: the same entry point as the ``mmhex`` command.

The bundle's run-time hooks for Qt, inspect and pkgutil are deferred (see mmhex.spec): they run
here, in their original order, before the window starts, and never for a headless command or
``--version`` (they load QtCore and ICU: 80 ms of every launch).
"""

import os
import sys

from mmhex.cli import COMMANDS, main


def run_deferred_hooks() -> None:
    folder = os.path.join(getattr(sys, "_MEIPASS", ""), "mmhex_deferred_hooks")
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as handle:
            code = compile(handle.read(), path, "exec")
        exec(code, {"__name__": "__main__", "__file__": path})  # the hook as PyInstaller runs it


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv != ["--version"] and not (argv and argv[0] in COMMANDS):
        run_deferred_hooks()
    sys.exit(main())
