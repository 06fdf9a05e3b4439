#!/usr/bin/env bash
# Set up mmhex on Debian 12 with nothing but Python 3.11, then run it or its tests.
#   scripts/setup.sh run [FILE[:OFFSET]] [OPTIONS]   system libraries Qt needs + venv + mmhex, then launch
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
  debootstrap dpkg-dev zstd fakeroot binutils procps xdotool appstream libglib2.0-bin shared-mime-info
  file gdisk e2fsprogs dosfstools genisoimage"

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

# shellcheck disable=SC2086
case "$action" in
  run)
    apt_install $runtime_pkgs
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check .
    exec .venv/bin/mmhex "$@"
    ;;
  test)
    apt_install $runtime_pkgs $test_pkgs
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,packaging]"
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: scripts/setup.sh run [FILE] | test [PYTEST ARGS]" >&2
    exit 2
    ;;
esac
