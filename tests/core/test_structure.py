"""The structure tree against independent tools: readelf, zlib/PNG chunk tables, zipfile,
sgdisk, and the bytes themselves (every field's range decodes to its value)."""

from __future__ import annotations

import enum
import re
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from mmhex.core.document import Document
from mmhex.core.progress import Cancelled, CancelToken
from mmhex.core.structure import Node, parse
from mmhex.core.structure_formats import FormatRegistry
from tests.core.structure_samples import (
    PYTHON,
    all_children,
    child,
    grey_png,
    make_gpt,
    parse_file,
    registry,
)


def _readelf(*flags: str) -> str:
    return subprocess.run(
        ["readelf", "-W", *flags, PYTHON], check=True, capture_output=True, text=True
    ).stdout


def _int_field_matches_bytes(document: Document, node: Node) -> None:
    """An integer field's bytes, read at its absolute offset, decode to its value (LE here)."""
    value = node.value
    if isinstance(value, enum.Enum):
        value = value.value
    assert isinstance(value, int) and node.size in (1, 2, 4, 8), node.path
    assert int.from_bytes(document.read(node.offset, node.size), "little") == value, node.path


def test_elf_header_matches_readelf():
    text = _readelf("-h")
    expected = {
        key.strip(): val.strip()
        for key, val in (line.split(":", 1) for line in text.splitlines()[1:] if ":" in line)
    }
    result = parse_file(PYTHON, "elf")
    assert result.complete
    header = child(result.root, "header")
    assert child(header, "entry_point").value == int(expected["Entry point address"], 16)
    assert child(header, "program_header_offset").value == int(
        expected["Start of program headers"].split()[0]
    )
    shoff = int(expected["Start of section headers"].split()[0])
    assert child(header, "section_header_offset").value == shoff
    assert child(header, "num_program_headers").value == int(expected["Number of program headers"])
    assert child(header, "num_section_headers").value == int(expected["Number of section headers"])
    assert child(header, "e_type").value.name == "executable"
    assert "X86-64" in expected["Machine"] and child(header, "machine").value.name == "x86_64"
    document = Document.open(PYTHON, readonly=True)
    for field in header.children():
        field.evaluate()
        if isinstance(field.value, int | enum.Enum) and field.offset is not None:
            _int_field_matches_bytes(document, field)


def test_elf_program_and_section_headers_match_readelf():
    document = Document.open(PYTHON, readonly=True)
    result = parse(document, "elf", registry())
    header = child(result.root, "header")

    rows = re.findall(
        r"^\s+([A-Z_]+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+)",
        _readelf("-l"),
        re.M,
    )
    program_headers = all_children(child(header, "program_headers"))
    assert len(program_headers) == len(rows) == 13
    phoff = child(header, "program_header_offset").value
    for index, (node, (kind, offset, vaddr, filesz, memsz)) in enumerate(
        zip(program_headers, rows, strict=True)
    ):
        assert node.offset == phoff + 56 * index and node.size == 56
        assert child(node, "offset").value == int(offset, 16)
        assert child(node, "vaddr").value == int(vaddr, 16)
        assert child(node, "filesz").value == int(filesz, 16)
        assert child(node, "memsz").value == int(memsz, 16)
        assert child(node, "type").value.name.upper().replace("_", "") in kind.replace("_", "")
        for field in ("offset", "vaddr", "filesz"):
            _int_field_matches_bytes(document, child(node, field))

    sections = re.findall(
        r"^\s+\[\s*(\d+)\]\s+(\S*)\s+([A-Z_0-9]+)\s+([0-9a-f]{16}) ([0-9a-f]{6}) ([0-9a-f]{6})",
        _readelf("-S"),
        re.M,
    )
    section_headers = all_children(child(header, "section_headers"))
    assert len(section_headers) == len(sections) == 32
    shoff = child(header, "section_header_offset").value
    for node, (index, name, _kind, addr, offset, size) in zip(
        section_headers, sections, strict=True
    ):
        assert node.offset == shoff + 64 * int(index) and node.size == 64
        assert child(node, "name").value == name
        assert child(node, "addr").value == int(addr, 16)
        assert child(node, "ofs_body").value == int(offset, 16)
        assert child(node, "len_body").value == int(size, 16)
        name_node = child(node, "name")
        if name:  # the name's bytes lie in .shstrtab, at its absolute offset
            assert document.read(name_node.offset, len(name)) == name.encode()


def test_png_chunks_match_the_table_they_were_made_from(tmp_path: Path):
    data, table = grey_png()
    path = tmp_path / "grey.png"
    path.write_bytes(data)
    result = parse_file(path, "png")
    assert result.complete
    chunks = all_children(child(result.root, "chunks"))
    # The format reads IHDR as fixed fields, then the other chunks.
    assert child(result.root, "ihdr").offset == table[0][0] + 8
    assert [(c.offset, child(c, "type").value.encode(), child(c, "len").value) for c in chunks] == [
        row for row in table[1:]
    ]
    for chunk_node, (offset, _type, length) in zip(chunks, table[1:], strict=True):
        assert chunk_node.size == 12 + length
        assert child(chunk_node, "crc").offset == offset + 8 + length


def test_zip_local_headers_match_zipfile_infolist(tmp_path: Path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello " * 50)
        archive.writestr("dir/zeros.bin", b"\0" * 5000, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("empty", b"")
    infos = zipfile.ZipFile(path).infolist()
    result = parse_file(path, "zip")
    assert result.complete
    sections = all_children(child(result.root, "sections"))
    local = [s for s in sections if child(s, "section_type").value == 0x0403]
    assert [s.offset for s in local] == [info.header_offset for info in infos]
    for section, info in zip(local, infos, strict=True):
        body = child(section, "body")
        file_header = child(body, "header")
        assert child(file_header, "file_name").value == info.filename
        assert child(file_header, "len_body_compressed").value == info.compress_size
        assert child(body, "body").offset == info.header_offset + 30 + len(info.filename)


def test_gpt_entries_match_sgdisk(tmp_path: Path):
    path = tmp_path / "disk.img"
    printed = make_gpt(path)
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+([0-9A-F]{4})\s+(.*)$", printed, re.M)
    assert len(rows) == 2
    result = parse_file(path, "gpt_partition_table")
    primary = child(result.root, "primary")
    assert primary.offset == 512
    entries = all_children(child(primary, "entries"))
    assert len(entries) == 128 and entries[0].offset == 1024 and entries[1].offset == 1024 + 128
    used = [e for e in entries if child(e, "first_lba").value]
    got = [
        (child(e, "first_lba").value, child(e, "last_lba").value, child(e, "name").value)
        for e in used
    ]
    want = [(int(start), int(end), name.strip()) for _n, start, end, _code, name in rows]
    assert [(a, b, c.rstrip("\0")) for a, b, c in got] == want
    disk_guid = re.search(r"Disk identifier \(GUID\): (\S+)", printed).group(1)
    assert child(primary, "disk_guid").text == disk_guid


def test_one_tebibyte_gpt_reads_only_the_tables(tmp_path: Path):
    path = tmp_path / "huge.img"
    make_gpt(path, "1T")
    document = Document.open(str(path), readonly=True)
    reads: list[tuple[int, int]] = []

    class Counting:
        size = document.size

        def read(self, offset: int, length: int) -> bytes:
            reads.append((offset, length))
            return document.read(offset, length)

    result = parse(Counting(), "gpt_partition_table", registry())
    assert sum(n for _o, n in reads) == 0  # the top level is all lazy instances
    primary = child(result.root, "primary")
    entries = child(primary, "entries")
    assert entries.total_children() == 128
    backup = child(result.root, "backup")
    assert backup.offset == (1 << 40) - 512
    assert child(backup, "current_lba").value == (1 << 40) // 512 - 1
    assert sum(n for _o, n in reads) < 1024 * 1024


def test_a_huge_field_is_refused_not_loaded(tmp_path: Path):
    path = tmp_path / "huge.gz"
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00" + bytes(6))  # a gzip header; the body runs to the end
        out.truncate(1 << 40)
    result = parse_file(path, "gzip")
    assert result.stop is not None and result.stop.path == "body"
    assert "too large to load" in result.stop.reason
    assert child(result.root, "os").value is not None  # the header before it is kept


def test_truncated_png_keeps_the_chunks_read_and_says_where(tmp_path: Path):
    data, table = grey_png()
    idat_offset = table[2][0]
    path = tmp_path / "cut.png"
    path.write_bytes(data[: idat_offset + 10])  # inside the IDAT chunk's data
    result = parse_file(path, "png")
    assert not result.complete
    assert result.stop.path.startswith("chunks[1]")
    assert result.stop.offset is not None and idat_offset <= result.stop.offset < len(data)
    assert "ends too early" in result.stop.reason
    chunks = child(result.root, "chunks")
    assert [child(c, "type").value for c in chunks.children()] == ["tEXt"]
    assert child(child(result.root, "ihdr"), "width").value == 3
    assert "Parsing stopped in chunks[1]" in result.stop.describe()


def test_wrong_format_stops_at_the_magic_with_a_sentence(tmp_path: Path):
    path = tmp_path / "notelf"
    path.write_bytes(b"\x7fELG" + bytes(60))
    result = parse_file(path, "elf")
    assert result.stop is not None and (result.stop.path, result.stop.offset) == ("magic", 0)
    assert "do not match the format" in result.stop.reason


def test_unsaved_edits_are_parsed(tmp_path: Path):
    data, _table = grey_png()
    path = tmp_path / "edit.png"
    path.write_bytes(data)
    document = Document.open(str(path))
    document.enable_editing()
    width_offset = 16  # IHDR width
    document.write(width_offset, struct.pack(">I", 0x1234))
    ihdr = child(parse(document, "png", registry()).root, "ihdr")
    width = child(ihdr, "width")
    assert width.offset == width_offset and width.value == 0x1234
    assert path.read_bytes() == data  # the file on disk is untouched


def test_big_arrays_build_children_lazily(tmp_path: Path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(700):
            archive.writestr(f"f{index}", b"")
    result = parse_file(path, "zip")
    sections = child(result.root, "sections")
    assert sections.total_children() == 1401
    assert len(sections.children()) == 256 and sections.can_fetch_more()
    sections.fetch_more()
    assert len(sections.children()) == 512
    infos = zipfile.ZipFile(path).infolist()
    target = infos[650].header_offset + 5
    node = result.root.innermost(target)  # builds the array up to the entry under the offset
    assert node is not None and node.offset <= target < node.end
    assert node.path.startswith("sections[650]")


def test_cancel_stops_a_parse():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        parse(Document.open(PYTHON, readonly=True), "elf", registry(), token)


def test_issue_formats_are_listed():
    names = set(registry().names())
    wanted = {
        "elf", "microsoft_pe", "mach_o", "png", "gif", "jpeg", "exif", "bmp", "zip", "gzip",
        "gpt_partition_table", "mbr_partition_table", "ext2", "sqlite3", "pcap", "iso9660",
        "vfat", "wav",
    }  # fmt: skip
    assert wanted <= names
    assert len(names) > 150


def test_user_formats_are_listed_and_loaded(tmp_path: Path):
    library = FormatRegistry()
    source = Path(library.info("gif").path).read_text()
    user_dir = tmp_path / "formats"
    user_dir.mkdir()
    (user_dir / "my_gif.py").write_text(source)
    (user_dir / "broken.py").write_text("raise RuntimeError('bad module')\n")
    mine = FormatRegistry(user_dir=user_dir)
    assert mine.info("my_gif").source == "user" and "elf" in mine
    gif = tmp_path / "x.gif"
    gif.write_bytes(b"GIF89a\x02\x00\x03\x00\x00\x00\x00;")
    result = parse(Document.open(str(gif), readonly=True), "my_gif", mine)
    screen = child(result.root, "logical_screen_descriptor")
    assert child(screen, "screen_width").value == 2 and child(screen, "screen_height").value == 3
    with pytest.raises(Exception, match="failed to load: bad module"):
        mine.module("broken")


def test_formats_do_not_shadow_the_standard_library():
    registry().module("gzip")
    import gzip

    assert hasattr(gzip, "GzipFile")
