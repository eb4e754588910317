#!/usr/bin/env bash
# CI only: put the Developer ID certificate (base64 .p12 in MACOS_CERTIFICATE_P12,
# password in MACOS_CERTIFICATE_PASSWORD) into a temporary keychain for sign.sh.
# Without the secret it says so and does nothing (the build is then unsigned).
set -euo pipefail
if [[ -z "${MACOS_CERTIFICATE_P12:-}" ]]; then
    echo "no MACOS_CERTIFICATE_P12: the app will not be signed"
    exit 0
fi
KEYCHAIN="$RUNNER_TEMP/hearth-signing.keychain-db"
PASSWORD=$(uuidgen)
echo "$MACOS_CERTIFICATE_P12" | base64 --decode > "$RUNNER_TEMP/certificate.p12"
security create-keychain -p "$PASSWORD" "$KEYCHAIN"
security set-keychain-settings -lut 21600 "$KEYCHAIN"
security unlock-keychain -p "$PASSWORD" "$KEYCHAIN"
security import "$RUNNER_TEMP/certificate.p12" -P "$MACOS_CERTIFICATE_PASSWORD" \
    -A -t cert -f pkcs12 -k "$KEYCHAIN"
security set-key-partition-list -S apple-tool:,apple: -k "$PASSWORD" "$KEYCHAIN" >/dev/null
# shellcheck disable=SC2046  # the existing keychains, one word each
security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
rm -f "$RUNNER_TEMP/certificate.p12"
echo "certificate imported into $KEYCHAIN"
