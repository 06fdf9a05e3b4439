"""The core and the headless commands must work with Qt unavailable (napari's rule, by a check)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCK_QT_AND_IMPORT = """
import sys, pkgutil, importlib
sys.modules["PySide6"] = None  # any `import PySide6...` now raises ImportError
import mmhex.core
names = [m.name for m in pkgutil.walk_packages(mmhex.core.__path__, "mmhex.core.")]
for name in names:
    importlib.import_module(name)
import mmhex.commands, mmhex.cli
for name in mmhex.cli.COMMANDS.values():
    importlib.import_module(name)
print(len(names), "core modules,", len(mmhex.cli.COMMANDS), "commands")
assert not any(m.startswith("PySide6.") for m in sys.modules)
"""


def test_core_and_commands_import_with_qt_blocked():
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_QT_AND_IMPORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "core modules" in result.stdout


def test_version_runs_without_qt():
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "from mmhex.cli import main\nmain(['--version'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0
    from mmhex import __version__

    assert result.stdout.strip() == f"mmhex {__version__}"
