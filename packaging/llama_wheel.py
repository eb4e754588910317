"""Build (once) and print the path of a portable llama-cpp-python wheel for the bundles.

    python packaging/llama_wheel.py                  # prints .../llama_cpp_python-*.whl
    python packaging/llama_wheel.py --cmake-args="-DGGML_CUDA=on ..."   # other flags

The dev venv's llama.cpp is compiled for the build machine's CPU (-march=native); a
bundle that ships it dies with SIGILL on any CPU lacking one of those instructions. The
bundles ship llama.cpp the way Ollama and LM Studio do: GGML_NATIVE=OFF, the CPU backend
as loadable libraries (GGML_BACKEND_DL) in one variant per CPU generation
(GGML_CPU_ALL_VARIANTS: sse42, haswell, skylakex, sapphirerapids, ...), of which
app/core/inference/backends.py loads the best one the CPU can run.

pip's wheel cache is keyed by name and version, not by CMAKE_ARGS, so a portable wheel
must neither come from it (that would be the native one) nor go into it (the next dev
install would get the portable one). This script builds with --no-cache-dir into a
Hearth-owned folder named after a hash of version, flags and platform:
$HEARTH_BUILD_CACHE (default ~/.cache/hearth-build)/llama-portable-HASH/, and reuses
the wheel found there. The build needs a C/C++ compiler; cmake and ninja come from PyPI
(scikit-build-core asks for them when the system has none). Progress goes to stderr;
stdout is the wheel's path alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LLAMA_CPP_PYTHON = "0.3.36"  # keep in step with pyproject.toml's pin


PORTABLE = "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
# ggml installs backend modules (the CPU variants) to CMAKE_INSTALL_BINDIR, which is the
# wheel's top-level bin/ (site-packages/bin once installed); llama-cpp-python's own
# Pyodide build moves them next to libggml the same way.
PACKAGE_LOCAL = "-DCMAKE_INSTALL_BINDIR=llama_cpp/lib -DCMAKE_INSTALL_INCLUDEDIR=llama_cpp/include"


def default_cmake_args() -> str:
    """The portable flags for this platform (what Ollama / LM Studio ship)."""
    if sys.platform == "darwin" and platform.machine().lower() in ("arm64", "aarch64"):
        # Apple Silicon: Metal and one CPU backend built in, compiled for the M1
        # baseline rather than the build machine's chip. llama.cpp also has apple_m1 /
        # apple_m2_m3 / apple_m4 CPU variants, but only with BACKEND_DL, which would
        # make Metal a loadable module too; not measured here, so not taken.
        return f"-DGGML_METAL=ON -DGGML_NATIVE=OFF {PACKAGE_LOCAL}"
    # x86-64 Linux, Windows and Intel macOS; arm64 Linux gets the armv8.x variants.
    return f"{PORTABLE} {PACKAGE_LOCAL}"


def cache_root() -> Path:
    """Where portable wheels are kept between builds."""
    if env := os.environ.get("HEARTH_BUILD_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hearth-build"


def wheel_folder(cmake_args: str, *, version: str = LLAMA_CPP_PYTHON) -> Path:
    """The cache folder for this version, these flags, this Python and platform."""
    key = "|".join(
        (version, " ".join(cmake_args.split()), sys.implementation.cache_tag, sys.platform,
         platform.machine())
    )  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_root() / f"llama-portable-{digest}"


def build_wheel(cmake_args: str, *, version: str = LLAMA_CPP_PYTHON) -> Path:
    """Return the cached wheel, building it first when there is none."""
    folder = wheel_folder(cmake_args, version=version)
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if found:
        print(f"portable llama.cpp: reusing {found[-1]}", file=sys.stderr)
        return found[-1]
    folder.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CMAKE_ARGS": cmake_args,
        "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get(
            "CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2)
        ),
    }
    print(f"portable llama.cpp: building llama-cpp-python=={version} with {cmake_args}"
          f" (about 11 min on 2 cores) into {folder}", file=sys.stderr)  # fmt: skip
    started = time.monotonic()
    # Build into a temporary sibling and rename: a half-built folder never looks done.
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".building-") as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-cache-dir", "--no-deps",
             "--no-binary", "llama-cpp-python", "-w", scratch, f"llama-cpp-python=={version}"],
            env=env,
            check=True,
            stdout=sys.stderr,
        )  # fmt: skip
        (folder.parent / scratch).rename(folder)
        Path(scratch).mkdir()  # TemporaryDirectory cleans up the name it made
    (folder / "cmake-args.txt").write_text(cmake_args + "\n")
    print(f"portable llama.cpp: built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return sorted(folder.glob("llama_cpp_python-*.whl"))[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmake-args", default=None, help="default: the portable flags")
    parser.add_argument("--version", default=LLAMA_CPP_PYTHON)
    parser.add_argument("--folder", action="store_true", help="print the cache folder only")
    args = parser.parse_args()
    cmake_args = args.cmake_args if args.cmake_args is not None else default_cmake_args()
    if args.folder:
        print(wheel_folder(cmake_args, version=args.version))
        return 0
    print(build_wheel(cmake_args, version=args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
