#!/usr/bin/env bash
# Make a compressed .dmg with the usual layout: Hearth.app beside a link to /Applications.
#   packaging/macos/dmg.sh dist/Hearth.app dist/Hearth-VERSION-macos-ARCH.dmg
set -euo pipefail
APP=$1 DMG=$2
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname Hearth -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "dmg: $DMG ($(du -h "$DMG" | cut -f1))"
