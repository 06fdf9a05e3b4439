"""`mmhex residency FILE...`: page-cache residency like fincore, honest where it cannot know.

The table has fincore's columns and meanings (RES bytes resident, PAGES pages resident, SIZE file
size); JSON adds the cachestat counters and per-bucket counts. Core only, never Qt.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mmhex.core.errors import describe_error
from mmhex.core.residency import (
    PAGE_SIZE,
    ActionResult,
    Buckets,
    PageCounts,
    ResidencyProbe,
)

HELP = (
    "Show how much of each file is in the page cache (like fincore), optionally touching or "
    "evicting it first. Files whose cache state the kernel hides from you are shown as unknown."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="files or block devices")
    parser.add_argument("--json", action="store_true", help="print JSON with per-bucket counts")
    parser.add_argument("--bytes", "-b", action="store_true", help="sizes in bytes, not 4.5M")
    parser.add_argument(
        "--buckets",
        type=_non_negative,
        default=16,
        metavar="N",
        help="split each file into N buckets in the JSON output (default 16; 0 for none)",
    )
    parser.add_argument(
        "--who",
        action="store_true",
        help="list the processes that map each file (from /proc/PID/maps) instead",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--touch", action="store_true", help="read every page first")
    action.add_argument(
        "--evict", action="store_true", help="drop the file's clean pages from the cache first"
    )


def _non_negative(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(args: argparse.Namespace) -> int:
    if args.who:
        return run_who(args)
    rows: list[dict[str, Any]] = []
    failed = False
    for path in args.files:
        try:
            rows.append(_measure(path, args))
        except OSError as exc:
            failed = True
            print(f"mmhex residency: {describe_error(exc, path)}", file=sys.stderr)
    if args.json:
        import json

        json.dump({"files": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif rows:
        sys.stdout.write(format_table(rows, in_bytes=args.bytes))
    for row in rows:
        if row["action"] is not None:
            print(f"mmhex residency: {row['file']}: {row['action']['summary']}", file=sys.stderr)
        if not row["known"]:
            print(f"mmhex residency: {row['file']}: unknown: {row['reason']}", file=sys.stderr)
    return 1 if failed else 0


def _measure(path: str, args: argparse.Namespace) -> dict[str, Any]:
    with ResidencyProbe.open(path) as probe:
        action: ActionResult | None = None
        if args.touch:
            action = probe.touch()
        elif args.evict:
            action = probe.evict()
        size = probe.size()
        buckets = probe.buckets(0, size, args.buckets) if args.buckets else None
        totals = probe.counts(0, size) if buckets is None else _totals(buckets, size)
        return {
            "file": path,
            "size": size,
            "res": None if totals.resident is None else totals.resident * PAGE_SIZE,
            "pages": totals.resident,
            "total_pages": totals.pages,
            "known": probe.known,
            "method": probe.method,
            "reason": probe.unknown_reason,
            "dirty": totals.dirty,
            "writeback": totals.writeback,
            "evicted": totals.evicted,
            "recently_evicted": totals.recently_evicted,
            "page_size": PAGE_SIZE,
            "buckets": None if buckets is None else _bucket_rows(buckets),
            "action": None if action is None else _action_row(action),
        }


def _totals(buckets: Buckets, size: int) -> PageCounts:
    def total(values: tuple[int, ...] | None) -> int | None:
        return None if values is None else sum(values)

    return PageCounts(
        -(-size // PAGE_SIZE),
        total(buckets.resident),
        total(buckets.dirty),
        total(buckets.writeback),
        total(buckets.evicted),
        total(buckets.recently_evicted),
    )


def _bucket_rows(buckets: Buckets) -> list[dict[str, Any]]:
    rows = []
    for index in range(len(buckets)):
        start, end = buckets.layout.bucket_range(index)
        counts = buckets.counts(index)
        row: dict[str, Any] = {
            "offset": start,
            "length": end - start,
            "pages": counts.pages,
            "resident": counts.resident,
        }
        if counts.dirty is not None:
            row.update(
                dirty=counts.dirty,
                writeback=counts.writeback,
                evicted=counts.evicted,
                recently_evicted=counts.recently_evicted,
            )
        rows.append(row)
    return rows


def _action_row(action: ActionResult) -> dict[str, Any]:
    return {
        "name": action.action,
        "resident_before": action.before.resident,
        "resident_after": action.after.resident,
        "seconds": round(action.seconds, 6),
        "summary": action.describe(),
    }


# util-linux fincore's width hints for RES, PAGES and SIZE (libsmartcols widens to them).
_WIDTH_HINTS = (5, 1, 5)


def format_table(rows: list[dict[str, Any]], *, in_bytes: bool) -> str:
    """fincore's layout: right-aligned RES PAGES SIZE, then FILE, one space apart."""

    def size_text(value: int | None) -> str:
        if value is None:
            return "unknown"
        return str(value) if in_bytes else fincore_size(value)

    cells = [("RES", "PAGES", "SIZE", "FILE")]
    for row in rows:
        pages = "unknown" if row["pages"] is None else str(row["pages"])
        cells.append((size_text(row["res"]), pages, size_text(row["size"]), row["file"]))
    widths = []
    for column, hint in enumerate(_WIDTH_HINTS):
        width = max(len(line[column]) for line in cells[1:]) if len(cells) > 1 else 0
        header = len(cells[0][column])
        # libsmartcols: at least the header; a narrower column is widened to its hint
        widths.append(header if width < header else max(width, hint))
    lines = [
        " ".join(line[column].rjust(widths[column]) for column in range(3)) + " " + line[3]
        for line in cells
    ]
    return "\n".join(lines) + "\n"


def fincore_size(count: int) -> str:
    """A size the way util-linux prints it: 1023B, 1K, 9.8K, 1024K, 4.7G (one decimal, rounded)."""
    exponent = 0
    while exponent < 60 and count >= 1 << (exponent + 10):
        exponent += 10
    letter = "BKMGTPE"[exponent // 10]
    if exponent == 0:
        return f"{count}{letter}"
    whole, remainder = divmod(count, 1 << exponent)
    tenths = (remainder * 1000 // (1 << exponent) + 50) // 100
    if tenths == 10:
        whole, tenths = whole + 1, 0
    return f"{whole}.{tenths}{letter}" if tenths else f"{whole}{letter}"


# ----------------------------------------------------------------- --who
def run_who(args: argparse.Namespace) -> int:
    """``--who``: per file, the processes mapping it and the file ranges each maps."""
    from mmhex.core.mappers import who_maps

    reports = []
    failed = False
    for path in args.files:
        try:
            reports.append((path, who_maps(path)))
        except OSError as exc:
            failed = True
            print(f"mmhex residency: {describe_error(exc, path)}", file=sys.stderr)
    if args.json:
        import json

        json.dump({"files": [_who_json(path, report) for path, report in reports]}, sys.stdout)
        sys.stdout.write("\n")
    else:
        for path, report in reports:
            sys.stdout.write(format_who(path, report))
    for path, report in reports:
        if report.hidden:
            print(f"mmhex residency: {path}: {report.summary()}", file=sys.stderr)
    return 1 if failed else 0


def _who_json(path: str, report: Any) -> dict[str, Any]:
    return {
        "file": path,
        "hidden_processes": report.hidden,
        "processes": [
            {
                "pid": m.pid,
                "name": m.name,
                "ranges": [{"start": r.start, "end": r.end, "perms": r.perms} for r in m.ranges],
            }
            for m in report.mappers
        ],
    }


def format_who(path: str, report: Any) -> str:
    """``PID COMMAND START END PERMS`` rows, one per mapping, under a line naming the file."""
    lines = [f"{path}: {report.summary()}"]
    if report.mappers:
        lines.append(f"{'PID':>8} {'COMMAND':<16} {'START':>14} {'END':>14} PERMS")
    for mapper in report.mappers:
        for r in mapper.ranges:
            lines.append(f"{mapper.pid:>8} {mapper.name:<16} {r.start:#14x} {r.end:#14x} {r.perms}")
    return "\n".join(lines) + "\n"
