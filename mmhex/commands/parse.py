"""`mmhex parse FILE`: the file's fields as its format sees them (Kaitai Struct formats).

Prints one field per line (indented by depth: name, offset, size, type, value) or JSON; the
format is detected like the window does (libmagic, then magic bytes) unless --format names one.
Exit status: 0 parsed, 1 parsed partly (the reason is printed), 2 error. Core only, never Qt.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mmhex.commands.residency import _non_negative as non_negative
from mmhex.core.errors import describe_error

HELP = (
    "Print the structure of FILE as its format describes it (ELF, PNG, ZIP, GPT, … from the "
    "Kaitai Struct format library), or list the formats with --list."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="the file to parse")
    parser.add_argument("--format", "-f", metavar="NAME", help="parse as NAME (see --list)")
    parser.add_argument("--json", action="store_true", help="print the tree as JSON")
    parser.add_argument(
        "--depth",
        "-d",
        type=non_negative,
        default=3,
        metavar="N",
        help="levels below the top to print (default 3; 0 for the top level only)",
    )
    parser.add_argument("--list", action="store_true", help="list the formats and exit")


def run(args: argparse.Namespace) -> int:
    from mmhex.core.structure_formats import FormatError, FormatRegistry

    registry = FormatRegistry()
    if args.list:
        for info in registry.infos():
            print(f"{info.name}\t{info.source}" if info.source != "library" else info.name)
        return 0
    if args.file is None:
        print("mmhex parse: give a FILE, or --list", file=sys.stderr)
        return 2
    try:
        return _parse_file(args, registry)
    except FormatError as exc:
        print(f"mmhex parse: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise
    except OSError as exc:
        print(f"mmhex parse: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2


def _parse_file(args: argparse.Namespace, registry: Any) -> int:
    from mmhex.core.document import Document
    from mmhex.core.structure import parse
    from mmhex.core.structure_detect import detect

    document = Document.open(args.file, readonly=True)
    try:
        name = args.format
        description = None
        if name is None:
            found = detect(document, args.file, known=set(registry.names()))
            description, name = found.description, found.format
            if name is None:
                print(
                    f"mmhex parse: no format for this file ({description}); choose one with "
                    "--format (see --list)",
                    file=sys.stderr,
                )
                return 2
        result = parse(document, name, registry)
        if args.json:
            tree = _json_node(result.root, args.depth)
            out = {"file": args.file, "format": name, "tree": tree}
            if description is not None:
                out["description"] = description
            if result.stop is not None:
                out["stopped"] = {
                    "path": result.stop.path,
                    "offset": result.stop.offset,
                    "reason": result.stop.reason,
                }
            json.dump(out, sys.stdout, indent=1)
            print()
        else:
            if description is not None:
                print(f"# {description}")
            print(f"# format: {name}")
            _print_node(result.root, 0, args.depth)
            if result.stop is not None:
                print(result.stop.describe())
        return 0 if result.stop is None else 1
    finally:
        document.close()


def _all_children(node: Any) -> list[Any]:
    while node.can_fetch_more():
        node.fetch_more()
    return node.children()


def _print_node(node: Any, level: int, depth: int) -> None:
    node.evaluate()
    offset = f"{node.offset:#x}" if node.offset is not None else "-"
    size = str(node.size) if node.size is not None else "-"
    note = f"  [{node.error}]" if node.error and node.value is not None else ""
    print(f"{'  ' * level}{node.name}\t{offset}\t{size}\t{node.type_name}\t{node.text}{note}")
    if level < depth and node.has_children:
        for child in _all_children(node):
            _print_node(child, level + 1, depth)


def _json_node(node: Any, depth: int, level: int = 0) -> dict[str, Any]:
    node.evaluate()
    out: dict[str, Any] = {
        "name": node.name,
        "offset": node.offset,
        "size": node.size,
        "type": node.type_name,
        "value": _json_value(node.value) if not node.has_children else None,
        "text": node.text,
    }
    if node.error:
        out["error"] = node.error
    if node.has_children:
        if level < depth:
            out["children"] = [_json_node(c, depth, level + 1) for c in _all_children(node)]
        else:
            out["children_count"] = node.total_children()
    return out


def _json_value(value: Any) -> Any:
    import enum

    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes):
        return value[:4096].hex()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)
