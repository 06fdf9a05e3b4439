"""Running the window as the unprivileged user ``nobody``: the package and the third-party modules
a window start loads are staged in a world-readable folder (the checkout and the venv may sit in
mode-700 directories nobody cannot enter), and each run gets a scratch home nobody owns.

Files that are already world-readable are hard-linked (cheap: PySide6 is 230 MB), others copied;
nothing in the checkout or the venv is ever chmod-ed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.residency_support import nobody_python_or_skip

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "process_refusal_driver.py"

# Prints the top-level third-party modules a window start (every feature, a process opened) loads.
_LIST_MODULES = """
import os, sys, sysconfig
from mmhex.ui.app import application
from mmhex.ui.features import install_features
from mmhex.ui.main_window import MainWindow
from mmhex.ui.process.feature import feature_of
application()
window = MainWindow()
install_features(window)
feature_of(window).open_pid(os.getpid())
stdlib = sysconfig.get_paths()["stdlib"]
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if path and "." not in name and not path.startswith(stdlib) and not name.startswith("mmhex"):
        print(name, path)
"""


def _stage_tree(source: Path, target: Path) -> None:
    """``source`` under ``target``, readable by everyone; hard links where the mode allows."""
    if source.is_file():
        _stage_file(source, target)
        return
    for directory, dirs, files in os.walk(source):
        here = Path(directory)
        there = target / here.relative_to(source)
        there.mkdir(parents=True, exist_ok=True)
        there.chmod(0o755)
        for name in list(dirs):
            if name == "__pycache__":
                dirs.remove(name)
            elif (here / name).is_symlink():
                dirs.remove(name)
                os.symlink(os.readlink(here / name), there / name)
        for name in files:
            _stage_file(here / name, there / name)


def _stage_file(source: Path, target: Path) -> None:
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        return
    mode = source.stat().st_mode
    if mode & stat.S_IROTH:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copyfile(source, target)
    target.chmod(0o755 if mode & stat.S_IXUSR else 0o644)


def _third_party_roots() -> list[Path]:
    """Where the modules a window start needs (PySide6, shiboken6, ...) live."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    env["MMHEX_SETTINGS"] = os.path.join(tempfile.mkdtemp(prefix="mmhex-list-"), "s.ini")
    listed = subprocess.run(
        [sys.executable, "-c", _LIST_MODULES],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    roots = set()
    for line in listed.stdout.splitlines():
        name, path = line.split(" ", 1)
        location = Path(path)
        if not location.is_absolute() or not location.exists():
            continue  # shiboken's embedded support modules name no real file
        roots.add(location.parent if location.name.startswith("__init__.") else location)
        # Shared libraries auditwheel bundles beside a package (numpy.libs, ...).
        for sibling in location.parent.parent.glob(f"{name}.libs"):
            roots.add(sibling)
    return sorted(roots)


@pytest.fixture(scope="session")
def nobody_gui() -> Iterator[tuple[str, Path]]:
    """(a python nobody may run, a world-readable folder with mmhex and what its window
    imports), or skip when this cannot run as root with runuser."""
    python = nobody_python_or_skip()
    stage = Path(tempfile.mkdtemp(prefix="mmhex-nobody-gui-"))
    stage.chmod(0o755)
    try:
        _stage_tree(ROOT / "mmhex", stage / "mmhex")
        _stage_tree(DRIVER, stage / DRIVER.name)
        for root in _third_party_roots():
            _stage_tree(root, stage / root.name)
        yield python, stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def run_as_nobody(
    python: str, stage: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` as nobody, offscreen, with a scratch home, settings and runtime folder."""
    account = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="mmhex-nobody-home-"))
    try:
        runtime = home / "runtime"
        runtime.mkdir(mode=0o700)
        for path in (home, runtime):
            os.chown(path, account.pw_uid, account.pw_gid)
        variables = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(stage),
            "PYTHONDONTWRITEBYTECODE": "1",
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "MMHEX_SETTINGS": str(home / "settings.ini"),
            **(env or {}),
        }
        assignments = [f"{key}={value}" for key, value in variables.items()]
        return subprocess.run(
            ["runuser", "-u", "nobody", "--", "env", "-i", *assignments, python, *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
