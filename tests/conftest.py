"""Shared fixtures: an isolated HEARTH_HOME for every test, and real model files."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.core
import pytest

from tests.support.gguf_factory import (
    CHATML_TEMPLATE,
    ModelShape,
    test_model_path,
    write_llama_gguf,
)


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own Hearth folders; no test touches the user's real files."""
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def fresh_keyring() -> Iterator[None]:
    """keyring caches its backend and the list of usable ones; each test detects anew."""
    yield
    keyring.core._keyring_backend = None
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`hearth` commands run in-process attach log handlers; each test leaves none behind.

    A handler left on the root logger would keep writing to a test's captured (and by
    then closed) stderr, and a --verbose test would leave the root at DEBUG.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def stories_model() -> Path:
    """The real tiny pretrained model (stories260K), read from ../shared/models."""
    path = test_model_path()
    assert path.is_file(), f"the test model is missing: {path} (see ../shared/models/README.md)"
    return path


@pytest.fixture(scope="session")
def embedding_model() -> Path:
    """The real sentence-embedding model (all-MiniLM-L6-v2, F16), from ../shared/models."""
    default = Path(__file__).resolve().parents[2] / "shared" / "models"
    path = Path(
        os.environ.get("HEARTH_TEST_EMBEDDING_MODEL", default / "all-MiniLM-L6-v2-f16.gguf")
    )
    assert path.is_file(), f"the embedding model is missing: {path} (see its README)"
    return path


@pytest.fixture(scope="session")
def chatml_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random-weight llama with ChatML control tokens and template."""
    path = tmp_path_factory.mktemp("models") / "chatml-tiny.gguf"
    return write_llama_gguf(path, chat_template=CHATML_TEMPLATE, chatml_tokens=True)


@pytest.fixture(scope="session")
def slow_chatml_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wider random-weight ChatML model: slow enough to interrupt mid-reply."""
    path = tmp_path_factory.mktemp("models") / "chatml-wide.gguf"
    shape = ModelShape(n_layer=4, n_embd=512, n_head=8, n_head_kv=4, n_ff=1024)
    return write_llama_gguf(path, shape=shape, chat_template=CHATML_TEMPLATE, chatml_tokens=True)


# Realistic shapes, quantized by llama.cpp: 1024 wide, GQA (16 heads, 4 KV heads), an
# FFN 2.75x the width, ChatML template. Every quantized test model is built from this.
REALISTIC_SHAPE = ModelShape(n_layer=4, n_embd=1024, n_head=16, n_head_kv=4, n_ff=2816)
QUANTS = ("Q4_K_M", "Q8_0", "Q4_0")


@pytest.fixture(scope="session")
def quantized_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Q4_K_M, Q8_0 and Q4_0 files of a realistic llama shape (random weights)."""
    import numpy as np

    from tests.support.gguf_factory import quantize

    folder = tmp_path_factory.mktemp("quantized")
    source = write_llama_gguf(
        folder / "realistic-f16.gguf",
        shape=REALISTIC_SHAPE,
        chat_template=CHATML_TEMPLATE,
        chatml_tokens=True,
        dtype=np.float16,
        name="hearth-realistic",
    )
    return {q: quantize(source, folder / f"realistic-{q}.gguf", q) for q in QUANTS}


@pytest.fixture(scope="session")
def low_bit_models(quantized_models: dict[str, Path]) -> dict[str, Path]:
    """Q3_K_M, Q2_K and IQ4_XS files of the same realistic model (the catalog offers them)."""
    from tests.support.gguf_factory import quantize

    source = quantized_models["Q4_K_M"].with_name("realistic-f16.gguf")
    return {
        q: quantize(source, source.with_name(f"realistic-{q}.gguf"), q)
        for q in ("Q3_K_M", "Q2_K", "IQ4_XS")
    }


# The first `make bundle` on a machine also compiles the portable llama.cpp (about 11
# minutes on two cores; packaging/llama_wheel.py); later ones reuse it (about 2 minutes).
BUNDLE_BUILD_TIMEOUT = 2400


@pytest.fixture(scope="session")
def bundle_build(stories_model: Path) -> subprocess.CompletedProcess[str]:
    """Run `make bundle` once per session (it builds, self-tests and packs the bundle)."""
    started = time.monotonic()
    result = subprocess.run(
        ["make", "bundle"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env={**os.environ, "HEARTH_TEST_MODEL": str(stories_model)},
        timeout=BUNDLE_BUILD_TIMEOUT,
        check=False,
    )
    print(f"make bundle took {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result
