#!/usr/bin/env bash
# Prepare a fresh Ubuntu/Debian CI runner for packaging/linux/build.sh: a compiler for
# the portable llama.cpp, qemu-user for tests/core/test_portable.py, the libraries
# Qt needs at run time (the self-test opens the window offscreen), FUSE for AppImages,
# and appimagetool (not packaged by Debian/PyPI) in build/tools/. Needs root (sudo).
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=$([[ $(id -u) == 0 ]] && echo "" || echo sudo)
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
    libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 file \
    qemu-user build-essential
# AppImages run through FUSE 2 (Ubuntu 24.04 renamed the package).
$SUDO apt-get install -y -q libfuse2 || $SUDO apt-get install -y -q libfuse2t64
mkdir -p build/tools
TOOL=build/tools/appimagetool
if [[ ! -x "$TOOL" ]]; then
    curl -fsSL -o "$TOOL" \
        "https://github.com/AppImage/appimagetool/releases/download/continuous/appimagetool-$(uname -m).AppImage"
    chmod +x "$TOOL"
fi
echo "appimagetool: $TOOL"
