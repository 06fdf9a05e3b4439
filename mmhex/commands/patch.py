"""`mmhex patch`: change bytes of a file in place through the same save as the GUI.

Overwrites (``OFFSET HEXBYTES``), inserts, deletes and resizes, applied in order.

All patches are parsed and checked against the file before anything is written, so a bad line
leaves the file untouched. Never imports Qt.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from mmhex.commands._output import report
from mmhex.core.document import Document, EditError
from mmhex.core.edits import HexSyntaxError, parse_hex_bytes
from mmhex.core.errors import MmhexError, describe_error
from mmhex.core.save import FileChangedOnDiskError, SaveError, SaveResult

HELP = (
    "Overwrite bytes of FILE in place, crash-safe (journaled, only the changed pages are "
    "written): `mmhex patch FILE OFFSET HEXBYTES`, or `--from PATCHFILE` with one "
    "'OFFSET HEXBYTES' pair per line (offsets decimal or 0x-hex; applied in order, later wins; "
    "'#' starts a comment; at most 64 MiB of patch text). --insert OFFSET HEX, --delete "
    "OFFSET LENGTH and --resize SIZE (or lines 'insert OFFSET HEX', 'delete OFFSET LENGTH', "
    "'resize SIZE') change the size; everything is applied in the order given."
)

# A patch file is text typed or generated for a purpose; anything larger is a mistake
# (`--from /dev/zero`, a wrong file), refused before it fills the memory.
MAX_PATCH_TEXT = 64 * 1024 * 1024
_TOO_LARGE = "{source}: more than 64 MiB of patch text; nothing was written"

_OFFSET = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]+)")


class PatchSyntaxError(MmhexError):
    """A patch that cannot be parsed; str says where and why."""


WRITE, INSERT, DELETE, RESIZE = "write", "insert", "delete", "resize"


@dataclass(frozen=True)
class PatchItem:
    offset: int
    data: bytes
    where: str  # "line 3 of FILE" or "command line", for messages
    kind: str = WRITE
    length: int = 0  # DELETE: bytes removed; RESIZE: the new size (offset unused)


class _Ordered(argparse.Action):
    """--insert/--delete/--resize keep their order on the command line (in ``operations``)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        values = [values] if isinstance(values, str) else list(values)
        operations = list(getattr(namespace, "operations", None) or [])
        operations.append((self.dest, values))
        namespace.operations = operations


def parse_operation(kind: str, words: list[str], where: str) -> PatchItem:
    """One insert/delete/resize from its words (after the keyword)."""
    try:
        if kind == INSERT and len(words) >= 2:
            return PatchItem(
                parse_offset(words[0]), parse_hex_bytes(" ".join(words[1:])), where, INSERT
            )
        if kind == DELETE and len(words) == 2:
            return PatchItem(parse_offset(words[0]), b"", where, DELETE, parse_offset(words[1]))
        if kind == RESIZE and len(words) == 1:
            return PatchItem(0, b"", where, RESIZE, parse_offset(words[0]))
    except (PatchSyntaxError, HexSyntaxError) as exc:
        raise PatchSyntaxError(f"{where}: {exc}") from exc
    shapes = {INSERT: "insert OFFSET HEX", DELETE: "delete OFFSET LENGTH", RESIZE: "resize SIZE"}
    raise PatchSyntaxError(f"{where}: expected '{shapes[kind]}', got {' '.join([kind, *words])!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the file to change in place")
    parser.add_argument("offset", nargs="?", help="where to write: decimal or 0x-hex")
    parser.add_argument(
        "hexbytes", nargs="*", help="the bytes as hex digits (spaces between bytes allowed)"
    )
    parser.add_argument(
        "--insert", dest=INSERT, nargs=2, action=_Ordered, metavar=("OFFSET", "HEX"),
        help="insert the bytes HEX before OFFSET (the file grows)",
    )  # fmt: skip
    parser.add_argument(
        "--delete", dest=DELETE, nargs=2, action=_Ordered, metavar=("OFFSET", "LENGTH"),
        help="remove LENGTH bytes at OFFSET (the file shrinks)",
    )  # fmt: skip
    parser.add_argument(
        "--resize", dest=RESIZE, action=_Ordered, metavar="SIZE",
        help="truncate the file to SIZE bytes, or extend it with zeros",
    )  # fmt: skip
    parser.add_argument(
        "--from",
        dest="patch_file",
        metavar="PATCHFILE",
        help="read 'OFFSET HEXBYTES' lines from PATCHFILE ('-' for standard input)",
    )


def parse_offset(text: str) -> int:
    """A decimal or 0x-hex offset, nothing else (no signs, no expressions)."""
    if not _OFFSET.fullmatch(text):
        raise PatchSyntaxError(f"{text!r} is not an offset (use decimal, or hex as 0x1F400)")
    return int(text, 0) if text[:2].lower() == "0x" else int(text, 10)


def parse_patch_lines(lines: Iterable[str], source: str) -> list[PatchItem]:
    """Parse 'OFFSET HEXBYTES' lines; blank lines and '#' comments are skipped."""
    items: list[PatchItem] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}, line {number}"
        keyword, *words = line.split()
        if keyword.lower() in (INSERT, DELETE, RESIZE):
            items.append(parse_operation(keyword.lower(), words, where))
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            raise PatchSyntaxError(f"{where}: expected 'OFFSET HEXBYTES', got {line!r}")
        try:
            items.append(PatchItem(parse_offset(parts[0]), parse_hex_bytes(parts[1]), where))
        except (PatchSyntaxError, HexSyntaxError) as exc:
            raise PatchSyntaxError(f"{where}: {exc}") from exc
    return items


def _read_patches(args: argparse.Namespace) -> list[PatchItem]:
    operations = [
        parse_operation(kind, words, "command line")
        for kind, words in getattr(args, "operations", None) or []
    ]
    if operations and args.patch_file is None:
        if args.offset is not None:
            return [*_read_overwrite(args), *operations]
        return operations
    if operations:
        raise PatchSyntaxError("give --insert/--delete/--resize or --from PATCHFILE, not both")
    if args.patch_file is not None:
        if args.offset is not None:
            raise PatchSyntaxError("give either OFFSET HEXBYTES or --from PATCHFILE, not both")
        source = "standard input" if args.patch_file == "-" else args.patch_file
        try:
            text = _read_patch_text(args.patch_file).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PatchSyntaxError(describe_error(exc, source)) from exc
        return parse_patch_lines(text.splitlines(), source)
    return _read_overwrite(args)


def _read_overwrite(args: argparse.Namespace) -> list[PatchItem]:
    if args.offset is None or not args.hexbytes:
        raise PatchSyntaxError("give OFFSET and HEXBYTES, or --from PATCHFILE")
    try:
        data = parse_hex_bytes(" ".join(args.hexbytes))
        return [PatchItem(parse_offset(args.offset), data, "command line")]
    except (PatchSyntaxError, HexSyntaxError) as exc:
        raise PatchSyntaxError(f"command line: {exc}") from exc


def _read_patch_text(name: str) -> bytes:
    """The patch text, at most MAX_PATCH_TEXT bytes: standard input (``-``) or a regular file.

    A FIFO, device or socket is refused before it is opened (a FIFO would block, /dev/zero never
    ends); the file is opened non-blocking and checked again, since the name may change.
    """
    if name == "-":
        if sys.stdin is None:
            raise PatchSyntaxError("standard input is closed")
        return _read_bounded(sys.stdin.buffer.read, "standard input")
    kind = stat.S_IFMT(os.stat(name).st_mode)
    if kind != stat.S_IFREG:
        raise PatchSyntaxError(
            f"{name}: --from reads a regular file or '-' (standard input), not "
            f"{_KINDS.get(kind, 'a special file')}"
        )
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PatchSyntaxError(f"{name}: it was replaced by something that is not a file")
        if st.st_size > MAX_PATCH_TEXT:
            raise PatchSyntaxError(_TOO_LARGE.format(source=name))
        return _read_bounded(lambda size: os.read(fd, size), name)
    finally:
        os.close(fd)


_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def _read_bounded(read, source: str) -> bytes:  # read: (size) -> bytes
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = read(min(1 << 20, MAX_PATCH_TEXT + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > MAX_PATCH_TEXT:
            raise PatchSyntaxError(_TOO_LARGE.format(source=source))


def run(args: argparse.Namespace) -> int:
    try:
        items = _read_patches(args)
    except PatchSyntaxError as exc:
        print(f"mmhex patch: {exc}", file=sys.stderr)
        return 2
    if not items:
        print("mmhex patch: the patch file holds no patches; nothing to do.", file=sys.stderr)
        return 0
    try:
        document = Document.open(args.file)
    except (OSError, ValueError) as exc:
        print(f"mmhex patch: {describe_error(exc, args.file)}", file=sys.stderr)
        return 1
    try:
        if document.recovery is not None:
            print(f"mmhex patch: {document.recovery.message}", file=sys.stderr)
            if not document.recovery.ok:
                return 1
        return _apply_and_save(document, items)
    finally:
        document.close()


def _apply_and_save(document: Document, items: list[PatchItem]) -> int:
    path = document.path
    try:
        document.enable_editing()
    except EditError as exc:
        print(f"mmhex patch: {path}: {exc}", file=sys.stderr)
        return 1
    size = document.size
    if any(item.kind != WRITE for item in items):
        return _apply_layout_and_save(document, items)
    for item in items:  # check everything before the first write
        if item.offset + len(item.data) > size:
            reason = (
                f"offset {item.offset:#x} is past the end of the file"
                if item.offset >= size
                else f"{len(item.data):,} bytes at {item.offset:#x} would run past the end"
            )
            print(
                f"mmhex patch: {item.where}: {reason} ({size:,} bytes); nothing was written.",
                file=sys.stderr,
            )
            return 1
    try:
        for item in items:
            document.write(item.offset, item.data)
        if not document.modified:
            return _report(f"{path}: unchanged (the bytes were already there).")
        changed = document.edit_log.dirty_bytes
    except (OSError, MmhexError) as exc:
        print(f"mmhex patch: {describe_error(exc)}", file=sys.stderr)
        return 1
    result = _save(document)
    if result is None:
        return 1
    count = len(items)
    return _report(
        f"{path}: applied {count:,} patch{'es' if count != 1 else ''}; {changed:,} "
        f"byte{'s' if changed != 1 else ''} written in {result.ranges:,} "
        f"range{'s' if result.ranges != 1 else ''}."
    )


def _save(document: Document) -> SaveResult | None:
    """Save; on failure say why on standard error (the file is unchanged) and return None."""
    try:
        return document.save()
    except FileChangedOnDiskError as exc:
        print(
            f"mmhex patch: {exc.fact.rstrip('.')}; nothing was written (run it again to patch "
            "the file as it is now).",
            file=sys.stderr,
        )
    except SaveError as exc:  # the fact only: the window's advice (Save As…) means nothing here
        print(f"mmhex patch: {exc.fact}", file=sys.stderr)
    except (OSError, MmhexError) as exc:
        print(f"mmhex patch: {describe_error(exc)}", file=sys.stderr)
    return None


def _report(line: str) -> int:
    """The file is patched: a lost report is said on standard error, not turned into failure."""
    failed = report(line)
    if failed is not None:
        print(
            f"mmhex patch: {line} (this report could not be written to standard output: {failed})",
            file=sys.stderr,
        )
    return 0


def _apply_layout_and_save(document: Document, items: list[PatchItem]) -> int:
    """Inserts, deletes and resizes in order, in memory; then one save (nothing before)."""
    path = document.path
    old_size = document.size
    for item in items:
        try:
            if item.kind == WRITE:
                document.write(item.offset, item.data)
            elif item.kind == INSERT:
                document.insert(item.offset, item.data)
            elif item.kind == DELETE:
                document.delete(item.offset, item.length)
            elif item.length != document.size:
                document.resize(item.length)
        except (EditError, OSError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, EditError) else describe_error(exc)
            print(f"mmhex patch: {item.where}: {reason} Nothing was written.", file=sys.stderr)
            return 1
    if not document.modified:
        return _report(f"{path}: unchanged (the bytes were already there).")
    new_size = document.size
    if _save(document) is None:
        return 1
    count = len(items)
    return _report(
        f"{path}: applied {count:,} change{'s' if count != 1 else ''}; "
        f"size {old_size:,} → {new_size:,} bytes."
    )
