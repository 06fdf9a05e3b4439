"""`mmhex recover`: finish or roll back an interrupted save of a file, and say which.

Never imports Qt.
"""

from __future__ import annotations

import argparse
import os
import sys

from mmhex.commands._output import report
from mmhex.core import journal

HELP = (
    "Deal with a save of FILE that was interrupted (crash, power loss, kill): roll the file "
    "back to its exact contents before that save, or keep the new contents if the save had "
    "finished; prints which."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the file whose save was interrupted")


def run(args: argparse.Namespace) -> int:
    path = args.file
    if not os.path.lexists(path) and not journal.has_journal(path):
        print(f"mmhex recover: {path}: The file does not exist.", file=sys.stderr)
        return 1
    outcome = journal.recover(path)
    if outcome.ok:
        failed = report(outcome.message)
        if failed is not None:
            print(
                f"mmhex recover: {outcome.message} (this report could not be written to "
                f"standard output: {failed})",
                file=sys.stderr,
            )
        return 0
    print(f"mmhex recover: {outcome.message}", file=sys.stderr)
    return 1
