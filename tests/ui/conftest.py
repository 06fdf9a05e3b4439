"""Fixtures for the Qt tests: isolated settings, shown windows, and files of many sizes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmhex.ui import settings
from tests.ui.editing_helpers import editor, questions  # noqa: F401  (editing fixtures)

WINDOW_SIZE = (900, 600)


@pytest.fixture(autouse=True, scope="session")
def clipboard_emptied_at_the_end():
    """Qt's offscreen clipboard crashes at exit (SIGSEGV) while it holds a QMimeData that Python
    made (PySide6 6.11, measured): the copy tests' last copy is dropped before the end."""
    yield
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is not None:
        QApplication.clipboard().clear()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings file; the user's configuration is never touched."""
    path = tmp_path / "settings.ini"
    monkeypatch.setenv(settings.SETTINGS_ENV, str(path))
    return path


@pytest.fixture
def window(qtbot):
    """A shown MainWindow of a fixed size with no file."""
    from mmhex.ui.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    main.resize(*WINDOW_SIZE)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


@pytest.fixture
def random_file(tmp_path: Path) -> Path:
    """10,007 bytes (not a multiple of 8, 16 or 32) of deterministic noise with some text."""
    import random

    rng = random.Random(1234)
    data = bytearray(rng.randbytes(10_007))
    data[0:27] = b"Hello, mmhex! This is text."
    path = tmp_path / "random.bin"
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def sparse_tib(tmp_path: Path) -> Path:
    """A 1 TiB sparse file whose last 8 bytes are known."""
    path = tmp_path / "tib.bin"
    with open(path, "wb") as handle:
        handle.truncate(1 << 40)
        handle.seek((1 << 40) - 8)
        handle.write(b"TAILEND!")
    return path


@pytest.fixture
def huge_shm() -> Iterator[Path]:
    """An 8000 PiB (≈ 8 EiB) sparse file on tmpfs; removed afterwards."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("/dev/shm is missing: no tmpfs for an 8 EiB sparse file")
    path = Path(f"/dev/shm/mmhex-test-{os.getpid()}.bin")
    try:
        with open(path, "wb") as handle:
            handle.truncate(8000 << 50)
            handle.seek((8000 << 50) - 4)
            handle.write(b"LAST")
    except OSError as exc:
        path.unlink(missing_ok=True)
        pytest.skip(f"tmpfs refused an 8000 PiB file: {exc}")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
