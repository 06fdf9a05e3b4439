"""The About data: one version (mmhex.__version__) everywhere, and ids that match the files in
resources/ that packaging installs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mmhex
from mmhex.about import ABOUT, APP_ID, ICON_NAME

ROOT = Path(__file__).resolve().parent.parent


def test_about_version_is_the_package_version():
    assert ABOUT.version == mmhex.__version__
    assert ABOUT.title == f"mmhex {mmhex.__version__}"


def test_version_option_prints_the_same_version():
    result = subprocess.run(
        [sys.executable, "-m", "mmhex", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"mmhex {mmhex.__version__}"


def test_version_is_written_only_in_mmhex_init():
    """The desktop files, the .deb template and pyproject take the version from mmhex."""
    version = re.escape(mmhex.__version__)
    written_in = [
        path.relative_to(ROOT).as_posix()
        for folder in ("resources", "packaging", "mmhex")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix not in {".png", ".pyc"}
        and "out" not in path.relative_to(ROOT).parts
        and re.search(rf"(?<![\d.]){version}(?![\d.])", path.read_text(errors="replace"))
    ]
    assert written_in == ["mmhex/__init__.py"]
    assert 'version = { attr = "mmhex.__version__" }' in (ROOT / "pyproject.toml").read_text()


def test_about_text_carries_license_and_third_party_notices():
    text = ABOUT.as_text()
    assert text.splitlines()[0] == f"mmhex {mmhex.__version__}"
    assert "License: MIT" in text
    assert "LGPL" in text  # the packaged builds ship Qt


def test_app_id_names_the_desktop_entry_metainfo_and_icon():
    assert re.fullmatch(r"[a-z]+(\.[a-z0-9_]+){2,}", APP_ID)
    assert (ROOT / "resources" / f"{APP_ID}.desktop").is_file()
    assert (ROOT / "resources" / f"{APP_ID}.metainfo.xml").is_file()
    assert ICON_NAME == APP_ID


def test_about_html_escapes_and_keeps_every_part():
    html = ABOUT.as_html("Qt 6.11.3 <offscreen>")
    assert html.startswith(f"<h3>mmhex {mmhex.__version__}</h3>")
    assert "<p>Qt 6.11.3 &lt;offscreen&gt;</p>" in html
    for part in (ABOUT.summary, "License: MIT", *ABOUT.third_party):
        assert part.replace("'", "&#x27;") in html
