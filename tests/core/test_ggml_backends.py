"""app.core.inference.backends on the dev venv's native llama.cpp (the portable build's
variants are tested on the bundle in tests/core/test_portable.py)."""

from __future__ import annotations

from pathlib import Path

from app.core.inference import backends as ggml_backends
from app.core.inference import runtime as llama_runtime


def test_a_native_build_reports_its_cpu_backend_built_in() -> None:
    llama_runtime.install()  # idempotent: the backends load once
    report = ggml_backends.load_backends()

    assert not report.portable
    assert report.cpu_variant == ggml_backends.BUILT_IN
    assert report.describe() == "CPU backend built in"
    assert "CPU" in report.backends
    assert report.devices and report.devices[0].startswith("CPU")


def test_variant_libraries_are_named_by_their_variant(tmp_path: Path) -> None:
    for name in ("libggml-cpu-haswell.so", "libggml-cpu-sse42.so", "libggml-base.so"):
        (tmp_path / name).write_bytes(b"")

    assert set(ggml_backends.variant_libraries(tmp_path)) == {"haswell", "sse42"}
