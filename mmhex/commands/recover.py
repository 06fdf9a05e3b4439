"""`mmhex recover`: finish or roll back an interrupted save of a file, and say which.

Never imports Qt.
"""

from __future__ import annotations

import argparse
import os
import sys

from mmhex.commands._output import report
from mmhex.core import journal, shift_save, tail_move
from mmhex.core import save as saving

HELP = (
    "Deal with a save of FILE that was interrupted (crash, power loss, kill): the file ends "
    "with exactly its contents from before that save, or exactly the saved contents (an "
    "in-place move of the tail that had started is finished); prints which. The save may "
    "have gone through any name of the file (a hard or symbolic link): its journal belongs "
    "to the file's device and inode."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the file whose save was interrupted")


def run(args: argparse.Namespace) -> int:
    path = args.file
    saving.remove_stale_temporaries_of(path)  # a killed copy-and-rename save's leftovers
    if not os.path.lexists(path) and not journal.has_journal(path):
        print(f"mmhex recover: {path}: The file does not exist.", file=sys.stderr)
        return 1
    if os.path.lexists(path) and shift_save.has_shift_journal(path):
        # An interrupted in-place insert or delete (core/shift_save.py) has its own journal.
        shifted = shift_save.recover_shift(path)
        if shifted is not None and not journal.has_journal(path):
            return _told(shifted.message, has_shift_left(path))
    if os.path.lexists(path) and tail_move.has_move_journal(path):
        # An interrupted chunked in-place move of the tail (core/tail_move.py).
        moved = tail_move.recover_move(path)
        if moved is not None and not journal.has_journal(path):
            return _told(moved.message, tail_move.has_move_journal(path))
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


def _told(message: str, journal_left: bool) -> int:
    """Print an in-place recovery's sentence; 1 if its journal had to stay (it says why)."""
    if report(message) is not None:
        print(f"mmhex recover: {message}", file=sys.stderr)
    return 1 if journal_left else 0


def has_shift_left(path: str) -> bool:
    """The shift journal is still there: recovery could not decide (its message says why)."""
    return shift_save.has_shift_journal(path)
