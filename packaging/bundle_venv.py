"""Make (or reuse) build/bundle-venv, the venv PyInstaller bundles from; print its Python.

    python packaging/bundle_venv.py                       # the portable CPU build
    python packaging/bundle_venv.py --add-cmake-args=-DGGML_CUDA=on    # Windows CUDA

Run it with the dev venv's Python. The bundle venv holds the project (not editable),
PyInstaller, the portable llama-cpp-python wheel from packaging/llama_wheel.py, and
everything else at the dev venv's versions (its ``pip freeze`` is the constraints
file), so a bundle differs from ``make run`` only in its llama.cpp. It is made again
when pyproject.toml, the dev venv's versions or the wheel change. Progress goes to
stderr; stdout is the bundle venv's Python alone.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_wheel

ROOT = Path(__file__).resolve().parents[1]
# Not constrained: the portable wheel replaces the one, the project is the other, and
# local / editable entries cannot be constraints.
UNCONSTRAINED = re.compile(r"^(llama[-_.]cpp[-_.]python|hearth)\b|^-e |^#| @ ", re.IGNORECASE)


def venv_python(venv: Path) -> Path:
    """The venv's interpreter on this platform."""
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def make_bundle_venv(venv: Path, wheel: Path) -> Path:
    """Create or refresh ``venv`` with ``wheel``; returns its Python."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    constraints = "".join(
        line + "\n" for line in frozen.splitlines() if line and not UNCONSTRAINED.search(line)
    )
    state = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + constraints.encode() + str(wheel).encode()
    ).hexdigest()[:16]
    stamp = venv / ".hearth-state"
    python = venv_python(venv)
    if python.exists() and stamp.is_file() and stamp.read_text().strip() == state:
        print(f"bundle venv: reusing {venv}", file=sys.stderr)
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"bundle venv: making {venv} with {wheel.name}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    constraints_file = venv / "constraints.txt"
    constraints_file.write_text(constraints)
    # The wheel named here satisfies the project's llama-cpp-python pin, so pip neither
    # builds it again nor takes the native one from its cache.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(constraints_file), str(wheel), str(ROOT), "pyinstaller"],
        check=True, stdout=sys.stderr,
    )  # fmt: skip
    stamp.write_text(state + "\n")
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / "build" / "bundle-venv")
    parser.add_argument("--add-cmake-args", default="", help="flags beyond the portable ones")
    args = parser.parse_args()
    cmake_args = f"{llama_wheel.default_cmake_args()} {args.add_cmake_args}".strip()
    wheel = llama_wheel.build_wheel(cmake_args)
    print(make_bundle_venv(args.venv.resolve(), wheel))
    return 0


if __name__ == "__main__":
    sys.exit(main())
