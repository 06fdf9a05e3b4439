"""`mmhex parse`: the tree as text and JSON, --list, exit codes, and no Qt in the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.core.structure_samples import PYTHON, grey_png

ROOT = Path(__file__).resolve().parents[2]


def mmhex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmhex", "parse", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_list_names_the_library_formats():
    result = mmhex("--list")
    assert result.returncode == 0
    names = result.stdout.split()
    assert {"elf", "png", "zip", "gpt_partition_table", "sqlite3"} <= set(names)


def test_json_tree_of_a_zip_matches_zipfile(tmp_path: Path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("one", b"1")
        archive.writestr("two", b"22")
    result = mmhex(str(path), "--json", "--depth", "2")
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    assert tree["format"] == "zip" and tree["description"].startswith("Zip archive")
    sections = next(c for c in tree["tree"]["children"] if c["name"] == "sections")
    offsets = [s["offset"] for s in sections["children"]][:2]
    assert offsets == [i.header_offset for i in zipfile.ZipFile(path).infolist()]
    assert "children_count" in sections["children"][0]  # --depth stops there


def test_text_tree_of_python_and_depth_zero():
    result = mmhex(PYTHON, "--depth", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# ELF 64-bit") and lines[1] == "# format: elf"
    assert lines[2].split("\t")[:3] == ["elf", "0x0", "64"]
    assert len(lines) == 3


def test_truncated_file_prints_the_partial_tree_and_exits_1(tmp_path: Path):
    data, table = grey_png()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: table[2][0] + 10])
    result = mmhex(str(path), "--format", "png", "--depth", "1")
    assert result.returncode == 1
    assert "\tihdr\t" not in result.stdout and "  ihdr\t0x10\t13\t" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Parsing stopped in chunks[1]")
    assert "Traceback" not in result.stderr


def test_errors_are_one_sentence(tmp_path: Path):
    plain = tmp_path / "plain.txt"
    plain.write_text("just text\n")
    missing = mmhex(str(tmp_path / "nope"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nope" in missing.stderr
    unknown = mmhex(str(plain))
    assert unknown.returncode == 2 and "no format for this file (ASCII text)" in unknown.stderr
    bad = mmhex(str(plain), "--format", "no_such_format")
    assert bad.returncode == 2 and "no format named 'no_such_format'" in bad.stderr


def test_parse_does_not_import_qt(tmp_path: Path):
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "from mmhex.cli import main\n"
        f"raise SystemExit(main(['parse', {PYTHON!r}, '--depth', '1']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
