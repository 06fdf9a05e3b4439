"""`mmhex map FILE`: where the file has data and holes, and (``--extents``) its FIEMAP extents.

The text form lists one run per line (``data``/``hole``, start, end, length, like the ranges
``SEEK_DATA``/``SEEK_HOLE`` give); ``--extents`` adds rows like ``filefrag -v``. ``--json`` prints
the same as one object. Core only, never Qt.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from mmhex.core.errors import describe_error

HELP = (
    "Show a file's data and hole ranges (SEEK_DATA/SEEK_HOLE) and, with --extents, its extents "
    "on disk (FIEMAP) with their flags, as filefrag -v does."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--extents", action="store_true", help="also list extents (FIEMAP), as filefrag -v does"
    )
    parser.add_argument(
        "--sync", action="store_true", help="flush delayed allocation before listing extents"
    )


def describe(path: str, *, extents: bool, sync: bool = False) -> dict[str, Any]:
    """Everything ``mmhex map`` prints, as one JSON-ready value."""
    from mmhex.core.extents import extents_of
    from mmhex.core.holes import walk_path

    holes = walk_path(path)
    result: dict[str, Any] = {
        "file": path,
        "size": holes.size,
        "data_bytes": holes.data_bytes,
        "hole_bytes": holes.hole_bytes,
        "exact": holes.exact,
        "ranges": [
            {"kind": "data" if is_data else "hole", "start": s, "end": e}
            for s, e, is_data in holes.ranges()
        ],
    }
    if extents:
        found = extents_of(path, sync=sync)
        result["extents"] = (
            None
            if not found.supported
            else [
                {
                    "logical": e.logical,
                    "physical": e.physical,
                    "length": e.length,
                    "flags": list(e.flag_names),
                }
                for e in found.extents
            ]
        )
        result["extents_error"] = found.error
        result["block_size"] = found.block_size
    return result


def format_text(info: dict[str, Any]) -> str:
    lines = [
        f"{info['file']}: {info['size']:,} bytes, {info['data_bytes']:,} data, "
        f"{info['hole_bytes']:,} in holes" + ("" if info["exact"] else " (at least)")
    ]
    for row in info["ranges"]:
        start, end = row["start"], row["end"]
        lines.append(f"{row['kind']:<5} {start:#014x} {end:#014x} {end - start:>16,}")
    if "extents" in info:
        if info["extents"] is None:
            lines.append(f"extents: {info['extents_error']}")
        else:
            bs = info["block_size"]
            lines.append(f"{len(info['extents'])} extents ({bs}-byte blocks):")
            lines.append(" ext:  logical_offset:      physical_offset:  length: flags:")
            for index, e in enumerate(info["extents"]):
                first, last = e["logical"] // bs, (e["logical"] + e["length"] - 1) // bs
                phys = e["physical"] // bs
                phys_end = (e["physical"] + e["length"] - 1) // bs
                lines.append(
                    f"{index:4d}: {first:>8}..{last:>8}: {phys:>10}..{phys_end:>10}: "
                    f"{e['length'] // bs:>7}: {','.join(e['flags'])}"
                )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        if os.path.isdir(args.file):
            raise IsADirectoryError(21, "Is a directory", args.file)
        info = describe(args.file, extents=args.extents, sync=args.sync)
    except OSError as exc:
        print(f"mmhex map: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_text(info))
    return 0
