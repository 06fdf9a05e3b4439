"""Block devices, on a loop device: size from lseek (st_size is 0), read-only by default."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.core.document import Document, EditError
from mmhex.core.mapping import FileKind

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def loop_device(tmp_path):
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("needs root and losetup to attach a loop device")
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(3 * 1024 * 1024 + 4096))  # not a multiple of the window
    attached = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=False
    )
    if attached.returncode != 0:
        pytest.skip(f"no loop device here: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    try:
        yield device, image.read_bytes()
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


def test_block_device_size_bytes_and_read_only(loop_device):
    device, data = loop_device
    assert os.stat(device).st_size == 0  # why lseek is needed
    document = Document.open(device, window_size=1024 * 1024)
    try:
        assert document.mapped.kind is FileKind.BLOCK_DEVICE
        assert document.size == len(data)
        assert document.read(len(data) - 10, 100) == data[-10:]
        assert document.read(1024 * 1024 - 3, 6) == data[1024 * 1024 - 3 : 1024 * 1024 + 3]
        assert document.readonly_reason == "block devices open read-only"
        with pytest.raises(EditError):
            document.enable_editing()
    finally:
        document.close()


def test_dump_of_a_block_device_equals_xxd(loop_device):
    device, _ = loop_device
    offset = "0x2ffff0"
    ours = subprocess.run(
        [sys.executable, "-m", "mmhex", "dump", device, "-s", offset, "-n", "64"],
        capture_output=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    reference = subprocess.run(
        ["xxd", "-s", offset, "-l", "64", device], capture_output=True, check=True
    ).stdout
    assert ours == reference
