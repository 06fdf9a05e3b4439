"""File type against `file -b`, and the description → format mapping on real samples."""

from __future__ import annotations

import gzip
import sqlite3
import subprocess
import wave
import zipfile
from pathlib import Path

import pytest

from mmhex.core.document import Document
from mmhex.core.structure_detect import detect, format_for_bytes
from tests.core.structure_samples import PYTHON, grey_png, make_gpt, registry


def _file_b(path: Path | str) -> str:
    return subprocess.run(["file", "-b", str(path)], check=True, capture_output=True, text=True)


def _samples(tmp: Path) -> dict[str, Path]:
    png = tmp / "a.png"
    png.write_bytes(grey_png()[0])
    zip_path = tmp / "a.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("x", "y")
    gz = tmp / "a.gz"
    with gzip.GzipFile(gz, "wb", mtime=0) as out:
        out.write(b"data")
    db = tmp / "a.sqlite"
    con = sqlite3.connect(db)
    con.execute("create table t(a)")
    con.commit()
    con.close()
    wav = tmp / "a.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0" * 100)
    gpt = tmp / "gpt.img"
    make_gpt(gpt)
    ext = tmp / "ext.img"
    subprocess.run(["truncate", "-s", "4M", str(ext)], check=True)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", str(ext)], check=True)
    gif = tmp / "a.gif"
    gif.write_bytes(b"GIF89a\x02\x00\x03\x00\x00\x00\x00;")
    return {
        "elf": Path(PYTHON), "png": png, "zip": zip_path, "gzip": gz, "sqlite3": db,
        "wav": wav, "gpt_partition_table": gpt, "ext2": ext, "gif": gif,
    }  # fmt: skip


def test_description_is_file_b_and_maps_to_the_format(tmp_path: Path):
    known = set(registry().names())
    for expected, path in _samples(tmp_path).items():
        document = Document.open(str(path), readonly=True)
        found = detect(document, str(path), known=known)
        assert found.description == _file_b(path).stdout.strip(), path
        assert found.format == expected, (path, found)
        # the magic-bytes fallback agrees on every sample
        assert format_for_bytes(document, known) == expected, path
        result = __import__("mmhex.core.structure", fromlist=["parse"]).parse(
            document, expected, registry()
        )
        assert result.complete, (expected, result.stop)


def test_a_symbolic_link_is_described_by_its_target(tmp_path: Path):
    link = tmp_path / "python-link"
    link.symlink_to(PYTHON)
    found = detect(Document.open(str(link), readonly=True), str(link))
    expected = subprocess.run(["file", "-b", "-L", str(link)], capture_output=True, text=True)
    assert found.description == expected.stdout.strip() and found.format == "elf"


def test_edited_document_is_described_from_its_bytes(tmp_path: Path):
    path = tmp_path / "a.png"
    path.write_bytes(grey_png()[0])
    document = Document.open(str(path))
    document.enable_editing()
    document.write(1, b"XYZ")  # no longer a PNG signature
    found = detect(document, str(path), modified=True)
    assert not found.description.startswith("PNG")
    assert found.format != "png"


@pytest.mark.parametrize("blob", [b"", b"\x00" * 10, b"hello world\n"])
def test_unknown_data_has_no_format(tmp_path: Path, blob: bytes):
    path = tmp_path / "plain"
    path.write_bytes(blob or b"\n")
    found = detect(Document.open(str(path), readonly=True), str(path), known={"elf", "png"})
    assert found.format is None
    assert found.description == _file_b(path).stdout.strip()
