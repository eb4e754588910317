#!/usr/bin/env bash
# Turn the one-folder bundle into an AppImage.
#   packaging/linux/appimage.sh APPIMAGETOOL BUNDLE_DIR OUTPUT.AppImage
# Called by packaging/linux/build.sh when appimagetool is available (it is not on
# PyPI or Debian; the release workflow downloads it).
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOL=$1 BUNDLE=$2 OUTPUT=$3
APPDIR=build/Hearth.AppDir

rm -rf "$APPDIR"
mkdir -p "$APPDIR/usr/bin" "$APPDIR/usr/share/applications" \
    "$APPDIR/usr/share/icons/hicolor/256x256/apps"
cp -a "$BUNDLE/." "$APPDIR/usr/bin/"
cp resources/hearth.desktop "$APPDIR/hearth.desktop"
cp resources/hearth.desktop "$APPDIR/usr/share/applications/hearth.desktop"
cp resources/icons/hearth-256.png "$APPDIR/hearth.png"
cp resources/icons/hearth-256.png "$APPDIR/usr/share/icons/hicolor/256x256/apps/hearth.png"
cat > "$APPDIR/AppRun" <<'RUN'
#!/bin/sh
HERE=$(dirname "$(readlink -f "$0")")
exec "$HERE/usr/bin/hearth" "$@"
RUN
chmod +x "$APPDIR/AppRun"
ARCH=$(uname -m) "$TOOL" --no-appstream "$APPDIR" "$OUTPUT"
echo "AppImage: $OUTPUT ($(du -h "$OUTPUT" | cut -f1))"
