"""Dumps byte-identical to xxd and hexdump -C -v (odd sizes, offsets, past 4 GiB); copy-as text
that Python, C and base64 read back to the same bytes."""

from __future__ import annotations

import ast
import base64
import os
import random
import shutil
import subprocess

import pytest

from mmhex.core.document import Document
from mmhex.core.formats import (
    CHUNK,
    DumpFormat,
    HexTextError,
    dump_text,
    format_row,
    iter_dump,
    parse_hex_text,
    to_base64,
    to_c_array,
    to_hex_text,
    to_python_bytes,
)

XXD = shutil.which("xxd")
HEXDUMP = shutil.which("hexdump")
needs_tools = pytest.mark.skipif(not (XXD and HEXDUMP), reason="xxd and hexdump are needed")


def tool_dump(fmt: DumpFormat, path: str, start: int, length: int | None) -> bytes:
    if fmt is DumpFormat.XXD:
        cmd = [XXD, "-s", str(start)] + ([] if length is None else ["-l", str(length)])
    else:
        cmd = [HEXDUMP, "-C", "-v", "-s", str(start)]
        cmd += [] if length is None else ["-n", str(length)]
    return subprocess.run([*cmd, path], capture_output=True, check=True).stdout


def our_dump(doc: Document, fmt: DumpFormat, start: int, length: int | None) -> bytes:
    return b"".join(bytes(p) for p in iter_dump(doc.read, doc.size, fmt, start, length))


@needs_tools
@pytest.mark.parametrize("fmt", list(DumpFormat))
def test_random_files_match_the_tools(tmp_path, fmt):
    rng = random.Random(2024)
    sizes = [0, 1, 15, 16, 17, 255, CHUNK - 1, CHUNK + 17, 3 * CHUNK + 5, 1_048_576 + 33]
    for size in sizes:
        path = tmp_path / f"r{size}.bin"
        # Printable-heavy data too, so the text column is exercised beyond dots.
        data = (
            rng.randbytes(size)
            if size % 2
            else bytes(rng.choice(b"ab \x7e\x7f\x1f") for _ in range(size))
        )
        path.write_bytes(data)
        doc = Document.open(str(path))
        try:
            starts = {0, 1, 7, size // 2, max(size - 1, 0), size, size + 9, rng.randrange(size + 1)}
            lengths = [None, 0, 1, 16, 31, rng.randrange(1, 3 * CHUNK)]
            for start in sorted(starts):
                for length in lengths:
                    assert our_dump(doc, fmt, start, length) == tool_dump(
                        fmt, str(path), start, length
                    ), (size, start, length)
        finally:
            doc.close()


@needs_tools
@pytest.mark.parametrize("fmt", list(DumpFormat))
def test_offsets_past_4_gib_in_a_sparse_file(tmp_path, fmt):
    path = tmp_path / "sparse.bin"
    size = 5 * 2**30 + 11
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(2**32 - 40)
        f.write(os.urandom(100))
    doc = Document.open(str(path))
    try:
        for start, length in [
            (2**32 - 50, 120),  # rows go from 8 to 9 offset digits inside one pass
            (2**32 - 3 * CHUNK - 7, 4 * CHUNK),
            (2**32, 16),
            (size - 29, None),
            (size, 10),
        ]:
            assert our_dump(doc, fmt, start, length) == tool_dump(fmt, str(path), start, length)
    finally:
        doc.close()


def test_format_row_shapes():
    assert format_row(DumpFormat.XXD, b"Hi", 0x10) == b"00000010: 4869" + b" " * 37 + b"Hi\n"
    row = format_row(DumpFormat.CANONICAL, bytes(range(0x41, 0x51)), 0)
    assert row == (
        b"00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n"
    )


def test_dump_text_of_a_selection():
    text = dump_text(b"Hello\x00", DumpFormat.CANONICAL, offset=0x20)
    assert text == ("00000020  48 65 6c 6c 6f 00" + " " * 33 + "|Hello.|\n00000026\n")
    assert dump_text(b"", DumpFormat.CANONICAL, offset=0) == ""


# ===================================================================== copy as / paste
SAMPLES = [b"", b"\x00", bytes(range(256)), os.urandom(1000), b'quote"back\\slash']


@pytest.mark.parametrize("data", SAMPLES)
def test_copy_as_round_trips(data):
    assert bytes.fromhex(to_hex_text(data)) == data
    assert parse_hex_text(to_hex_text(data, separator="", upper=False)) == data
    assert ast.literal_eval(to_python_bytes(data)) == data
    assert base64.b64decode(to_base64(data)) == data
    c_text = to_c_array(data, name="blob")
    assert c_text.startswith(f"unsigned char blob[{len(data)}] = {{")
    body = c_text[c_text.index("{") + 1 : c_text.rindex("}")]
    assert bytes(int(x, 16) for x in body.replace(",", " ").split()) == data


@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler"
)
def test_c_array_compiles_and_holds_the_bytes(tmp_path):
    data = bytes(range(200))
    source = tmp_path / "a.c"
    main = 'int main(void){for(unsigned i=0;i<sizeof blob;i++)printf("%02x",blob[i]);}\n'
    source.write_text("#include <stdio.h>\n" + to_c_array(data, name="blob") + main)
    compiler = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([compiler, "-o", str(tmp_path / "a"), str(source)], check=True)
    out = subprocess.run([str(tmp_path / "a")], capture_output=True, text=True, check=True)
    assert out.stdout == data.hex()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE AD be ef", b"\xde\xad\xbe\xef"),
        ("0xde, 0xad,0xBE", b"\xde\xad\xbe"),
        ("\\xde\\xad", b"\xde\xad"),
        ("de:ad;be\nef\t00", b"\xde\xad\xbe\xef\x00"),
        ("", b""),
    ],
)
def test_paste_hex_forms(text, expected):
    assert parse_hex_text(text) == expected


@pytest.mark.parametrize(
    ("text", "words"), [("DE AD G0", "'G' is not"), ("ABC", "odd"), ("A B", "odd")]
)
def test_paste_hex_errors(text, words):
    with pytest.raises(HexTextError, match=words):
        parse_hex_text(text)


def test_escaped_string_reads_back_as_the_same_bytes() -> None:
    from mmhex.core.formats import to_escaped_string

    rng = random.Random(7)
    for data in (bytes(range(256)), b"", b'"\\', rng.randbytes(500)):
        text = to_escaped_string(data)
        assert text.isascii() and "\n" not in text
        assert ast.literal_eval("b" + text) == data


def test_rust_and_java_arrays_hold_every_byte() -> None:
    import re

    from mmhex.core.formats import to_java_array, to_rust_array

    data = bytes(range(256))
    rust = to_rust_array(data)
    assert rust.startswith("const DATA: [u8; 256] = [")
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", rust)) == data
    java = to_java_array(data)
    assert bytes(int(h, 16) for h in re.findall(r"\(byte\)0x([0-9a-f]{2})", java)) == data
    assert to_java_array(b"") == "byte[] data = {};\n"
