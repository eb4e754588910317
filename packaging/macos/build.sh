#!/usr/bin/env bash
# Build Hearth.app and Hearth-VERSION-macos-ARCH.dmg on macOS (Apple Silicon: Metal).
#
#   packaging/macos/build.sh        # PYTHON (default .venv/bin/python), MODEL as on Linux
#
# 1. llama-cpp-python is rebuilt with Metal (CMAKE_ARGS=-DGGML_METAL=on) unless
#    HEARTH_KEEP_LLAMA=1;  2. PyInstaller builds dist/Hearth.app (icon, Info.plist);
# 3. the app's own self-test runs; 4. sign.sh signs and notarises when credentials are
# set (it says so and skips otherwise);  5. dmg.sh makes the drag-to-Applications image.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-.venv/bin/python}
MODEL=${MODEL:-${HEARTH_TEST_MODEL:-../shared/models/stories260K.gguf}}
VERSION=$("$PYTHON" -c 'import app; print(app.__version__)')
ARCH=$(uname -m)

if [[ "${HEARTH_KEEP_LLAMA:-0}" != 1 ]]; then
    LLAMA=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')
    CMAKE_ARGS="-DGGML_METAL=on" "$PYTHON" -m pip install --force-reinstall --no-deps \
        --no-binary llama-cpp-python "llama-cpp-python==$LLAMA"
fi

"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/hearth.spec
APP=dist/Hearth.app

"$APP/Contents/MacOS/hearth" --self-test --model "$MODEL"

packaging/macos/sign.sh "$APP"
DMG="dist/Hearth-$VERSION-macos-$ARCH.dmg"
packaging/macos/dmg.sh "$APP" "$DMG"
packaging/macos/sign.sh --notarize "$DMG"
