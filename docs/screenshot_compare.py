"""Make docs/screenshot_compare.png: the compare window at 1366×768 under Xvfb.

Usage: xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshot_compare.py [FILE] [OUTDIR]
Compares FILE (default /bin/ls) with a copy where a few bytes and a short run were changed,
walks to the second difference with F7's slot, and photographs the window (ImageMagick `import`).
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import isolate, photograph, settle  # noqa: E402


def main() -> int:
    target, outdir = isolate("/bin/ls")
    source = Path(target)
    scratch = Path(os.environ["MMHEX_SETTINGS"]).parent  # isolate's scratch folder
    data = source.read_bytes()
    changed = bytearray(data)
    rng = random.Random(7)
    for offset in (0x1A0, 0x1A1, 0x1A7, 0x230, 0x2B4):
        changed[offset] ^= 0x20
    changed[0x300:0x30C] = b"mmhex compare"[:12]
    for _ in range(40):
        changed[rng.randrange(len(changed))] ^= rng.randint(1, 255)
    path_a, path_b = scratch / source.name, scratch / f"{source.name}.patched"
    path_a.write_bytes(data)
    path_b.write_bytes(bytes(changed) + b"\0" * 4096)

    from mmhex.ui.app import application
    from mmhex.ui.compare.feature import install
    from mmhex.ui.main_window import MainWindow

    application()
    window = MainWindow()
    window.open_path(str(path_a), readonly=True)
    compare_window = install(window).compare_with(str(path_b))
    if isinstance(compare_window, str):
        print(compare_window, file=sys.stderr)
        return 1
    compare_window.move(0, 0)
    compare_window.resize(1366, 768)
    compare_window.wait_for_compare()
    settle(400)
    compare_window.view_a.set_top_row(0x180 // 16)
    compare_window.next_difference()
    compare_window.next_difference()
    settle(400)
    photograph(compare_window, outdir / "screenshot_compare.png")
    compare_window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
