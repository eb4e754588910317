#!/usr/bin/env bash
# Build Hearth's Linux one-folder bundle, prove it with its own self-test, then pack it:
# an AppImage when appimagetool is available, else a tarball with a .desktop file.
#
#   packaging/linux/build.sh                 # uses ./.venv/bin/python
#   PYTHON=/path/python MODEL=x.gguf packaging/linux/build.sh
#
# MODEL (default $HEARTH_TEST_MODEL, else ../shared/models/stories260K.gguf; see
# packaging/fetch_test_model.sh) is the GGUF file the self-test loads.
# Output: dist/Hearth/ (the bundle), dist/hearth-VERSION-linux-ARCH.tar.gz and, with
# appimagetool on PATH (or APPIMAGETOOL=path), dist/Hearth-VERSION-ARCH.AppImage.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-.venv/bin/python}
MODEL=${MODEL:-${HEARTH_TEST_MODEL:-../shared/models/stories260K.gguf}}
VERSION=$("$PYTHON" -c 'import app; print(app.__version__)')
ARCH=$(uname -m)
BUNDLE=dist/Hearth

started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/hearth.spec
echo "bundle built in $(( $(date +%s) - started )) s: $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"

# The bundle proves itself before it is packed: llama.cpp, the model, the window.
"$BUNDLE/hearth" --self-test --model "$MODEL"

# Desktop integration files sit next to the executable (the tarball's install.sh and
# the AppImage both use them).
cp resources/hearth.desktop "$BUNDLE/hearth.desktop"
cp resources/icons/hearth-256.png "$BUNDLE/hearth.png"
cp packaging/linux/install.sh "$BUNDLE/install.sh"

TARBALL="dist/hearth-$VERSION-linux-$ARCH.tar.gz"
tar -C dist -czf "$TARBALL" Hearth
echo "tarball: $TARBALL ($(du -h "$TARBALL" | cut -f1))"

APPIMAGETOOL=${APPIMAGETOOL:-$(command -v appimagetool || true)}
if [[ -n "$APPIMAGETOOL" ]]; then
    packaging/linux/appimage.sh "$APPIMAGETOOL" "$BUNDLE" "dist/Hearth-$VERSION-$ARCH.AppImage"
else
    echo "appimagetool not found: no AppImage (the tarball has the same bundle)"
fi
