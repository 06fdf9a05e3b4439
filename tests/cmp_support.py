"""The reference for compare tests: differing runs read off GNU `cmp -l` output."""

from __future__ import annotations


def ranges_from_cmp_l(stdout: bytes) -> list[tuple[int, int]]:
    """(offset, length) runs, 0-based, from the consecutive offsets `cmp -l` lists."""
    runs: list[tuple[int, int]] = []
    for line in stdout.splitlines():
        offset = int(line.split()[0]) - 1
        if runs and runs[-1][0] + runs[-1][1] == offset:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((offset, 1))
    return runs
