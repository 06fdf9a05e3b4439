"""scripts/setup.sh run: installs once (not on every launch) and leaves a launcher for new shells.

Runs the real script on a copy of the checkout whose .venv holds stand-ins that log their calls,
and a dpkg-query that reports every package installed, so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_checkout(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", checkout / "scripts" / "setup.sh")
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for name in ("python", "mmhex"):
        stand_in = venv_bin / name
        stand_in.write_text(f'#!/bin/sh\necho "{name} $*" >> "$(dirname "$0")/../calls"\n')
        stand_in.chmod(0o755)
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    dpkg = fake_bin / "dpkg-query"
    dpkg.write_text("#!/bin/sh\necho 'install ok installed'\n")
    dpkg.chmod(0o755)
    return checkout


def run_setup(checkout: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "MMHEX_LAUNCHER_DIR": str(tmp_path / "bin"),
        "PATH": f"{tmp_path / 'fakebin'}:{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", "scripts/setup.sh", *args], cwd=checkout, env=env, capture_output=True,
        text=True, check=True, timeout=60,
    )  # fmt: skip


def calls(checkout: Path) -> list[str]:
    return (checkout / ".venv" / "calls").read_text().splitlines()


def test_run_installs_once_and_reinstalls_only_when_pyproject_changes(tmp_path) -> None:
    checkout = make_checkout(tmp_path)
    run_setup(checkout, tmp_path, "run", "A")
    run_setup(checkout, tmp_path, "run", "B")
    assert calls(checkout) == [
        "python -m pip install -q --disable-pip-version-check "
        "--config-settings editable_mode=compat -e .",
        "mmhex A",
        "mmhex B",  # nothing changed: no second install
    ]
    with open(checkout / "pyproject.toml", "a") as handle:
        handle.write("\n# changed\n")
    run_setup(checkout, tmp_path, "run", "C")
    assert calls(checkout)[-2:] == [
        "python -m pip install -q --disable-pip-version-check "
        "--config-settings editable_mode=compat -e .",
        "mmhex C",
    ]


def test_launcher_runs_the_venv_mmhex_from_any_folder(tmp_path) -> None:
    checkout = make_checkout(tmp_path)
    run_setup(checkout, tmp_path, "install")
    launcher = tmp_path / "bin" / "mmhex"
    assert os.access(launcher, os.X_OK)
    subprocess.run([str(launcher), "FILE", "--edit"], cwd="/", check=True)
    assert calls(checkout)[-1] == "mmhex FILE --edit"


def test_a_foreign_mmhex_command_is_left_alone(tmp_path) -> None:
    checkout = make_checkout(tmp_path)
    foreign = tmp_path / "bin" / "mmhex"
    foreign.parent.mkdir()
    foreign.write_text("#!/bin/sh\necho someone else's\n")
    result = run_setup(checkout, tmp_path, "install")
    assert "not ours" in result.stderr
    assert foreign.read_text() == "#!/bin/sh\necho someone else's\n"
