"""The issue's other formats parse samples made here, checked against `file -b` or the bytes
we wrote: PE, Mach-O, BMP, MBR, pcap, JPEG with EXIF, FAT (mkfs.fat), ISO 9660 (genisoimage)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from mmhex.core.document import Document
from mmhex.core.structure_detect import detect
from tests.core.structure_samples import all_children, child, parse_file, registry


def _file_b(path: Path) -> str:
    return subprocess.run(["file", "-b", str(path)], check=True, capture_output=True, text=True)


def _detected(path: Path) -> str | None:
    document = Document.open(str(path), readonly=True)
    return detect(document, str(path), known=set(registry().names())).format


def test_pe(tmp_path: Path):
    mz = bytearray(0x40)
    mz[0:2] = b"MZ"
    struct.pack_into("<I", mz, 0x3C, 0x40)
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 1_700_000_000, 0, 0, 240, 0x22)
    optional = bytearray(240)
    struct.pack_into("<HBBIII", optional, 0, 0x20B, 14, 0, 0x200, 0, 0)
    struct.pack_into("<I", optional, 16, 0x1000)  # entry point
    struct.pack_into("<I", optional, 108, 16)  # number of data directories
    section = bytearray(40)
    section[0:5] = b".text"
    struct.pack_into("<IIII", section, 8, 0x10, 0x1000, 0x200, 0x200)
    data = bytes(mz) + b"PE\0\0" + coff + bytes(optional) + bytes(section)
    data += bytes(0x200 - len(data)) + b"\xc3" + bytes(0x1FF)
    path = tmp_path / "a.exe"
    path.write_bytes(data)
    assert _file_b(path).stdout.startswith("PE32+ executable")
    assert _detected(path) == "microsoft_pe"
    result = parse_file(path, "microsoft_pe")
    assert result.complete, result.stop
    pe = child(result.root, "pe")
    assert pe.offset == 0x40
    coff_node = child(pe, "coff_hdr")
    assert coff_node.offset == 0x44
    assert child(coff_node, "machine").value.name == "amd64"
    assert child(coff_node, "time_date_stamp").text.endswith("= 2023-11-14 22:13:20 UTC")
    sections = all_children(child(pe, "sections"))
    assert [child(s, "name").value for s in sections] == [".text"]
    assert sections[0].offset == 0x44 + 20 + 240


def test_mach_o(tmp_path: Path):
    path = tmp_path / "a.macho"
    path.write_bytes(struct.pack("<IiiIIIII", 0xFEEDFACF, 0x01000007, 3, 2, 0, 0, 0x85, 0))
    assert _file_b(path).stdout.startswith("Mach-O 64-bit x86_64 executable")
    assert _detected(path) == "mach_o"
    result = parse_file(path, "mach_o")
    assert result.complete
    header = child(result.root, "header")
    assert child(header, "cputype").value.name == "x86_64"
    assert child(header, "filetype").value.name == "execute"
    assert child(header, "flags").offset == 0x18


def test_bmp_against_file(tmp_path: Path):
    pixels = (b"\x00\x00\xff" * 3 + b"\x00\x00\x00") * 2
    dib = struct.pack("<IiiHHIIiiII", 40, 3, 2, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    path = tmp_path / "a.bmp"
    path.write_bytes(b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + dib + pixels)
    described = _file_b(path).stdout
    width, height, bits = map(int, re.search(r"(\d+) x (\d+) x (\d+)", described).groups())
    assert _detected(path) == "bmp"
    result = parse_file(path, "bmp")
    assert result.complete
    header = child(child(result.root, "dib_info"), "header")
    assert (child(header, "image_width").value, child(header, "image_height").value) == (
        width,
        height,
    )
    assert child(header, "bits_per_pixel").value == bits
    assert child(result.root, "bitmap").offset == 54


def test_mbr_against_file(tmp_path: Path):
    sector = bytearray(512)
    for index, (status, kind, first, count) in enumerate(
        [(0x80, 0x83, 2048, 4096), (0, 0x07, 6144, 10240)]
    ):
        struct.pack_into(
            "<B3sB3sII", sector, 446 + 16 * index, status, b"", kind, b"", first, count
        )
    sector[510:512] = b"\x55\xaa"
    path = tmp_path / "mbr.img"
    path.write_bytes(bytes(sector) + bytes(1 << 20))
    described = _file_b(path).stdout
    expected = [
        (int(kind, 16), int(start), int(count))
        for kind, start, count in re.findall(
            r"ID=(0x[0-9a-f]+),.*?startsector (\d+), (\d+) sectors", described
        )
    ]
    assert len(expected) == 2
    assert _detected(path) == "mbr_partition_table"
    result = parse_file(path, "mbr_partition_table")
    entries = all_children(child(result.root, "partitions"))
    got = [
        (
            child(e, "partition_type").value,
            child(e, "lba_start").value,
            child(e, "num_sectors").value,
        )
        for e in entries
        if child(e, "partition_type").value
    ]
    assert got == expected
    assert [e.offset for e in entries] == [446, 462, 478, 494]


def _udp_frame(payload: bytes) -> bytes:
    udp = struct.pack(">HHHH", 5353, 53, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(4), bytes(4))
    return b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + ip + udp


def test_pcap_records(tmp_path: Path):
    frames = [_udp_frame(b"hello"), _udp_frame(b"second packet")]
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    offsets = []
    for index, frame in enumerate(frames):
        offsets.append(len(data))
        data += struct.pack("<IIII", 1_700_000_000 + index, 0, len(frame), len(frame)) + frame
    path = tmp_path / "a.pcap"
    path.write_bytes(data)
    assert _detected(path) == "pcap"
    result = parse_file(path, "pcap")
    assert result.complete, result.stop
    packets = all_children(child(result.root, "packets"))
    assert [p.offset for p in packets] == offsets
    assert [child(p, "incl_len").value for p in packets] == [len(f) for f in frames]
    body = child(packets[1], "body")
    assert body.offset == offsets[1] + 16 and body.size == len(frames[1])
    ipv4 = child(body, "body")  # the Ethernet frame's payload, another format module
    assert ipv4.offset == offsets[1] + 16 + 14


def test_jpeg_with_exif(tmp_path: Path):
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x0112, 3, 1, 6)
    tiff += struct.pack("<I", 0)
    app1 = b"Exif\x00\x00" + tiff
    path = tmp_path / "a.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9")
    assert "orientation=upper-right" in _file_b(path).stdout  # 6, as written
    assert _detected(path) == "jpeg"
    result = parse_file(path, "jpeg")
    assert result.complete
    segments = all_children(child(result.root, "segments"))
    exif = child(child(child(segments[1], "data"), "body"), "data")
    assert exif.offset == 12  # SOI(2) + marker(2) + length(2) + "Exif\0\0"(6)
    ifd = child(child(exif, "body"), "ifd0")
    field = all_children(child(ifd, "fields"))[0]
    assert child(field, "tag").value.name == "orientation"
    assert child(field, "ofs_or_data").value == 6
    assert child(field, "tag").offset == 12 + 8 + 2


@pytest.mark.skipif(shutil.which("mkfs.fat") is None, reason="dosfstools not installed")
def test_fat_boot_sector_against_file(tmp_path: Path):
    path = tmp_path / "fat.img"
    subprocess.run(["truncate", "-s", "8M", str(path)], check=True)
    subprocess.run(["mkfs.fat", "-n", "MMHEX", str(path)], check=True, capture_output=True)
    described = _file_b(path).stdout
    assert _detected(path) == "vfat"
    result = parse_file(path, "vfat")
    boot = child(result.root, "boot_sector")
    bpb = child(boot, "bpb")
    assert child(boot, "oem_name").value == re.search(r'OEM-ID "([^"]+)"', described).group(1)
    assert child(bpb, "ls_per_clus").value == int(re.search(r"sectors/cluster (\d+)", described)[1])
    reserved = int(re.search(r"reserved sectors (\d+)", described)[1])
    assert child(bpb, "num_reserved_ls").value == reserved
    assert child(bpb, "max_root_dir_rec").value == int(
        re.search(r"root entries (\d+)", described)[1]
    )
    assert child(bpb, "ls_per_clus").offset == 13
    fats = child(result.root, "fats")
    assert fats.offset == reserved * 512


@pytest.mark.skipif(shutil.which("genisoimage") is None, reason="genisoimage not installed")
def test_iso9660_against_file(tmp_path: Path):
    folder = tmp_path / "tree"
    folder.mkdir()
    (folder / "hello.txt").write_text("hi\n")
    path = tmp_path / "a.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-V", "MMHEX_TEST", "-o", str(path), str(folder)], check=True
    )
    assert "'MMHEX_TEST'" in _file_b(path).stdout
    assert _detected(path) == "iso9660"
    result = parse_file(path, "iso9660")
    primary = child(child(result.root, "primary_vol_desc"), "vol_desc_primary")
    assert child(primary, "volume_id").value.rstrip() == "MMHEX_TEST"
    assert child(primary, "volume_id").offset == 0x8000 + 40
    blocks = child(child(primary, "vol_space_size"), "le").value
    assert blocks * 2048 == path.stat().st_size
