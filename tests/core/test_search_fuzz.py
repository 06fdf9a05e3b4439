"""No search engine construct may crash the process, and every engine agrees with ``re``.

Random patterns from a small grammar (literals, classes, ``.``, ``+ * ? {m,n}``, lazy repeats,
alternation, groups, anchors and one-byte look-arounds; hex with ``??``/``4?``/``?F``; text with
any case) against random data (a small alphabet so that matches are dense, or all 256 byte
values; planted matches, many straddling 16 KiB window boundaries; in a third of the regex
cases, unbounded repeats sample runs longer than the 64 KiB the search looks at first, and the
data holds long runs of one or two bytes, so that a long match silently missed or cut, as
`xy+z` over x, 70,000 y and z once was, is a mismatch). Every engine path
(StringZilla literal and anchor, Hyperscan fixed and prefilter, pure Python; leased and copied)
is compared with Python's ``re`` over the whole file (tests/core/search_fuzz_worker.py).

The cases run in child processes, so a crash (Hyperscan's SOM mode died of SIGSEGV on this very
CPU kind) is a failure naming the case, not a dead test run. MMHEX_SEARCH_FUZZ_CASES sets the
number of cases (default 120, about 10 s of CPU).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("search_fuzz_worker.py")
CASES = int(os.environ.get("MMHEX_SEARCH_FUZZ_CASES", "120"))
SEED = int(os.environ.get("MMHEX_SEARCH_FUZZ_SEED", "0"))


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _describe_death(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


def test_random_patterns_agree_with_re_and_never_crash(tmp_path):
    first, end = SEED, SEED + CASES
    failures: list[str] = []
    compared = 0
    while first < end:
        try:
            result = subprocess.run(
                [sys.executable, str(WORKER), str(first), str(end - first), str(tmp_path)],
                capture_output=True,
                text=True,
                env=_env(),
                timeout=120 + (end - first),
                check=False,
            )
            stdout, stderr, returncode = result.stdout, result.stderr, result.returncode
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout or b""
            stdout = out.decode() if isinstance(out, bytes) else out
            stderr, returncode = "", None
        lines = stdout.splitlines()
        failures += [line for line in lines if line.startswith("MISMATCH")]
        done = [line for line in lines if line.startswith("DONE")]
        if done and returncode == 0:
            compared += int(done[0].split()[2])
            break
        cases = [line for line in lines if line.startswith("CASE")]
        if not cases:
            failures.append(f"the worker failed before any case: {stderr[-2000:]}")
            break
        culprit = cases[-1]
        how = "hung" if returncode is None else _describe_death(returncode)
        failures.append(f"{how} in {culprit}")
        first = int(culprit.split()[1]) + 1  # go on with the next case in a new child
    assert not failures, "\n".join(failures[:20])
    assert compared >= CASES // 2, "too few cases were comparable: the grammar needs a look"


# The reproduction: `A+B` on random 100 KB files crashed 7 of 15 times with SOM.
PLAIN_PATTERNS = textwrap.dedent(
    """
    import random, re, sys
    from mmhex.core.mapping import MappedFile
    from mmhex.core.search import PatternKind, SearchOptions, SearchPattern, find_all
    path, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    for round_ in range(15):
        data = rng.randbytes(100_000)
        open(path, "wb").write(data)
        mapped = MappedFile(path)
        for source in (rb"A+B", rb"[Aa]+B", rb"(?:A){1,}B", rb"x+y+z"):
            got = find_all(mapped, SearchPattern(PatternKind.REGEX, source),
                           options=SearchOptions(accelerated=True)).matches
            want = [m.span() for m in re.finditer(source, data)]
            assert [tuple(m) for m in got] == want, (round_, source)
        mapped.close()
    print("OK")
    """
)


def test_plain_repeats_on_random_data_do_not_crash(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_PATTERNS, str(tmp_path / "r.bin"), "1"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (_describe_death(result.returncode), result.stderr[-2000:])
    assert result.stdout.strip() == "OK"
