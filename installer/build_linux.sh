#!/usr/bin/env bash
# Build the Linux one-folder bundle of PIAA Desktop and a tarball with an installer.
#
#   installer/build_linux.sh                  # inference-only (no torch): ~the size a photographer expects
#   FULL=1 installer/build_linux.sh           # with torch, for on-machine training (several GB, see README)
#   PYTHON=/path/to/python installer/build_linux.sh
#
# Needs PyInstaller in the Python that has the app's dependencies (pip install pyinstaller).
# Produces:
#   dist/piaa-desktop/                                 the bundle (run dist/piaa-desktop/piaa-desktop)
#   dist/piaa-desktop-<version>-linux-<arch>[-inference].tar.gz
#       piaa-desktop-<version>/{piaa-desktop/, install.sh, uninstall.sh, README.txt}
# The tarball's install.sh copies the bundle to ~/.local/share/piaa-desktop-app and adds the menu entry,
# the icons and ~/.local/bin/piaa-desktop and ~/.local/bin/piaa (no root needed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"

VERSION="$("$PYTHON" "$HERE/bundle_info.py" --version)"
ARCH="$(uname -m)"
if [[ "${FULL:-0}" == "1" ]]; then
  export INFERENCE_ONLY=0
  SUFFIX=""
else
  export INFERENCE_ONLY=1
  SUFFIX="-inference"
fi
DIST="${DISTPATH:-$ROOT/dist}"
WORK="${WORKPATH:-$ROOT/build/pyinstaller}"

echo "== PIAA Desktop $VERSION ($ARCH), INFERENCE_ONLY=$INFERENCE_ONLY"
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || {
  echo "PyInstaller is not installed for $PYTHON: $PYTHON -m pip install pyinstaller" >&2
  exit 2
}
"$PYTHON" "$HERE/render_icons.py" >/dev/null  # PNG icons up to date with the SVG

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath "$WORK" --distpath "$DIST" "$HERE/piaa-desktop.spec"

BUNDLE="$DIST/piaa-desktop"
echo "== self-test of the bundle"
QT_QPA_PLATFORM=offscreen PIAA_DATA_DIR="$(mktemp -d)" "$BUNDLE/piaa-desktop" --self-test >"$WORK/self-test.json"
grep -q '"ok": true' "$WORK/self-test.json" && echo "self-test ok"

STAGE="$(mktemp -d)"
PKG="piaa-desktop-$VERSION"
mkdir -p "$STAGE/$PKG"
cp -a "$BUNDLE" "$STAGE/$PKG/piaa-desktop"
cp "$HERE/install.sh" "$HERE/uninstall.sh" "$STAGE/$PKG/"
chmod +x "$STAGE/$PKG/install.sh" "$STAGE/$PKG/uninstall.sh"
# Files written with atomic_write (mkstemp) are 0600, e.g. models/manifest.json: make everything
# readable, so a system-wide install (PREFIX=/opt/...) works for every user.
chmod -R u+rwX,go+rX "$STAGE/$PKG"
cat >"$STAGE/$PKG/README.txt" <<EOF
PIAA Desktop $VERSION for Linux ($ARCH)$( [[ -n "$SUFFIX" ]] && echo ", inference-only build (no on-machine training)")

Install for this user (no root needed):   ./install.sh
Then start "PIAA Desktop" from the applications menu, or run: ~/.local/bin/piaa-desktop
Remove:                                   ./uninstall.sh   (your catalog and photos are kept)
Run without installing:                   ./piaa-desktop/piaa-desktop
EOF
TARBALL="$DIST/$PKG-linux-$ARCH$SUFFIX.tar.gz"
tar -C "$STAGE" -czf "$TARBALL" "$PKG"
rm -rf "$STAGE"

echo "== sizes"
du -sh "$BUNDLE" "$TARBALL"
echo "bundle:  $BUNDLE"
echo "tarball: $TARBALL"
