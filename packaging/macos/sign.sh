#!/usr/bin/env bash
# Sign Hearth.app (hardened runtime), or notarise and staple a .dmg: only when the
# credentials are in the environment; otherwise say what is skipped and succeed.
#
#   packaging/macos/sign.sh dist/Hearth.app            # needs MACOS_SIGN_IDENTITY
#   packaging/macos/sign.sh --notarize dist/Hearth.dmg # needs MACOS_SIGN_IDENTITY and
#                                                      # APPLE_ID, APPLE_TEAM_ID,
#                                                      # APPLE_APP_PASSWORD
# MACOS_SIGN_IDENTITY is the "Developer ID Application: NAME (TEAM)" certificate in the
# login keychain (the release workflow imports it from MACOS_CERTIFICATE_P12).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [[ "${1:-}" == "--notarize" ]]; then
    DMG=$2
    if [[ -z "${MACOS_SIGN_IDENTITY:-}" || -z "${APPLE_ID:-}" || -z "${APPLE_TEAM_ID:-}" \
          || -z "${APPLE_APP_PASSWORD:-}" ]]; then
        echo "notarisation skipped: APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD or" \
             "MACOS_SIGN_IDENTITY not set (the dmg is not notarised)"
        exit 0
    fi
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"
    xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
        --password "$APPLE_APP_PASSWORD" --wait
    xcrun stapler staple "$DMG"
    echo "notarised and stapled: $DMG"
    exit 0
fi

APP=$1
if [[ -z "${MACOS_SIGN_IDENTITY:-}" ]]; then
    echo "signing skipped: MACOS_SIGN_IDENTITY not set (the app is unsigned; Gatekeeper" \
         "will ask users to open it from the context menu)"
    exit 0
fi
# Sign the inside first (every library and executable), then the bundle itself.
find "$APP/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -perm -u+x \) -print0 |
    xargs -0 codesign --force --timestamp --options runtime \
        --entitlements "$HERE/entitlements.plist" --sign "$MACOS_SIGN_IDENTITY"
codesign --force --timestamp --options runtime --entitlements "$HERE/entitlements.plist" \
    --sign "$MACOS_SIGN_IDENTITY" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"
echo "signed: $APP"
