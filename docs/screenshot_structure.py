"""Make docs/screenshot_structure.png under Xvfb: the Structure dock on an ELF file.

Usage: xvfb-run -a -s "-screen 0 1400x900x24" python docs/screenshot_structure.py [FILE] [OUTDIR]
Opens FILE (default /usr/bin/python3, resolved) with every feature installed, waits for the
background parse, expands the ELF header and its program headers (their bytes tinted in the grid
by depth), clicks the section header offset field (its bytes selected) and photographs the window.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import isolate, photograph, settle  # noqa: E402


def main() -> int:
    target, outdir = isolate("/usr/bin/python3")
    target = os.path.realpath(target)
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    from mmhex.ui.app import application
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow
    from mmhex.ui.panels.structure_panel import StructureFeature

    application()
    window = MainWindow()
    install_features(window)
    feature = window.findChild(StructureFeature)
    window.move(0, 0)
    window.resize(1380, 880)
    window.show()
    window.activateWindow()
    error = window.open_path(target, readonly=True)
    if error:
        print(error, file=sys.stderr)
        return 1
    while feature.result is None:
        settle(50)
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    window.resizeDocks([docks["Structure"]], [400], Qt.Orientation.Vertical)
    model, tree = feature.panel.model, feature.panel.tree
    root = model.index(0, 0)
    names = [model.data(model.index(r, 0, root)) for r in range(model.rowCount(root))]
    header = model.index(names.index("header"), 0, root)
    tree.expand(header)
    header_names = [model.data(model.index(r, 0, header)) for r in range(model.rowCount(header))]
    phdrs = model.index(header_names.index("program_headers"), 0, header)
    tree.expand(phdrs)
    tree.expand(model.index(0, 0, phdrs))
    field = model.index(header_names.index("section_header_offset"), 0, header)
    tree.setCurrentIndex(field)
    feature.select_field(model.node(field))
    window.view.set_top_row(0)
    settle(300)
    window.resizeDocks([docks["Structure"]], [380], Qt.Orientation.Vertical)
    tree.scrollTo(field)
    settle(800)
    photograph(window, outdir / "screenshot_structure.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
