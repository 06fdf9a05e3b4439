"""Sample files for the structure tests, made with independent tools (zlib, zipfile, sgdisk …)."""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from pathlib import Path

from mmhex.core.document import Document
from mmhex.core.structure import Node, ParseResult, parse
from mmhex.core.structure_formats import FormatRegistry

PYTHON = os.path.realpath("/usr/bin/python3")
_REGISTRY: FormatRegistry | None = None


def registry() -> FormatRegistry:
    """One registry for the session: modules load once (formats are read-only after load)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = FormatRegistry()
    return _REGISTRY


def parse_file(path: str | Path, format_name: str) -> ParseResult:
    document = Document.open(str(path), readonly=True)
    return parse(document, format_name, registry())


def child(node: Node, name: str) -> Node:
    for item in node.children():
        if item.name == name:
            item.evaluate()
            return item
    raise AssertionError(f"{node.path or node.name} has no field {name!r}")


def all_children(node: Node) -> list[Node]:
    while node.can_fetch_more():
        node.fetch_more()
    return node.children()


def png_bytes(chunks: list[tuple[bytes, bytes]]) -> tuple[bytes, list[tuple[int, bytes, int]]]:
    """A PNG with the given chunks (after IHDR); returns it and (offset, type, length) of each."""
    out = bytearray(b"\x89PNG\r\n\x1a\n")
    table = []
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)
    for ctype, data in [(b"IHDR", ihdr), *chunks, (b"IEND", b"")]:
        table.append((len(out), ctype, len(data)))
        out += struct.pack(">I", len(data)) + ctype + data
        out += struct.pack(">I", zlib.crc32(ctype + data))
    return bytes(out), table


def grey_png() -> tuple[bytes, list[tuple[int, bytes, int]]]:
    raw = b"".join(b"\x00" + bytes([x * 40]) * 3 for x in range(2))
    return png_bytes(
        [(b"tEXt", b"Comment\x00made by zlib"), (b"IDAT", zlib.compress(raw)), (b"IDAT", b"")]
    )


def make_gpt(path: Path, size: str = "64M") -> str:
    """A GPT image made by sgdisk; returns `sgdisk -p`'s output."""
    subprocess.run(["truncate", "-s", size, str(path)], check=True)
    subprocess.run(
        ["sgdisk", "-n", "1:2048:+8M", "-c", "1:alpha", "-t", "1:8300",
         "-n", "2:0:+4M", "-c", "2:beta part", "-t", "2:ef00", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return subprocess.run(
        ["sgdisk", "-p", str(path)], check=True, capture_output=True, text=True
    ).stdout
