#!/usr/bin/env bash
# Draft a GitHub release for TAG with every installer in DIR (the release workflow's
# last step; needs the gh CLI and GH_TOKEN). A person reviews and publishes the draft.
#   packaging/publish.sh v0.1.0 dist
set -euo pipefail
TAG=$1 DIR=$2
shopt -s nullglob
FILES=("$DIR"/*.tar.gz "$DIR"/*.AppImage "$DIR"/*.dmg "$DIR"/*-setup.exe)
if (( ${#FILES[@]} == 0 )); then
    echo "no installers in $DIR" >&2
    exit 1
fi
(cd "$DIR" && sha256sum -- "${FILES[@]##*/}") > "$DIR/SHA256SUMS"
gh release create "$TAG" --draft --title "Hearth ${TAG#v}" --generate-notes \
    "${FILES[@]}" "$DIR/SHA256SUMS"
