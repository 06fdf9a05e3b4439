"""Shared test set-up: the checkout comes first on sys.path and Qt always renders offscreen."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Qt tests must never need a real display, whatever the caller's environment says.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

# A running mmhex of the developer's must never receive the tests' files (single-instance
# hand-off): every process started by the tests uses a socket of this run.
os.environ.setdefault(
    "MMHEX_INSTANCE_SOCKET", os.path.join("/tmp", f"mmhex-test-instance-{os.getpid()}")
)

# Nothing a test runs (in this process or in the installers' subprocesses, pipx included) may
# write into the user's real configuration or data: settings, recent files, bookmarks.
_HOME = tempfile.mkdtemp(prefix="mmhex-test-home-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, "cache")
os.environ["XDG_STATE_HOME"] = os.path.join(_HOME, "state")  # the journal index
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
