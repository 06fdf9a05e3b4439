"""Helpers for the residency tests: files made partly resident on a file system that can evict,
util-linux fincore as the reference, and running code as the unprivileged user ``nobody``."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def fincore_pages(path: str | os.PathLike[str]) -> int:
    """Resident pages of ``path`` according to util-linux fincore (the reference)."""
    out = subprocess.run(
        ["fincore", "--raw", "--noheadings", "--bytes", "--output", "PAGES", os.fspath(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip())


def require_fincore() -> None:
    if shutil.which("fincore") is None:
        pytest.skip("util-linux fincore is not installed (Debian: util-linux-extra)")


def write_random_file(path: Path, size: int, seed: int = 1) -> bytes:
    data = random.Random(seed).randbytes(size)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())  # dirty pages cannot be evicted
    return data


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def make_resident(path: Path, pages: Iterable[int]) -> None:
    """Evict ``path``, then read exactly ``pages`` back (read-ahead off for this descriptor)."""
    evict(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for page in pages:
            os.pread(fd, 1, page * PAGE)
    finally:
        os.close(fd)


def can_evict(directory: Path) -> bool:
    """tmpfs pages live only in memory and cannot be evicted; disk file systems can."""
    probe = directory / ".evict-probe"
    try:
        write_random_file(probe, 4 * PAGE)
        evict(probe)
        return fincore_pages(probe) == 0
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def disk_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose file system can evict pages (pytest's temp folder unless that is tmpfs)."""
    require_fincore()
    base = tmp_path_factory.mktemp("residency")
    if can_evict(base):
        yield base
        return
    for parent in (Path("/var/tmp"), ROOT):
        if parent.is_dir() and can_evict(parent):
            scratch = Path(tempfile.mkdtemp(prefix="mmhex-residency-", dir=parent))
            yield scratch
            shutil.rmtree(scratch, ignore_errors=True)
            return
    pytest.skip("no file system here can evict pages (all tmpfs?)")


# ----------------------------------------------------------------- running as nobody
def _nobody_python() -> str | None:
    for candidate in (sys.executable, "/usr/bin/python3"):
        result = subprocess.run(
            [
                "runuser",
                "-u",
                "nobody",
                "--",
                candidate,
                "-c",
                "import sys; print(sys.version_info >= (3, 11))",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0 and result.stdout.strip() == "True":
            return candidate
    return None


def nobody_python_or_skip() -> str:
    """A Python >= 3.11 that ``runuser -u nobody`` can start; skips unless root with runuser."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root and runuser to run a check as the unprivileged user nobody")
    python = _nobody_python()
    if python is None:
        pytest.skip("no Python >= 3.11 that the user nobody may run")
    return python


@pytest.fixture(scope="session")
def nobody() -> Iterator[tuple[str, Path]]:
    """(python that nobody may run, a world-readable copy of the headless package), or skip.

    The checkout and the development venv may live under /root, which nobody cannot enter.
    """
    python = nobody_python_or_skip()
    package_root = Path(tempfile.mkdtemp(prefix="mmhex-nobody-"))
    shutil.copytree(
        ROOT / "mmhex", package_root / "mmhex", ignore=shutil.ignore_patterns("ui", "__pycache__")
    )
    for directory, _dirs, files in os.walk(package_root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    yield python, package_root
    shutil.rmtree(package_root, ignore_errors=True)


def run_as_nobody(python: str, package_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", f"PYTHONPATH={package_root}", python, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder on an evicting file system that nobody may enter (pytest's tmp_path is 0700)."""
    require_fincore()
    for base in ("/var/tmp", "/tmp", str(ROOT)):
        if os.path.isdir(base) and can_evict(Path(base)):
            directory = Path(tempfile.mkdtemp(prefix="mmhex-residency-", dir=base))
            directory.chmod(0o755)
            yield directory
            shutil.rmtree(directory, ignore_errors=True)
            return
    pytest.skip("no world-readable folder on a file system that can evict")
