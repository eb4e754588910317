"""The bundle's llama.cpp runs on CPUs older than the build machine's (qemu-user).

The dev venv's llama.cpp is compiled with -march=native and dies with SIGILL (exit 132)
on a CPU without the build machine's instructions; the bundle ships the portable build
(packaging/llama_wheel.py), whose CPU variants app/core/inference/backends.py picks from.

qemu-user emulates an older CPU for one process. PyInstaller's bootloader re-executes
itself and qemu-user would run that child natively, so these tests run the bundle
venv's Python (build/bundle-venv, made by packaging/linux/build.sh, the same
llama-cpp-python) on the libraries inside the built bundle (LLAMA_CPP_LIB_PATH):
Hearth's engine loads stories260K and writes a few tokens, on a Haswell (AVX2) and on
a Nehalem (SSE4.2) CPU. Each run takes 5-15 s under emulation. Passes on build machines
with or without AVX-512 / AMX: the emulated CPU decides the variant, not the host's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_LIB = ROOT / "dist" / "Hearth" / "_internal" / "llama_cpp" / "lib"
BUNDLE_PYTHON = ROOT / "build" / "bundle-venv" / "bin" / "python"
QEMU = shutil.which("qemu-x86_64")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2700),  # the first bundle build compiles llama.cpp
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
        reason="the bundle's x86-64 CPU variants",
    ),
    pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (apt install qemu-user)"),
]

GENERATE = r"""
import json, sys
from app.core.inference import backends as ggml_backends  # install() loads the backends
from app.core.inference import runtime as llama_runtime
from app.core.inference.engine import Engine, LoadOptions, SamplingOptions
engine = Engine()
engine.load(sys.argv[1], LoadOptions(context_length=128, batch_size=32))
text = engine.complete("Once upon a time", SamplingOptions(temperature=0.0, max_tokens=6, seed=1),
                       ignore_eos=True).read()
engine.close()
report = ggml_backends.load_backends()
print(json.dumps({"variant": report.cpu_variant, "devices": report.devices, "text": text}))
"""


def run_emulated(
    cpu: str, model: Path, *, python: Path, lib: Path | None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("LLAMA_CPP_LIB_PATH", None)
    env.pop("HEARTH_CPU_VARIANT", None)
    if lib is not None:
        env["LLAMA_CPP_LIB_PATH"] = str(lib)
    assert QEMU is not None
    return subprocess.run(
        [QEMU, "-cpu", cpu, str(python), "-c", GENERATE, str(model)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(("cpu", "variant"), [("Haswell-v4", "haswell"), ("Nehalem-v2", "sse42")])
def test_the_bundled_llama_cpp_writes_text_on_an_older_cpu(
    bundle_build: subprocess.CompletedProcess[str], stories_model: Path, cpu: str, variant: str
) -> None:
    result = run_emulated(cpu, stories_model, python=BUNDLE_PYTHON, lib=BUNDLED_LIB)

    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["variant"] == variant
    assert outcome["text"].strip(), "no text came out"


def test_the_bundle_does_not_ship_the_native_build_that_qemu_catches(
    bundle_build: subprocess.CompletedProcess[str], stories_model: Path
) -> None:
    """The dev venv's -march=native llama.cpp fails where the bundle's succeeds."""
    import llama_cpp

    native_lib = Path(llama_cpp.__file__).parent / "lib"
    assert native_lib.resolve() != BUNDLED_LIB.resolve()
    assert not list(native_lib.glob("libggml-cpu-*.so")), "the dev venv is not native"
    if "avx2" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("this CPU has no AVX2: its native build may run on a Nehalem too")

    result = run_emulated("Nehalem-v2", stories_model, python=Path(sys.executable), lib=None)

    assert result.returncode in (-4, 132), result.stdout  # SIGILL, not some other failure


FORCED = r"""
import json
from app.core.inference import backends as ggml_backends
from app.core.errors import HearthError
try:
    from app.core.inference import runtime as llama_runtime  # noqa: F401
except HearthError as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
else:
    report = ggml_backends.load_backends()
    print(json.dumps({"variant": report.cpu_variant, "by": report.chosen_by}))
"""


@pytest.mark.parametrize(("forced", "expected"), [("sse42", "sse42"), ("pentium", None)])
def test_hearth_cpu_variant_loads_only_that_variant(
    bundle_build: subprocess.CompletedProcess[str], forced: str, expected: str | None
) -> None:
    """The crash-recovery ladder's rung: a named variant instead of the best one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LLAMA_CPP_LIB_PATH": str(BUNDLED_LIB)}
    result = subprocess.run(
        [str(BUNDLE_PYTHON), "-c", FORCED],
        capture_output=True,
        text=True,
        env={**env, "HEARTH_CPU_VARIANT": forced},
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if expected is None:
        assert outcome["error"] == "CpuVariantError"
        assert "haswell" in outcome["message"]  # it lists what there is
    else:
        assert outcome == {"variant": expected, "by": "HEARTH_CPU_VARIANT"}


RECOVER = r"""
import json, sys
from app.core.inference.process import EngineProcess
from app.core.generation import SamplingOptions
from app.core.inference.types import LoadOptions
engine = EngineProcess()
engine.load(sys.argv[1], LoadOptions(context_length=256))
reply = engine.complete("Once upon a time", SamplingOptions(temperature=0.0, max_tokens=8))
text = reply.read()
print(json.dumps({"text": text, "notice": reply.stats.notice, "restarts": engine.restarts,
                  "variant": engine.info.cpu_variant, "rung": engine.rung}))
engine.close()
"""


def test_a_crash_in_the_best_cpu_variant_steps_down_to_the_next(
    bundle_build: subprocess.CompletedProcess[str], stories_model: Path, tmp_path: Path
) -> None:
    # As on an AMX Xeon, where the sapphirerapids variant crashes: every batch crashes
    # while ggml picks the variant, whatever else changes; the last rung loads a lower one.
    env = {
        **os.environ,
        "LLAMA_CPP_LIB_PATH": str(BUNDLED_LIB),
        "HEARTH_TEST_ENGINE_FAULT": "prompt:SIGSEGV:when=best_cpu_variant",
        "HEARTH_HOME": str(tmp_path / "home"),
    }
    env.pop("HEARTH_CPU_VARIANT", None)
    result = subprocess.run(
        [str(BUNDLE_PYTHON), "-c", RECOVER, str(stories_model)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["text"].strip()
    assert "next simpler CPU kernels" in report["notice"]
    assert report["restarts"] >= 2  # extra buffers off and a small batch did not help
    assert report["rung"] == 5  # the ladder's last rung: one CPU variant lower
    assert report["variant"]  # the engine process that answered names its (forced) variant
