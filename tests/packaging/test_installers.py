"""End to end: packaging/build.sh makes the wheel, sdist, bundle and .deb; pipx installs the wheel;
the .deb goes into a clean Debian root with `apt-get install ./mmhex_*.deb`, where the installed
mmhex runs, opens a 1 TiB sparse file offscreen and under Xvfb, its desktop entry opens a file
through `gio launch`, and `apt-get purge` leaves nothing behind.

Slow (a few minutes on 2 cores); CI runs it. Outside CI, a machine without root, debootstrap or
PyInstaller skips it; in CI (CI=true) a missing prerequisite fails instead.

The window checks rely on one hook of the viewer: with MMHEX_EXIT_AFTER_FIRST_PAINT=1 the app
prints a line containing ``first-paint`` on stdout after its first paint and exits 0.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

import mmhex
from mmhex.about import APP_ID
from tests.packaging.clean_root import CleanRoot, free_x_display, missing_prerequisites

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VERSION = mmhex.__version__
IN_CI = bool(os.environ.get("CI"))
FIRST_PAINT = {"MMHEX_EXIT_AFTER_FIRST_PAINT": "1"}
SPARSE_SIZE = 1 << 40  # 1 TiB
SPARSE_FILE = "/tmp/one-tebibyte.bin"
DESKTOP_ENTRY = f"/usr/share/applications/{APP_ID}.desktop"
# What Qt needs from Debian (measured in a bare minbase root, see platform-facts.md).
QT_SYSTEM_PACKAGES = [
    *("libgl1", "libegl1", "libx11-6", "libdbus-1-3", "libfontconfig1", "libxkbcommon0"),
    *("libglib2.0-0", "libxcb1", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0"),
    *("libxcb-keysyms1", "libxcb-render-util0", "libxcb-shape0", "libxcb-xkb1"),
    "libxkbcommon-x11-0",
]


def _viewer_present() -> bool:
    try:
        return importlib.util.find_spec("mmhex.ui.app") is not None
    except ModuleNotFoundError:
        return False


HAS_VIEWER = _viewer_present()
needs_viewer = pytest.mark.skipif(
    not HAS_VIEWER, reason="mmhex.ui.app (the viewer) is not in this checkout yet"
)


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the installer test, but: {reason}")
    pytest.skip(reason)


def debian_version(version: str) -> str:
    """What build.sh makes of a PEP 440 version (pre-releases sort first with a tilde)."""
    return re.sub(r"^([\d.]+?)\.?((?:a|b|rc|dev)\d*)", r"\1~\2", version).replace(".post", "+post")


# -- building ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def build_out(tmp_path_factory) -> Path:
    for module in ("PyInstaller", "build", "setuptools", "wheel"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"{module} is not installed: pip install -e '.[packaging]'")
    for tool in ("dpkg-deb", "dpkg-shlibdeps", "readelf"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    out = tmp_path_factory.mktemp("build-out")
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "packaging" / "build.sh"), "all"],
        env={**os.environ, "PYTHON": sys.executable, "MMHEX_BUILD_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    print(f"\nbuild.sh all: {time.monotonic() - started:.0f} s")
    return out


def the_deb(out: Path) -> Path:
    debs = list(out.glob("mmhex_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def test_build_makes_wheel_sdist_bundle_and_deb(build_out):
    assert (build_out / "dist" / f"mmhex-{VERSION}-py3-none-any.whl").is_file()
    assert (build_out / "dist" / f"mmhex-{VERSION}.tar.gz").is_file()
    assert the_deb(build_out).name.startswith(f"mmhex_{debian_version(VERSION)}_")
    bundle = build_out / "bundle" / "mmhex"
    version = subprocess.run(
        [str(bundle / "mmhex"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == f"mmhex {VERSION}", version.stderr


def test_bundle_headless_commands_load_no_qt(build_out, tmp_path):
    """PyInstaller's Qt run-time hook loads QtCore and ICU (80 ms of every launch): the bundle
    runs it only before the window starts (packaging/mmhex.spec, pyinstaller_entry.py)."""
    bundle = build_out / "bundle" / "mmhex"
    assert any("pyi_rth_pyside6" in p.name for p in (bundle / "_internal").rglob("*.py"))
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(64)))
    for argv in (["--version"], ["dump", "-n", "16", str(data)]):
        run = subprocess.run(
            [str(bundle / "mmhex"), *argv],
            env={**os.environ, "LD_DEBUG": "files"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert "calling init" in run.stderr  # the loader reports: the check below means something
        assert "libQt6Core" not in run.stderr, argv


def test_bundle_is_trimmed_to_the_qt_mmhex_uses(build_out):
    bundle = build_out / "bundle" / "mmhex"
    files = [path for path in bundle.rglob("*") if path.is_file() and not path.is_symlink()]
    size_mb = sum(path.stat().st_size for path in files) / 1e6
    print(f"\nbundle: {size_mb:.0f} MB in {len(files)} files")
    names = {path.name for path in files}
    qt = bundle / "_internal" / "PySide6" / "Qt"
    assert not (qt / "translations").exists()
    assert {p.name for p in (qt / "plugins" / "platforms").iterdir()} == {
        "libqxcb.so",
        "libqoffscreen.so",
    }
    for unused in ("Qml", "Quick", "WaylandClient", "Pdf", "OpenGL"):
        assert f"libQt6{unused}.so.6" not in names
    # Network: QLocalServer hands a second `mmhex FILE` to the running window (ui/instance.py).
    for used in ("Core", "Gui", "Widgets", "XcbQpa", "DBus", "Network"):
        assert f"libQt6{used}.so.6" in names
    # System libraries come from Debian (the .deb's Depends), not from the build machine.
    for system_library in (
        "libstdc++.so.6",
        "libfontconfig.so.1",
        "libX11.so.6",
        "libglib-2.0.so.0",
    ):
        assert system_library not in names
    # Stripped: no symbol table left in the biggest Qt library.
    sections = subprocess.run(
        ["readelf", "-S", "-W", str(qt / "lib" / "libQt6Gui.so.6")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".symtab" not in sections
    assert size_mb < 130, "PySide6-Essentials alone is 246 MB; the trimmed bundle was ~96 MB"
    dangling = [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    assert dangling == []


def test_wheel_and_sdist_carry_every_module_and_the_icons(build_out):
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "mmhex").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(build_out / "dist" / f"mmhex-{VERSION}-py3-none-any.whl") as wheel:
        in_wheel = set(wheel.namelist())
        metadata = wheel.read(f"mmhex-{VERSION}.dist-info/METADATA").decode()
    assert sources <= in_wheel, sources - in_wheel
    assert "Requires-Dist: PySide6-Essentials" in metadata
    with tarfile.open(build_out / "dist" / f"mmhex-{VERSION}.tar.gz") as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in (
        "resources/icons/mmhex.svg",
        f"resources/{APP_ID}.desktop",
        f"resources/{APP_ID}.metainfo.xml",
        "packaging/build.sh",
        "packaging/mmhex.spec",
        "mmhex/resources/icons/mmhex-256.png",
    ):
        assert needed in in_sdist


def test_deb_metadata_and_contents(build_out, tmp_path):
    deb = the_deb(build_out)
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: mmhex\n" in fields
    assert f"Version: {debian_version(VERSION)}\n" in fields
    depends = {
        alternative.split()[0]
        for item in fields.split("Depends:", 1)[1].split(",")
        for alternative in item.split("|")
    }
    assert set(QT_SYSTEM_PACKAGES) <= depends, set(QT_SYSTEM_PACKAGES) - depends
    assert "fonts-dejavu-core" in depends
    assert "libmagic1" in depends  # loaded by ctypes (python-magic): shlibdeps cannot see it
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    for path in (
        "opt/mmhex/mmhex",
        "usr/bin/mmhex",
        f"usr/share/applications/{APP_ID}.desktop",
        f"usr/share/metainfo/{APP_ID}.metainfo.xml",
        f"usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
        "usr/share/doc/mmhex/copyright",
        *(f"usr/share/icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in (16, 24, 32, 48, 64)),
        *(f"usr/share/icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in (128, 256, 512)),
    ):
        assert (tmp_path / path).is_file(), path
    assert os.access(tmp_path / "usr/bin/mmhex", os.X_OK)
    metainfo = (tmp_path / f"usr/share/metainfo/{APP_ID}.metainfo.xml").read_text()
    assert f'<release version="{VERSION}"' in metainfo
    if shutil.which("appstreamcli"):
        check = subprocess.run(
            [
                "appstreamcli",
                "validate",
                "--no-net",
                "--no-color",
                str(tmp_path / f"usr/share/metainfo/{APP_ID}.metainfo.xml"),
            ],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout
    print(f"\n{deb.name}: {deb.stat().st_size / 1e6:.0f} MB")


# -- pipx -------------------------------------------------------------------------------------
def test_pipx_install_of_the_wheel_gives_a_working_mmhex(build_out, tmp_path):
    if importlib.util.find_spec("pipx") is None:
        unavailable("pipx is not installed: pip install -e '.[packaging]'")
    wheel = build_out / "dist" / f"mmhex-{VERSION}-py3-none-any.whl"
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.pop("PYTHONPATH", None)
    install = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    mmhex_command = tmp_path / "bin" / "mmhex"
    # Run from elsewhere so that this checkout cannot stand in for the installed package.
    version = subprocess.run(
        [str(mmhex_command), "--version"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert version.stdout.strip() == f"mmhex {VERSION}", version.stderr
    venv_python = tmp_path / "pipx" / "venvs" / "mmhex" / "bin" / "python"
    icon = subprocess.run(
        [
            str(venv_python),
            "-c",
            "import mmhex.ui.icons as i, sys; from PySide6.QtGui import QGuiApplication; "
            "app = QGuiApplication([]); icon = i.app_icon(); "
            "assert i.__file__.startswith(sys.prefix), i.__file__; "
            "print(sorted(s.width() for s in icon.availableSizes()))",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert icon.returncode == 0, icon.stderr
    assert icon.stdout.strip() == "[16, 24, 32, 48, 64, 128, 256, 512]"
    if HAS_VIEWER:
        sparse = tmp_path / "sparse.bin"
        with open(sparse, "wb") as handle:
            handle.truncate(SPARSE_SIZE)
        opened = subprocess.run(
            [str(mmhex_command), str(sparse)],
            env={**env, **FIRST_PAINT},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert opened.returncode == 0 and "first-paint" in opened.stdout, opened.stderr


# -- the clean root -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_root(tmp_path_factory):
    reason = missing_prerequisites()
    if reason:
        unavailable(reason)
    started = time.monotonic()
    root = CleanRoot.create(tmp_path_factory.mktemp("clean-root").resolve() / "root")
    try:
        print(f"\nclean root ready in {time.monotonic() - started:.0f} s")
        yield root
    finally:
        root.close()


@pytest.fixture(scope="module")
def installed(clean_root, build_out):
    """The .deb installed the way its README says, into the bare root: apt resolves Depends."""
    deb = the_deb(build_out)
    shutil.copy(deb, clean_root.host_path(f"/tmp/{deb.name}"))
    started = time.monotonic()
    clean_root.run("apt-get update -q", timeout=300)
    clean_root.run(f"apt-get install -y -q /tmp/{deb.name}", timeout=600)
    print(f"\napt-get install of the .deb: {time.monotonic() - started:.0f} s")
    clean_root.run(f"truncate -s {SPARSE_SIZE} {SPARSE_FILE}")
    return clean_root


@pytest.fixture(scope="module")
def desktop_tools(installed, build_out):
    """A virtual screen and the desktop tools: Xvfb, xprop, gio, update-desktop-database. mmhex
    is installed again afterwards so its postinst meets the tools."""
    deb = the_deb(build_out)
    installed.run(
        "apt-get install -y -q --no-install-recommends xvfb xauth x11-utils libglib2.0-bin "
        "desktop-file-utils shared-mime-info",
        timeout=600,
    )
    installed.run(f"apt-get install -y -q --reinstall /tmp/{deb.name}", timeout=300)
    return installed


def test_installed_bundle_finds_every_library_it_links(installed):
    result = installed.run(
        "find /opt/mmhex -type f \\( -name '*.so' -o -name '*.so.*' -o -path /opt/mmhex/mmhex \\)"
        " -exec ldd {} +",
        timeout=120,
    )
    missing = [line.strip() for line in result.stdout.splitlines() if "not found" in line]
    assert missing == []


def test_installed_mmhex_reports_the_version(installed):
    assert installed.run("command -v mmhex").stdout.strip() == "/usr/bin/mmhex"
    assert installed.run("mmhex --version").stdout.strip() == f"mmhex {VERSION}"
    package_version = installed.run("dpkg-query -W -f='${Version}' mmhex").stdout
    assert package_version == debian_version(VERSION)


@needs_viewer
def test_installed_mmhex_opens_a_1tib_sparse_file_offscreen(installed):
    result = installed.run(
        f"mmhex {SPARSE_FILE}", env={"QT_QPA_PLATFORM": "offscreen", **FIRST_PAINT}, timeout=90
    )
    assert "first-paint" in result.stdout, result.stdout + result.stderr
    assert installed.host_path(SPARSE_FILE).stat().st_size == SPARSE_SIZE


@needs_viewer
def test_installed_mmhex_opens_a_1tib_sparse_file_under_xvfb(desktop_tools):
    display = free_x_display()
    result = desktop_tools.run(
        f"xvfb-run -n {display} -s '-screen 0 1280x800x24' mmhex {SPARSE_FILE}",
        env={"QT_QPA_PLATFORM": "xcb", **FIRST_PAINT},
        timeout=120,
    )
    assert "first-paint" in result.stdout, result.stdout + result.stderr


# Starts mmhex, waits for its top-level window (_NET_WM_PID is the app) to carry an icon, prints
# the window's class and icon sizes, and stops the app.
WINDOW_ICON_PROBE = r"""
mmhex "$1" &
app=$!
tries=0
while [ $tries -lt 150 ]; do
  for window in $(xwininfo -root -children | sed -n 's/^ *\(0x[0-9a-f]*\) .*/\1/p'); do
    pid=$(xprop -id "$window" _NET_WM_PID 2>/dev/null | sed -n 's/.* = //p')
    if [ "$pid" = "$app" ] && xprop -id "$window" _NET_WM_ICON | grep -q 'Icon ('; then
      xprop -id "$window" WM_CLASS
      xprop -id "$window" _NET_WM_ICON | grep -o 'Icon ([0-9]* x [0-9]*)'
      kill $app
      exit 0
    fi
  done
  sleep 0.2
  tries=$((tries + 1))
done
kill $app
exit 1
"""


def viewer_sets_the_window_icon() -> bool:
    """Whether mmhex.ui.app's QApplication carries an icon (in a separate, offscreen process)."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mmhex.ui.app import application; print(application().windowIcon().isNull())",
        ],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.strip() == "False"


@needs_viewer
def test_installed_window_carries_the_packaged_icon(desktop_tools):
    """The title bar's icon comes from the installed package (X11 reads _NET_WM_ICON), and the
    window class matches the desktop entry's StartupWMClass."""
    if not viewer_sets_the_window_icon():
        pytest.skip(
            "mmhex.ui.app.application() sets no window icon yet: it should call "
            "mmhex.ui.icons.apply_desktop_identity(app)"
        )
    desktop_tools.host_path("/tmp/window-icon-probe.sh").write_text(WINDOW_ICON_PROBE)
    display = free_x_display()
    result = desktop_tools.run(
        f"xvfb-run -n {display} -s '-screen 0 1280x800x24' "
        f"sh /tmp/window-icon-probe.sh {SPARSE_FILE}",
        env={"QT_QPA_PLATFORM": "xcb"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"no mmhex window with an icon:\n{result.stdout}{result.stderr}"
    entry = desktop_tools.host_path(DESKTOP_ENTRY).read_text()
    wm_class = re.search(r"^StartupWMClass=(.+)$", entry, re.M).group(1)
    assert re.search(rf'^WM_CLASS\(STRING\) = .*"{re.escape(wm_class)}"', result.stdout, re.M)
    sizes = set(re.findall(r"Icon \((\d+) x \d+\)", result.stdout))
    assert {"16", "32", "48", "64", "128"} <= sizes, result.stdout


def test_desktop_entry_is_registered_for_binary_files(desktop_tools):
    cache = desktop_tools.host_path("/usr/share/applications/mimeinfo.cache").read_text()
    assert re.search(rf"^application/octet-stream=.*\b{re.escape(APP_ID)}\.desktop;", cache, re.M)
    handlers = desktop_tools.run("gio mime application/octet-stream").stdout
    assert f"{APP_ID}.desktop" in handlers
    info = desktop_tools.run(f"gio info -a standard::content-type {DESKTOP_ENTRY}").stdout
    assert "application/x-desktop" in info


def process_that_opens(root: CleanRoot, script: str, path: str, env: dict[str, str]) -> int | None:
    """Run ``script`` in ``root`` under Xvfb and return the pid of an installed mmhex that holds
    ``path`` open (MappedFile keeps its descriptor), or None after a minute; stops what it ran."""
    display = free_x_display()
    launcher = subprocess.Popen(
        root.command(
            f"xvfb-run -n {display} -s '-screen 0 1280x800x24' sh -c '{script} && sleep 120'",
            env=env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    app_exe = root.host_path("/opt/mmhex/mmhex")
    wanted = {str(root.host_path(path)), path}
    opener = None
    try:
        deadline = time.monotonic() + 60
        while opener is None and time.monotonic() < deadline and launcher.poll() is None:
            for pid in root.processes():
                try:
                    if Path(os.readlink(f"/proc/{pid}/exe")) != app_exe:
                        continue
                    held = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
                except OSError:
                    continue
                if held & wanted:
                    opener = pid
            time.sleep(0.2)
    finally:
        if opener is not None:
            os.kill(opener, signal.SIGTERM)
        os.killpg(launcher.pid, signal.SIGTERM)
        output = launcher.communicate(timeout=30)[0]
    if opener is None:
        print(f"`{script}` opened no mmhex holding {path}; its output:\n{output}")
    return opener


@needs_viewer
def test_gio_launch_of_the_desktop_entry_opens_the_file(desktop_tools):
    """What a file manager's "Open With mmhex" does: the launched mmhex holds the file open."""
    script = f"gio launch {DESKTOP_ENTRY} {SPARSE_FILE}"
    env = {"QT_QPA_PLATFORM": "xcb"}
    assert process_that_opens(desktop_tools, script, SPARSE_FILE, env) is not None


@needs_viewer
def test_gio_open_uses_mmhex_once_it_is_the_default_for_binary_files(desktop_tools):
    """A double-click: `gio open` of a binary file, with mmhex as the default application."""
    desktop_tools.run(f"gio mime application/octet-stream {APP_ID}.desktop")
    content_type = desktop_tools.run(f"gio info -a standard::content-type {SPARSE_FILE}").stdout
    assert "application/octet-stream" in content_type
    script = f"gio open {SPARSE_FILE}"
    env = {"QT_QPA_PLATFORM": "xcb"}
    assert process_that_opens(desktop_tools, script, SPARSE_FILE, env) is not None


def test_purge_leaves_nothing_behind(installed):
    installed.run("apt-get purge -y -q mmhex", timeout=300)
    status = installed.run("dpkg-query -W -f='${Status}' mmhex", check=False)
    assert "installed" not in status.stdout.replace("not-installed", "")
    for gone in ("/opt/mmhex", "/usr/bin/mmhex", DESKTOP_ENTRY, "/usr/share/doc/mmhex"):
        assert not installed.host_path(gone).exists(), gone
    # No file or folder anywhere in the system is named after mmhex, except the user's own
    # settings under /root and the test's file in /tmp.
    leftovers = installed.run(
        "find / -xdev \\( -path /proc -o -path /tmp -o -path /root \\) -prune "
        "-o \\( -iname '*mmhex*' -print \\)"
    ).stdout.split()
    assert leftovers == []
    # ... and no cache still points at it.
    mentions = installed.run(
        "grep -rl mmhex /usr/share/applications /usr/share/icons /usr/share/mime "
        "/usr/share/metainfo 2>/dev/null || true"
    ).stdout.split()
    assert mentions == []
