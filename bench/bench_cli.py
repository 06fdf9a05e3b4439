"""Command-line benchmark: whole-process times of the headless commands beside the tools imitated.

mmhex runs from a wheel of this checkout installed into a fresh virtual environment (as a user gets
it: no editable-install finder; pip's --no-deps, with the shared environment's site-packages
appended for the optional search wheels), through the launcher `scripts/setup.sh run` leaves
(~/.local/bin/mmhex, a shell script, running an editable compat-mode install), and, for
comparison, from the checkout itself. Prints the
median wall time of --runs interleaved runs of each:
  python -c pass (the venv's python, as mmhex's own)    | mmhex --version     goal <= 1.5x
  python -c pass                                         | mmhex dump -n 16    goal <= 1.5x
  xxd -l 16                                              | mmhex dump -n 16    (reference)
  fincore                                                | mmhex residency     (reference)
  rg -a -F --count-matches (2 GiB, cached)               | mmhex find --count  goal <= 1.2x
  grep -a -F -c (2 GiB, cached; counts lines)            | mmhex find --count  (reference)

Usage: python bench/bench_cli.py [--runs N] [--find-gib G] [--find-runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
NEEDLE = b"mmhex-needle-0123"
START_GOAL = 1.5
FIND_GOAL = 1.2


def base_python() -> str:
    """The interpreter under the shared venv, without pyenv shims or venv site hooks."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(candidate if candidate.exists() else sys.executable)


def build_venv(folder: Path) -> Path:
    """A fresh venv with mmhex installed from a wheel of this checkout; returns its bin folder."""
    dist = folder / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        env=clean_env(),
    )
    wheel = next(dist.glob("mmhex-*.whl"))
    venv = folder / "venv"
    subprocess.run(
        [base_python(), "-m", "venv", "--without-pip", str(venv)], check=True, env=clean_env()
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        env=clean_env(),
    )
    # The search wheels (stringzilla, hyperscan) from the shared environment, after the venv's
    # own packages: a plain path entry, so its editable-install finder is not activated.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "zz-shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def build_setup_sh_venv(folder: Path) -> Path:
    """What `scripts/setup.sh run` leaves: an editable install (compat mode, as setup.sh asks)
    in a venv, and the ~/.local/bin/mmhex shell launcher; returns the launcher."""
    venv = folder / "setup-venv"
    subprocess.run(
        [base_python(), "-m", "venv", "--without-pip", str(venv)], check=True, env=clean_env()
    )
    # pip runs inside the new venv (--python); the build back end comes from this environment.
    env = dict(clean_env(), PYTHONPATH=sysconfig.get_paths()["purelib"])
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--config-settings",
            "editable_mode=compat",
            "-e",
            str(ROOT),
        ],
        check=True,
        env=env,
    )
    launcher = folder / "launcher-bin" / "mmhex"
    launcher.parent.mkdir()
    # The same text as setup.sh's install_launcher writes.
    marker = "# mmhex launcher (scripts/setup.sh run wrote it)"
    launcher.write_text(f'#!/bin/sh\n{marker}\nexec "{venv}/bin/mmhex" "$@"\n')
    launcher.chmod(0o755)
    return launcher


def clean_env() -> dict[str, str]:
    """This environment without PYTHON* variables (no checkout on the path, bytecode written)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["MMHEX_SETTINGS"] = os.path.join(tempfile.mkdtemp(prefix="mmhex-bench-"), "settings.ini")
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, from wait4) of one whole process.

    Output goes to a pipe that is read to the end, as a shell pipeline would: GNU grep stops at
    the first match when its output is /dev/null.
    """
    began = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    while child.stdout.read(1 << 16):
        pass
    _pid, _status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    child.returncode = 0  # reaped above
    child.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime


def time_runs(
    commands: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, tuple[float, float, float]]:
    """Per command: the fastest wall time, the median CPU time and the median wall time of
    ``runs`` interleaved runs.

    This machine is shared: the fastest run is the one least disturbed by other processes, and
    CPU time does not count the waiting at all.
    """
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm-up (page cache, pyc files)
        run_once(argv, env)
    for _ in range(runs):
        for name, argv in commands.items():
            wall, cpu = run_once(argv, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: (min(walls[name]), statistics.median(cpus[name]), statistics.median(walls[name]))
        for name in commands
    }


def load_note() -> str:
    """The machine's load: with more runnable processes than CPUs, the fastest wall of a few
    runs is a lottery (and a second process gets no free core); the CPU ratio is then the
    steadier figure."""
    load = os.getloadavg()[0]
    cpus = len(os.sched_getaffinity(0))
    busy = " (busy: read the cpu ratios)" if load > cpus / 2 else ""
    return f"load average {load:.1f} on {cpus} CPUs{busy}"


def verdict(ratio: float, goal: float) -> str:
    return f"(goal <= {goal}: {'ok' if ratio <= goal else 'MISSED'})"


def make_big(path: Path, gib: float) -> int:
    """``gib`` GiB of noise with NEEDLE every 64 MiB; read once so it is cached. Returns count."""
    size = int(gib * 1024) * MIB
    chunk = bytearray(os.urandom(64 * MIB))
    chunk[12345 : 12345 + len(NEEDLE)] = NEEDLE
    with open(path, "wb") as handle:
        for _ in range(size // len(chunk)):
            handle.write(chunk)
    with open(path, "rb") as handle:
        while handle.read(64 * MIB):
            pass
    return size // len(chunk)


def report(
    label: str,
    ours: tuple[float, float, float],
    theirs: tuple[float, float, float],
    name: str,
    goal: float | None,
) -> None:
    wall, cpu = ours[0] / theirs[0], ours[1] / max(theirs[1], 1e-4)
    median = ours[2] / theirs[2]
    tail = verdict(wall, goal) if goal is not None else "(reference)"
    print(
        f"  {label:<20} mmhex {ours[0] * 1000:7.1f} ms (cpu {ours[1] * 1000:6.1f})   "
        f"{name:<20} {theirs[0] * 1000:7.1f} ms (cpu {theirs[1] * 1000:6.1f})   "
        f"ratio {wall:5.2f} (cpu {cpu:5.2f}, median wall {median:5.2f})  {tail}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--find-gib", type=float, default=2.0)
    parser.add_argument("--find-runs", type=int, default=5)
    args = parser.parse_args()
    print(load_note())
    env = clean_env()
    with tempfile.TemporaryDirectory(prefix="mmhex-bench-cli-") as name:
        folder = Path(name)
        installed = build_venv(folder)
        small = folder / "one-mib.bin"
        small.write_bytes(os.urandom(MIB))
        checkout = [sys.executable, "-m", "mmhex"]  # the editable install, this checkout
        source_env = dict(env, PYTHONPATH=str(ROOT))
        launcher = build_setup_sh_venv(folder)
        setup_python = str(folder / "setup-venv" / "bin" / "python")
        for where, mmhex, python, run_env in (
            ("installed wheel", [str(installed / "mmhex")], str(installed / "python"), env),
            ("scripts/setup.sh launcher (editable, compat)", [str(launcher)], setup_python, env),
            ("checkout (editable venv)", checkout, sys.executable, source_env),
        ):
            times = time_runs(
                {
                    # The same interpreter and site set-up as the mmhex beside it.
                    "pass": [python, "-c", "pass"],
                    "version": [*mmhex, "--version"],
                    "version_m": [python, "-m", "mmhex", "--version"],
                    "dump": [*mmhex, "dump", "-n", "16", str(small)],
                    "xxd": ["xxd", "-l", "16", str(small)],
                    "residency": [*mmhex, "residency", str(small)],
                    "fincore": ["fincore", str(small)],
                },
                args.runs,
                run_env,
            )
            print(
                f"start-up, {where} (fastest wall, median cpu of {args.runs}; python = {python}):"
            )
            report("--version", times["version"], times["pass"], "python -c pass", START_GOAL)
            # `python -m` imports runpy (importlib.util, contextlib: 3 ms) before mmhex runs.
            report(
                "-m mmhex --version",
                times["version_m"],
                times["pass"],
                "python -c pass",
                START_GOAL,
            )
            report("dump -n 16", times["dump"], times["pass"], "python -c pass", START_GOAL)
            report("dump -n 16", times["dump"], times["xxd"], "xxd -l 16", None)
            report("residency (1 MiB)", times["residency"], times["fincore"], "fincore", None)
        if shutil.which("rg") is None:
            print("rg not installed: find --count comparison skipped")
            return 0
        big = folder / "big.bin"
        expected = make_big(big, args.find_gib)
        needle = NEEDLE.decode()
        mmhex = [str(installed / "mmhex")]
        for argv in (
            [*mmhex, "find", "--count", str(big), needle],
            ["rg", "-a", "-F", "--count-matches", needle, str(big)],
        ):
            out = subprocess.run(argv, env=env, capture_output=True, text=True).stdout.strip()
            assert out.endswith(str(expected)), (argv, out, expected)
        times = time_runs(
            {
                "find": [*mmhex, "find", "--count", str(big), needle],
                "rg": ["rg", "-a", "-F", "--count-matches", needle, str(big)],
                "grep": ["grep", "-a", "-F", "-c", needle, str(big)],
            },
            args.find_runs,
            env,
        )
        print(
            f"find --count of a literal, {args.find_gib:g} GiB cached (fastest wall, median cpu of "
            f"{args.find_runs}, whole processes, installed wheel):"
        )
        report("find --count", times["find"], times["rg"], "rg --count-matches", FIND_GOAL)
        report("find --count", times["find"], times["grep"], "grep -c", None)
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
