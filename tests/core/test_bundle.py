"""The Linux one-folder bundle: `make bundle` builds it, and the bundle proves itself.

One build serves every slow test here and in tests/core/test_portable.py: about two minutes
on two cores, plus about 11 the first time, when the portable llama.cpp is compiled.
The bundle's own self-test runs inside `make bundle`; these tests run the built
executable again, look at what went in and what stayed out, and open a database from
an older version with it, as a user upgrading would.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from app import __version__
from app.core.chat.history import SCHEMA_VERSION
from tests.core.test_history import write_version_1

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "Hearth"
INTERNAL = BUNDLE / "_internal"
MAX_BUNDLE_BYTES = 250_000_000  # `du -sb dist/Hearth`


def test_the_release_workflow_builds_with_the_packaging_scripts() -> None:
    """Valid YAML; every job builds through a script in packaging/ that exists."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    runs = {
        name: " ".join(step.get("run", "") for step in job["steps"])
        for name, job in workflow["jobs"].items()
    }
    assert set(runs) == {"linux", "macos", "windows", "publish"}
    assert "make bundle" in runs["linux"]  # which runs packaging/linux/build.sh
    assert "packaging/macos/build.sh" in runs["macos"]
    assert "packaging/windows/build.ps1" in runs["windows"]
    scripts = {path for text in runs.values() for path in re.findall(r"packaging/[\w./-]+", text)}
    assert scripts, "the workflow calls no packaging script"
    for script in scripts:
        assert (ROOT / script).is_file(), f"the workflow calls {script}, which does not exist"
    assert "packaging/linux/build.sh" in (ROOT / "Makefile").read_text()


@pytest.fixture(scope="module")
def build(bundle_build: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """`make bundle`, run once per session (tests/conftest.py)."""
    return bundle_build


def run_bundled(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUNDLE / "hearth"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HEARTH_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_make_bundle_self_tests_the_bundle_before_packing_it(
    build: subprocess.CompletedProcess[str],
) -> None:
    out = build.stdout
    assert f"bundle at {BUNDLE}" in out  # the frozen executable ran, not the source
    assert out.index("self-test passed") < out.index("tarball: ")
    tarball = ROOT / "dist" / f"hearth-{__version__}-linux-{os.uname().machine}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert {"Hearth/hearth", "Hearth/hearth.desktop", "Hearth/hearth.png"} <= names
    assert "Hearth/install.sh" in names


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_the_bundled_executable_passes_its_self_test(
    build: subprocess.CompletedProcess[str], stories_model: Path, tmp_path: Path
) -> None:
    home = tmp_path / "user-home"
    result = run_bundled("--self-test", "--model", str(stories_model), home=home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"bundle at {BUNDLE}" in result.stdout
    assert "CPU build" in result.stdout
    assert re.search(r"CPU variant \w+ \(of \d+\)", result.stdout), result.stdout
    assert f"curated models in {INTERNAL / 'models' / 'catalog.json'}" in result.stdout
    assert "main window shown on the 'offscreen' platform" in result.stdout
    assert result.stdout.rstrip().endswith("self-test passed")
    assert not home.exists()  # the self-test never writes to the user's folders


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_the_bundled_self_test_names_a_broken_model(
    build: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    missing = tmp_path / "gone.gguf"
    result = run_bundled("--self-test", "--model", str(missing), home=tmp_path / "home")

    assert result.returncode == 1
    assert f"model      FAILED: model {missing}" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_the_bundle_holds_what_it_needs_and_not_the_rest(
    build: subprocess.CompletedProcess[str],
) -> None:
    assert list((INTERNAL / "llama_cpp" / "lib").glob("libllama.so*"))
    # The portable llama.cpp: one CPU backend per CPU generation, none of them native.
    variants = {p.name for p in (INTERNAL / "llama_cpp" / "lib").glob("libggml-cpu-*.so")}
    assert {"libggml-cpu-sse42.so", "libggml-cpu-haswell.so", "libggml-cpu-x64.so"} <= variants
    assert not list((INTERNAL / "llama_cpp" / "lib").glob("libggml-cpu.so*"))
    assert (INTERNAL / "models" / "catalog.json").is_file()
    assert (INTERNAL / "resources" / "icons" / "hearth.svg").is_file()
    platforms = {p.name for p in (INTERNAL / "PySide6" / "Qt" / "plugins" / "platforms").iterdir()}
    assert {"libqoffscreen.so", "libqxcb.so", "libqwayland.so"} <= platforms
    assert "libqvnc.so" not in platforms and "libqeglfs.so" not in platforms

    files = {p.relative_to(INTERNAL).as_posix() for p in INTERNAL.rglob("*")}
    for unwanted in ("tests", "pytest", "_pytest", "mypy", "ruff", "PyInstaller", "tkinter"):
        assert unwanted not in {name.split("/")[0] for name in files}, unwanted
    pyside = {p.name.split(".")[0] for p in (INTERNAL / "PySide6").glob("Qt*.so")}
    assert pyside == {"QtCore", "QtGui", "QtSvg", "QtWidgets"}  # QtSvg draws the icons
    assert not any(name.startswith(("libQt6Qml", "libQt6Quick", "libgtk-3")) for name in files)


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_the_bundle_stays_under_250_mb(build: subprocess.CompletedProcess[str]) -> None:
    """What a user downloads and unpacks; the CPU variants cost about 20 MB of it."""
    size = sum(p.stat().st_size for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink())
    assert size <= MAX_BUNDLE_BYTES, f"dist/Hearth is {size / 1e6:.1f} MB"


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_an_upgrade_keeps_the_conversations_of_an_older_version(
    build: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    """User data lives outside the bundle; a database of the first schema is migrated.

    tests/core/test_history.py proves each migration from source; this runs the bundled
    executable on the folders an older Hearth left behind.
    """
    home = tmp_path / "home"
    database = home / "conversations" / "history.sqlite3"
    write_version_1(database)
    model = home / "models" / "kept.gguf"
    model.parent.mkdir()
    model.write_bytes(b"GGUF" + bytes(60))

    result = run_bundled("history", "list", "--json", home=home)

    assert result.returncode == 0, result.stderr
    (conversation,) = json.loads(result.stdout)
    assert conversation["title"] == "Old chat"
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert connection.execute("SELECT count(*) FROM messages").fetchone() == (2,)
    finally:
        connection.close()
    assert model.read_bytes() == b"GGUF" + bytes(60)
    assert not any(BUNDLE.rglob("history.sqlite3"))  # nothing of the user's inside the bundle
