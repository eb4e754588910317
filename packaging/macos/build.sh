#!/usr/bin/env bash
# Build Hearth.app and Hearth-VERSION-macos-ARCH.dmg on macOS (Apple Silicon: Metal).
#
#   packaging/macos/build.sh        # PYTHON (default .venv/bin/python), MODEL as on Linux
#
# 1. a bundle venv (build/bundle-venv, packaging/bundle_venv.py) gets llama-cpp-python
#    built by packaging/llama_wheel.py once into ~/.cache/hearth-build/: on Apple
#    Silicon Metal with GGML_NATIVE=OFF (the M1 baseline, so it runs on every M chip),
#    on Intel Macs the x86 CPU variants; the dev venv stays as it is. HEARTH_KEEP_LLAMA=1
#    bundles PYTHON's own llama.cpp instead;  2. PyInstaller builds dist/Hearth.app
#    (icon, Info.plist);
# 3. the app's own self-test runs; 4. sign.sh signs and notarises when credentials are
# set (it says so and skips otherwise);  5. dmg.sh makes the drag-to-Applications image.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-.venv/bin/python}
MODEL=${MODEL:-${HEARTH_TEST_MODEL:-../shared/models/stories260K.gguf}}
VERSION=$("$PYTHON" -c 'import app; print(app.__version__)')
ARCH=$(uname -m)

if [[ "${HEARTH_KEEP_LLAMA:-0}" != 1 ]]; then
    PYTHON=$("$PYTHON" packaging/bundle_venv.py)
fi

"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/hearth.spec
APP=dist/Hearth.app

"$APP/Contents/MacOS/hearth" --self-test --model "$MODEL"

packaging/macos/sign.sh "$APP"
DMG="dist/Hearth-$VERSION-macos-$ARCH.dmg"
packaging/macos/dmg.sh "$APP" "$DMG"
packaging/macos/sign.sh --notarize "$DMG"
