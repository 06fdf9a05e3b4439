#!/usr/bin/env bash
# Build mmhex's installers offline, from this checkout:
#   packaging/build.sh [all|dists|bundle|deb]     (default: all)
#     dists   wheel + sdist                       -> OUT/dist/
#     bundle  PyInstaller one-folder bundle       -> OUT/bundle/mmhex/
#     deb     .deb of the bundle (builds bundle)  -> OUT/mmhex_VERSION_ARCH.deb
# OUT is packaging/out (or $MMHEX_BUILD_OUT). The Python used is $PYTHON (default: python3); it
# needs the `packaging` extra: pip install -e '.[packaging]'. The .deb also needs dpkg-dev
# (dpkg-shlibdeps computes its Depends) and binutils; desktop-file-utils and appstream, when
# present, validate the desktop entry and metainfo that go in it. Nothing here downloads.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${MMHEX_BUILD_OUT:-$ROOT/packaging/out}
PY=${PYTHON:-python3}
target=${1:-all}

case "$target" in
  all|dists|bundle|deb) ;;
  *) echo "usage: packaging/build.sh [all|dists|bundle|deb]" >&2; exit 2 ;;
esac

say() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: %s\n' "$*" >&2; exit 1; }

# The version is written once, in mmhex/__init__.py; read it from this checkout, not from
# whatever mmhex the interpreter might have installed.
version=$(cd "$ROOT" && "$PY" -c 'import mmhex; print(mmhex.__version__)')
app_id=$(cd "$ROOT" && "$PY" -c 'from mmhex.about import APP_ID; print(APP_ID)')
mkdir -p "$OUT"

build_dists() {
  say "wheel and sdist of mmhex $version"
  "$PY" -c 'import build' 2>/dev/null || die "$PY lacks 'build': pip install -e '.[packaging]'"
  rm -rf "$OUT/dist"
  # --no-isolation: use the installed setuptools instead of downloading a fresh one.
  (cd "$ROOT" && "$PY" -m build --no-isolation --outdir "$OUT/dist" . >"$OUT/dists.log" 2>&1) \
    || { tail -30 "$OUT/dists.log" >&2; die "python -m build failed (log: $OUT/dists.log)"; }
  ls "$OUT/dist"/mmhex-"$version"-*.whl "$OUT/dist"/mmhex-"$version".tar.gz >/dev/null
}

build_bundle() {
  say "PyInstaller bundle"
  "$PY" -c 'import PyInstaller' 2>/dev/null \
    || die "$PY lacks PyInstaller: pip install -e '.[packaging]'"
  rm -rf "$OUT/bundle"
  "$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$OUT/bundle" --workpath "$OUT/pyinstaller-work" "$ROOT/packaging/mmhex.spec"
  local reported
  reported=$("$OUT/bundle/mmhex/mmhex" --version)
  [ "$reported" = "mmhex $version" ] || die "bundle reports '$reported', expected 'mmhex $version'"
  say "bundle: $(du -sh "$OUT/bundle/mmhex" | cut -f1) in $OUT/bundle/mmhex"
}

# PEP 440 pre-releases sort before the release; Debian needs a tilde for that (1.0rc1 -> 1.0~rc1).
debian_version() {
  sed -E 's/^([0-9.]+)\.?((a|b|rc|dev)[0-9]*)/\1~\2/; s/\.post/+post/' <<<"$1"
}

# The release entry is added here so that the version stays in mmhex/__init__.py alone.
write_metainfo() {
  local date
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
  else
    date=$(git -C "$ROOT" log -1 --format=%cs 2>/dev/null || date -u +%F)
  fi
  VERSION="$version" DATE="$date" "$PY" - "$ROOT/resources/$app_id.metainfo.xml" "$1" <<'EOF'
import os
import sys

source, target = sys.argv[1], sys.argv[2]
text = open(source, encoding="utf-8").read()
release = (
    "  <releases>\n"
    f'    <release version="{os.environ["VERSION"]}" date="{os.environ["DATE"]}"/>\n'
    "  </releases>\n"
)
if text.count("</component>") != 1 or "<releases>" in text:
    sys.exit(f"{source}: expected one </component> and no <releases>")
open(target, "w", encoding="utf-8").write(text.replace("</component>", release + "</component>"))
EOF
}

build_deb() {
  command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"
  command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps is missing (apt-get install dpkg-dev)"
  [ -x "$OUT/bundle/mmhex/mmhex" ] || build_bundle
  local arch deb_version stage pkg
  arch=$(dpkg --print-architecture)
  deb_version=$(debian_version "$version")
  say ".deb of mmhex $deb_version ($arch)"
  # dpkg-shlibdeps finds the package's own (private) libraries by the DEBIAN folder of a
  # debian/<package>/ tree, so the staging area has that shape.
  stage="$OUT/deb-stage"
  pkg="$stage/debian/mmhex"
  rm -rf "$stage"
  install -d "$pkg/DEBIAN" "$pkg/opt" "$pkg/usr/bin" "$pkg/usr/share/applications" \
    "$pkg/usr/share/metainfo" "$pkg/usr/share/doc/mmhex" "$pkg/usr/share/icons/hicolor/scalable/apps"
  cp -a "$OUT/bundle/mmhex" "$pkg/opt/mmhex"
  install -m 755 "$ROOT/packaging/deb/mmhex.sh" "$pkg/usr/bin/mmhex"
  install -m 644 "$ROOT/resources/$app_id.desktop" "$pkg/usr/share/applications/"
  write_metainfo "$pkg/usr/share/metainfo/$app_id.metainfo.xml"
  chmod 644 "$pkg/usr/share/metainfo/$app_id.metainfo.xml"
  install -m 644 "$ROOT/resources/icons/mmhex.svg" \
    "$pkg/usr/share/icons/hicolor/scalable/apps/$app_id.svg"
  local png size
  for png in "$ROOT"/mmhex/resources/icons/mmhex-*.png; do
    size=$(basename "$png" .png)
    size=${size#mmhex-}
    install -D -m 644 "$png" "$pkg/usr/share/icons/hicolor/${size}x${size}/apps/$app_id.png"
  done
  install -m 644 "$ROOT/packaging/deb/copyright" "$pkg/usr/share/doc/mmhex/copyright"
  install -m 755 "$ROOT/packaging/deb/postinst" "$ROOT/packaging/deb/postrm" "$pkg/DEBIAN/"

  if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$pkg/usr/share/applications/$app_id.desktop"
  else
    say "desktop-file-validate not installed: desktop entry not validated"
  fi
  if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net --no-color "$pkg/usr/share/metainfo/$app_id.metainfo.xml" >&2
  else
    say "appstreamcli not installed: metainfo not validated"
  fi

  # Depends: the Debian packages of every system library the bundle links to, with the versions
  # their symbols need, plus a font (Qt draws no text without one).
  local elf_files shlibs depends
  mapfile -t elf_files < <(find "$pkg/opt/mmhex" -type f \( -name '*.so' -o -name '*.so.*' \
    -o -path "$pkg/opt/mmhex/mmhex" \))
  shlibs=$(cd "$stage" && printf 'Source: mmhex\n\nPackage: mmhex\nArchitecture: any\n' \
    >debian/control && dpkg-shlibdeps -O \
    -l"$pkg/opt/mmhex/_internal" -l"$pkg/opt/mmhex/_internal/PySide6/Qt/lib" \
    "${elf_files[@]/#/-e}" 2>"$OUT/shlibdeps.log") \
    || { tail -20 "$OUT/shlibdeps.log" >&2; die "dpkg-shlibdeps failed (log: $OUT/shlibdeps.log)"; }
  depends="${shlibs#shlibs:Depends=}, fonts-dejavu-core | fonts-freefont-ttf | fonts-liberation2"

  (cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$pkg/DEBIAN/md5sums"
  VERSION="$deb_version" ARCH="$arch" DEPENDS="$depends" \
    INSTALLED_SIZE="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)" \
    MAINTAINER="${DEBFULLNAME:-mmhex developers} <${DEBEMAIL:-mmhex@localhost}>" \
    "$PY" - "$ROOT/packaging/deb/control.in" "$pkg/DEBIAN/control" <<'EOF'
import os
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
text = re.sub(r"@([A-Z_]+)@", lambda match: os.environ[match.group(1)], text)
open(sys.argv[2], "w", encoding="utf-8").write(text)
EOF

  rm -f "$OUT"/mmhex_*.deb
  # zstd: xz takes ~80 s here for a few percent.
  dpkg-deb --root-owner-group -Zzstd -z3 --build "$pkg" \
    "$OUT/mmhex_${deb_version}_${arch}.deb" >/dev/null
  say "deb: $(du -h "$OUT/mmhex_${deb_version}_${arch}.deb" | cut -f1) $OUT/mmhex_${deb_version}_${arch}.deb"
}

case "$target" in
  all) build_dists; build_bundle; build_deb ;;
  dists) build_dists ;;
  bundle) build_bundle ;;
  deb) build_bundle; build_deb ;;
esac
