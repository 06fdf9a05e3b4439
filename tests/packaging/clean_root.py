"""A throwaway Debian root (debootstrap --variant=minbase) to install the .deb into, as a person
with a fresh system would. Needs root. The freshly bootstrapped tree is cached as a tarball so that
later runs skip the ~30 s bootstrap; every run still starts from that pristine tree."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("MMHEX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = Path(os.environ.get("MMHEX_TEST_CACHE", Path.home() / ".cache" / "mmhex-tests"))
CACHE_MAX_AGE_S = 7 * 24 * 3600  # a week-old root still installs, but drifts from the mirror
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def missing_prerequisites() -> str | None:
    """Why a clean root cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (chroot, mount)"
    for tool in ("debootstrap", "chroot", "mount", "umount", "tar", "zstd", "dpkg"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


class CommandFailed(AssertionError):
    """A command in the root failed; the message carries its output."""


class CleanRoot:
    """A minbase root under ``path`` with /proc mounted; ``close()`` undoes everything."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mounted: list[Path] = []

    # -- making and removing the root ----------------------------------------------------
    @classmethod
    def create(cls, path: Path) -> CleanRoot:
        root = cls(path)
        path.mkdir(parents=True, exist_ok=True)
        tarball = CACHE_DIR / f"debootstrap-{SUITE}-{_arch()}-minbase.tar.zst"
        fresh = tarball.exists() and time.time() - tarball.stat().st_mtime < CACHE_MAX_AGE_S
        if fresh:
            subprocess.run(
                ["tar", "--zstd", "--numeric-owner", "-xpf", str(tarball), "-C", str(path)],
                check=True,
            )
        else:
            root._bootstrap(tarball)
        proc = path / "proc"
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
        root._mounted.append(proc)
        return root

    def _bootstrap(self, tarball: Path) -> None:
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(self.path), MIRROR],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise CommandFailed(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr}")
        for deb in (self.path / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--zstd", "--numeric-owner", "-cpf", str(partial), "-C", str(self.path), "."],
            check=True,
        )
        partial.replace(tarball)

    def processes(self) -> list[int]:
        """Processes whose root directory is this tree (Xvfb, an app left running ...)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if Path(os.readlink(entry / "root")) == self.path:
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def close(self) -> None:
        """Stop what runs inside, unmount, delete — never deleting through a live mount."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        for mount_point in reversed(self._mounted):
            if subprocess.run(["umount", str(mount_point)]).returncode != 0:
                subprocess.run(["umount", "-l", str(mount_point)], check=True)
        self._mounted.clear()
        mounts = Path("/proc/self/mounts").read_text().split("\n")
        inside = [line for line in mounts if f" {self.path}/" in line or f" {self.path} " in line]
        if inside:
            raise RuntimeError(f"not deleting {self.path}: still mounted: {inside}")
        shutil.rmtree(self.path)

    # -- running things inside ----------------------------------------------------------
    def command(self, script: str, env: dict[str, str] | None = None) -> list[str]:
        """argv that runs ``script`` with sh inside the root, in a minimal clean environment."""
        variables = {
            "PATH": CHROOT_PATH,
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
            **(env or {}),
        }
        return [
            "chroot",
            str(self.path),
            "/usr/bin/env",
            "-i",
            *(f"{key}={value}" for key, value in variables.items()),
            "/bin/sh",
            "-c",
            script,
        ]

    def run(
        self,
        script: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(script, env), capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise CommandFailed(
                f"`{script}` exited {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result

    def host_path(self, inside: str) -> Path:
        return self.path / inside.lstrip("/")


def free_x_display(start: int = 200) -> int:
    """A display number no X server on this machine uses: a root shares the host's abstract
    sockets, so `xvfb-run -a` inside it could pick a number the host already serves."""
    listening = Path("/proc/net/unix").read_text()
    for number in range(start, start + 500):
        if (
            f"/tmp/.X11-unix/X{number}" not in listening
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")
