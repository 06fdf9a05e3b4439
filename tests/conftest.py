"""Shared test set-up: the checkout comes first on sys.path and Qt always renders offscreen."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Qt tests must never need a real display, whatever the caller's environment says.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
