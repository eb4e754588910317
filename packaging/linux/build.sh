#!/usr/bin/env bash
# Build Hearth's Linux one-folder bundle, prove it with its own self-test, then pack it:
# an AppImage when appimagetool is available, else a tarball with a .desktop file.
#
#   packaging/linux/build.sh                 # uses ./.venv/bin/python
#   PYTHON=/path/python MODEL=x.gguf packaging/linux/build.sh
#
# The bundle ships a portable llama.cpp, not the dev venv's -march=native one (which
# dies with SIGILL on older CPUs): packaging/llama_wheel.py builds it once (about 11 min
# on two cores) into ~/.cache/hearth-build/, and packaging/bundle_venv.py installs it
# in a separate venv, build/bundle-venv, with the dev venv's versions of everything
# else; that venv runs PyInstaller. `make run` stays native.
# HEARTH_NATIVE_BUNDLE=1 bundles PYTHON's own llama.cpp instead (quick, not portable).
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
if [[ "${HEARTH_NATIVE_BUNDLE:-0}" != 1 ]]; then
    PYTHON=$("$PYTHON" packaging/bundle_venv.py)
    echo "bundle venv ready in $(( $(date +%s) - started )) s: $PYTHON"
fi

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
