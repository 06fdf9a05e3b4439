#!/usr/bin/env bash
# Set up mmhex on Debian 12 with nothing but Python 3.11, then run it or its tests.
#   scripts/setup.sh run [FILE[:OFFSET]...] [OPTIONS] system libraries Qt needs + venv + mmhex + a
#                                                    ~/.local/bin/mmhex launcher, then launch
#   scripts/setup.sh install                         the same without launching
#   scripts/setup.sh test [PYTEST ARGS]              also the reference tools the tests compare with,
#                                                    then the whole test suite (offscreen)
# Needs root or sudo only to apt-get install what is missing; everything else lives in .venv/.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-run}
[ $# -gt 0 ] && shift

# What Qt's xcb/offscreen plugins load (found in a bare debootstrap minbase root), plus fonts.
runtime_pkgs="libglib2.0-0 libegl1 libgl1 libx11-6 libx11-xcb1 libdbus-1-3 libfontconfig1 libxkbcommon0
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0
  libxcb-xkb1 libxcb-randr0 libxkbcommon-x11-0 fonts-dejavu-core
  libmagic1"  # libmagic1: the file type (python-magic loads it with ctypes)
# Reference tools the tests compare against, a virtual screen, and what the installer test uses.
test_pkgs="xxd bsdextrautils util-linux-extra ripgrep vmtouch xvfb xauth desktop-file-utils
  debootstrap dpkg-dev zstd fakeroot binutils procps xdotool xclip appstream libglib2.0-bin
  shared-mime-info file gdisk e2fsprogs dosfstools genisoimage"

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

python=${PYTHON:-python3}
# Debian's own python3 needs python3-venv for `-m venv`; other builds carry ensurepip.
"$python" -c "import ensurepip" 2>/dev/null || apt_install python3-venv

# Install mmhex (editable: source changes need no reinstall) with ``extras`` into .venv, unless
# the stamp says this very pyproject.toml was installed with at least these extras.
install_mmhex() {
  local extras=$1 stamp=.venv/.mmhex-installed want
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
  if [ -f "$stamp" ] && { [ "$(cat "$stamp")" = "$want" ] ||
      { [ -z "$extras" ] && [ "$(cut -d' ' -f1 "$stamp")" = "${want% }" ]; }; }; then
    return 0
  fi
  echo "setup: installing mmhex into .venv" >&2
  # editable_mode=compat: a plain path entry in a .pth file. The default (strict-finder) mode
  # installs an import hook that imports re, enum, pathlib and urllib into every Python started
  # in .venv: `python -c pass` took 16 ms instead of 8, and `mmhex dump` twice as long.
  .venv/bin/python -m pip install -q --disable-pip-version-check \
    --config-settings editable_mode=compat -e ".${extras:+[$extras]}"
  echo "$want" > "$stamp"
}

# A ``mmhex`` command for new shells: /usr/local/bin for root, else ~/.local/bin (on PATH through
# Debian's default ~/.profile once the folder exists: from the next login on).
install_launcher() {
  local bin="$HOME/.local/bin" marker="# mmhex launcher"
  [ "$(id -u)" -eq 0 ] && bin=/usr/local/bin
  bin=${MMHEX_LAUNCHER_DIR:-$bin}
  local launcher="$bin/mmhex"
  mkdir -p "$bin"
  if [ -e "$launcher" ] && ! grep -q "$marker" "$launcher"; then
    echo "setup: $launcher exists and is not ours; left alone (run .venv/bin/mmhex)" >&2
    return 0
  fi
  printf '#!/bin/sh\n%s (scripts/setup.sh run wrote it)\nexec "%s/.venv/bin/mmhex" "$@"\n' \
    "$marker" "$PWD" > "$launcher.tmp"
  chmod 755 "$launcher.tmp"
  mv "$launcher.tmp" "$launcher"
  case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "setup: $bin is not on PATH yet; log in again or run: export PATH=\"$bin:\$PATH\"" >&2 ;;
  esac
}

# shellcheck disable=SC2086
case "$action" in
  run)
    apt_install $runtime_pkgs
    install_mmhex ""
    install_launcher
    exec .venv/bin/mmhex "$@"
    ;;
  install)
    apt_install $runtime_pkgs
    install_mmhex ""
    install_launcher
    ;;
  test)
    apt_install $runtime_pkgs $test_pkgs
    install_mmhex "test,packaging"
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: scripts/setup.sh run [FILE...] | install | test [PYTEST ARGS]" >&2
    exit 2
    ;;
esac
