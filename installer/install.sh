#!/usr/bin/env bash
# Install PIAA Desktop for the current user, from an unpacked release tarball (no root needed).
#
#   ./install.sh                  # into ~/.local/share/piaa-desktop-app, menu entry, icons, ~/.local/bin links
#   PREFIX=/opt/piaa ./install.sh # somewhere else (the menu entry and icons still go to the user's XDG dirs)
#
# Your catalog, settings and personal models live in ~/.local/share/piaa-desktop (a different folder)
# and are never touched by install.sh or uninstall.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/piaa-desktop"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="${PREFIX:-$DATA_HOME/piaa-desktop-app}"
BIN="${BIN_DIR:-$HOME/.local/bin}"

if [[ ! -x "$SRC/piaa-desktop" ]]; then
  echo "install.sh: $SRC/piaa-desktop not found: run me from the unpacked tarball" >&2
  exit 1
fi
RES="$SRC/_internal/resources"
[[ -d "$RES" ]] || RES="$SRC/resources"

echo "Installing PIAA Desktop into $PREFIX"
mkdir -p "$(dirname "$PREFIX")" "$BIN"
# Copy next to the old install, then swap, so a failed copy never leaves a broken app behind.
TMP="$PREFIX.new.$$"
rm -rf "$TMP"
cp -a "$SRC" "$TMP"
if [[ -e "$PREFIX" ]]; then
  rm -rf "$PREFIX.old"
  mv "$PREFIX" "$PREFIX.old"
fi
mv "$TMP" "$PREFIX"
rm -rf "$PREFIX.old"

ln -sfn "$PREFIX/piaa-desktop" "$BIN/piaa-desktop"
ln -sfn "$PREFIX/piaa" "$BIN/piaa"

# Icons (hicolor theme) and the menu entry
for size in 16 32 48 64 128 256 512; do
  png="$RES/icons/piaa-desktop-$size.png"
  [[ -f "$png" ]] || continue
  dir="$DATA_HOME/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  cp "$png" "$dir/piaa-desktop.png"
done
if [[ -f "$RES/icons/piaa-desktop.svg" ]]; then
  mkdir -p "$DATA_HOME/icons/hicolor/scalable/apps"
  cp "$RES/icons/piaa-desktop.svg" "$DATA_HOME/icons/hicolor/scalable/apps/piaa-desktop.svg"
fi
mkdir -p "$DATA_HOME/applications"
# The .desktop entry with absolute paths, so it works even when ~/.local/bin is not on PATH
sed -e "s|^Exec=.*|Exec=\"$PREFIX/piaa-desktop\" %F|" \
    -e "s|^TryExec=.*|TryExec=$PREFIX/piaa-desktop|" \
    "$RES/piaa-desktop.desktop" > "$DATA_HOME/applications/piaa-desktop.desktop"

command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA_HOME/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" || true

echo "Done. Start \"PIAA Desktop\" from the applications menu, or run: $BIN/piaa-desktop"
case ":$PATH:" in
  *":$BIN:"*) ;;
  *) echo "(Add $BIN to your PATH to use the 'piaa' command-line tool.)" ;;
esac
