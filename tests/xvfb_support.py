"""Running a shell driver (xdotool keys) against the real app on a fresh Xvfb screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def require_tools(*tools: str) -> None:
    """Skip without ``tools``; on CI their absence is a failure (scripts/setup.sh installs them)."""
    missing = [tool for tool in ("xvfb-run", "xdotool", *tools) if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {missing} (scripts/setup.sh installs them)")
        pytest.skip(f"needs {missing}")


def run_driver(
    driver: str,
    tmp_path: Path,
    *,
    screen: str = "1280x800",
    timeout: float = 90,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``driver`` (bash) under xvfb-run with $PYTHON, this checkout and isolated settings;
    ``variables`` are added to its environment."""
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT),
        "MMHEX_SETTINGS": str(tmp_path / "settings.ini"),
        **variables,
    }
    env.pop("QT_QPA_PLATFORM", None)  # a real X connection, not offscreen
    return subprocess.run(
        ["xvfb-run", "-a", "-s", f"-screen 0 {screen}x24", "bash", "-c", driver],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=tmp_path,
    )
