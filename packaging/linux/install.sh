#!/usr/bin/env bash
# Install this Hearth bundle for the current user: a launcher in ~/.local/bin, the menu
# entry and the icon. Run from the unpacked tarball:  ./install.sh   (./install.sh --remove)
# Conversations, settings and models live in your data folders, not here, so
# replacing this folder with a newer version keeps them.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${XDG_BIN_HOME:-$HOME/.local/bin}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}

if [[ "${1:-}" == "--remove" ]]; then
    rm -f "$BIN/hearth" "$DATA/applications/hearth.desktop" \
        "$DATA/icons/hicolor/256x256/apps/hearth.png"
    echo "Hearth's launcher and menu entry removed (your conversations are kept)."
    exit 0
fi

mkdir -p "$BIN" "$DATA/applications" "$DATA/icons/hicolor/256x256/apps"
ln -sf "$HERE/hearth" "$BIN/hearth"
cp "$HERE/hearth.png" "$DATA/icons/hicolor/256x256/apps/hearth.png"
sed "s|^Exec=.*|Exec=$HERE/hearth|" "$HERE/hearth.desktop" > "$DATA/applications/hearth.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "Hearth installed: find it in your applications menu, or run 'hearth'."
