"""Bytes as text: ``xxd`` and ``hexdump -C`` dumps, byte-identical to those tools, and copy-as.

The dump formatter itself lives in ``hexdump.py`` (which imports nothing, for ``mmhex dump``'s
start-up) and is re-exported here with the ``DumpFormat`` enum the window uses.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

from mmhex.core import hexdump
from mmhex.core.errors import MmhexError
from mmhex.core.hexdump import (  # the dump itself lives there, free of enum and re
    CHUNK,
    PRINTABLE,
    READ_SIZE,
    ROW,
    format_row,
    iter_dump,
    offset_digits,
)

__all__ = ["CHUNK", "PRINTABLE", "READ_SIZE", "ROW", "format_row", "iter_dump", "offset_digits"]


class DumpFormat(enum.Enum):
    XXD = hexdump.XXD
    CANONICAL = hexdump.CANONICAL  # hexdump -C


def dump_text(data: bytes, fmt: DumpFormat = DumpFormat.CANONICAL, offset: int = 0) -> str:
    """A whole dump of ``data`` as if it sat at ``offset`` in a file (for Copy as hexdump)."""

    def read(pos: int, n: int) -> bytes:
        return data[pos - offset : pos - offset + n]

    pieces = iter_dump(read, offset + len(data), fmt, offset, len(data))
    return b"".join(bytes(p) for p in pieces).decode("ascii")


# ===================================================================== copy as / paste
class HexTextError(MmhexError, ValueError):
    """Pasted text is not hex; ``str`` says where."""


def to_hex_text(data: bytes, *, separator: str = " ", upper: bool = True) -> str:
    text = data.hex(separator) if separator and data else data.hex()
    return text.upper() if upper else text


def to_c_array(data: bytes, name: str = "data", per_line: int = 12) -> str:
    """``unsigned char data[N] = { 0x.., ... };`` as C compilers and xxd -i users expect."""
    lines = []
    for i in range(0, len(data), per_line):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i : i + per_line]))
    body = ",\n".join(lines)
    return (
        f"unsigned char {name}[{len(data)}] = {{\n{body}\n}};\n"
        if data
        else (f"unsigned char {name}[0] = {{}};\n")
    )


def to_python_bytes(data: bytes) -> str:
    """A Python bytes literal that evaluates to ``data`` (every byte as \\xHH: unambiguous)."""
    return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'


def to_base64(data: bytes) -> str:
    import base64  # only here: `mmhex dump` imports this module and needs no base64

    return base64.b64encode(data).decode("ascii")


_HEX_PREFIX = re.compile(r"0[xX]|\\[xX]")
_SEPARATORS = re.compile(r"[\s,;:]+")


def parse_hex_text(text: str) -> bytes:
    """Bytes from pasted hex: ``DE AD BE EF``, ``deadbeef``, ``0xde, 0xad``, ``\\xde\\xad``.

    Raises HexTextError naming the first character that is not hex, or an odd digit count.
    """
    cleaned = _SEPARATORS.sub(" ", _HEX_PREFIX.sub(" ", text)).split()
    digits = "".join(cleaned)
    bad = next((c for c in digits if c not in "0123456789abcdefABCDEF"), None)
    if bad is not None:
        raise HexTextError(f"The pasted text is not hex: {bad!r} is not a hex digit.")
    if any(len(token) % 2 for token in cleaned):
        raise HexTextError(
            "The pasted hex has a byte with an odd number of digits; write each byte as two."
        )
    return bytes.fromhex(digits)


def to_rust_array(data: bytes, name: str = "DATA", per_line: int = 12) -> str:
    """``const DATA: [u8; N] = [0x.., ...];`` (a Rust array of unsigned bytes)."""
    return _array_text(f"const {name}: [u8; {len(data)}] = [", "];\n", data, "0x{:02x}", per_line)


def to_java_array(data: bytes, name: str = "data", per_line: int = 8) -> str:
    """``byte[] data = { (byte)0x.., ... };`` — the same text compiles in Java and in C#.

    Java's ``byte`` is signed, so 0x80–0xFF need the cast; C# accepts the cast on any constant.
    """
    return _array_text(f"byte[] {name} = {{", "};\n", data, "(byte)0x{:02x}", per_line)


def _array_text(head: str, tail: str, data: bytes, item: str, per_line: int) -> str:
    if not data:
        return head + tail
    lines = [
        "    " + ", ".join(item.format(b) for b in data[i : i + per_line])
        for i in range(0, len(data), per_line)
    ]
    return head + "\n" + ",\n".join(lines) + "\n" + tail


_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
_ESCAPED = [_ESCAPES.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)]


def to_escaped_string(data: bytes) -> str:
    """A double-quoted string: printable ASCII as itself, \\n \\r \\t \\" \\\\, the rest \\xHH.

    Python, JavaScript and Rust byte strings read it back as the same bytes (``\\xHH`` takes
    exactly two digits there; in C a following hex digit would join the escape).
    """
    return '"' + "".join([_ESCAPED[b] for b in data]) + '"'


# Copy-as menu entries: key -> (menu label, text of the selected bytes starting at ``offset``).
COPY_FORMATS: dict[str, tuple[str, Callable[[bytes, int], str]]] = {
    "hex": ("&Hex (spaced)", lambda data, offset: to_hex_text(data)),
    "hex_plain": ("Hex (&plain)", lambda data, offset: to_hex_text(data, separator="")),
    "c": ("&C array", lambda data, offset: to_c_array(data)),
    "python": ("P&ython bytes", lambda data, offset: to_python_bytes(data)),
    "rust": ("&Rust array", lambda data, offset: to_rust_array(data)),
    "java": ("&Java / C# array", lambda data, offset: to_java_array(data)),
    "base64": ("&Base64", lambda data, offset: to_base64(data)),
    "hexdump": ("hex&dump -C", lambda data, offset: dump_text(data, DumpFormat.CANONICAL, offset)),
    "escaped": ("&Escaped string", lambda data, offset: to_escaped_string(data)),
}
