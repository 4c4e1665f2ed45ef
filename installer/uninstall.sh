#!/usr/bin/env bash
# Remove PIAA Desktop installed by install.sh. Your catalog, settings and personal models
# (~/.local/share/piaa-desktop, ~/.config/piaa-desktop, ~/.cache/piaa-desktop) and your photos are kept.
set -euo pipefail

DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="${PREFIX:-$DATA_HOME/piaa-desktop-app}"
BIN="${BIN_DIR:-$HOME/.local/bin}"

for link in "$BIN/piaa-desktop" "$BIN/piaa"; do
  # only our own links: never a file someone else put there
  if [[ -L "$link" && "$(readlink "$link")" == "$PREFIX/"* ]]; then rm -f "$link"; fi
done
rm -f "$DATA_HOME/applications/piaa-desktop.desktop"
for size in 16 32 48 64 128 256 512; do
  rm -f "$DATA_HOME/icons/hicolor/${size}x${size}/apps/piaa-desktop.png"
done
rm -f "$DATA_HOME/icons/hicolor/scalable/apps/piaa-desktop.svg"
if [[ -x "$PREFIX/piaa-desktop" ]]; then rm -rf "$PREFIX"; fi
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA_HOME/applications" || true
echo "PIAA Desktop removed. Your catalog and settings in $DATA_HOME/piaa-desktop were kept."
