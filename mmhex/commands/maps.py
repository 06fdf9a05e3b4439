"""`mmhex maps PID [--json]`: a process's mappings, which of them mmhex can show, and why not.

The text form is /proc/PID/maps with a size column and, for regions whose bytes cannot be read,
the reason; --json gives the same as a list of objects.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = (
    "List the memory regions of process PID as /proc/PID/maps does, with sizes, and say which "
    "cannot be read and why (mmhex --pid PID opens the readable ones in the window)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pid", type=int, help="process ID")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    from mmhex.core.process import ProcessAccessError, read_maps

    try:
        regions = read_maps(args.pid)
    except ProcessAccessError as exc:
        print(f"mmhex maps: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    if args.json:
        json.dump([region.as_dict() for region in regions], out, indent=1)
        out.write("\n")
    else:
        for region in regions:
            note = f"  (unreadable: {region.unreadable})" if region.unreadable else ""
            out.write(f"{region.as_maps_line()}  [{region.size:,} bytes]{note}\n")
    out.flush()
    return 0
