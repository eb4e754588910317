"""Embeddings in the engine process: the real MiniLM model, as raw llama-cpp-python gives them."""

from __future__ import annotations

import math
import signal
from pathlib import Path

import pytest

from app.core.errors import ContextOverflowError, ModelLoadError
from app.core.inference import EngineProcess, LoadOptions

SENTENCES = [
    "The cat sat on the mat.",
    "A feline rested on the rug.",
    "Quarterly revenue grew by four percent.",
]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


@pytest.fixture(scope="module")
def engine(embedding_model: Path) -> EngineProcess:
    engine = EngineProcess()
    engine.load(embedding_model, LoadOptions(context_length=512, embedding=True))
    yield engine  # type: ignore[misc]
    engine.close()


def test_vectors_match_raw_llama_cpp_and_are_normalised(
    engine: EngineProcess, embedding_model: Path
) -> None:
    import llama_cpp

    vectors = engine.embed(SENTENCES)
    assert [len(v) for v in vectors] == [384] * 3
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-4 for v in vectors)
    raw = llama_cpp.Llama(
        model_path=str(embedding_model),
        embedding=True,
        n_ctx=512,
        n_batch=512,
        n_ubatch=512,
        verbose=False,
    )
    try:
        expected = raw.embed(SENTENCES, normalize=True)
    finally:
        raw.close()
    for mine, theirs in zip(vectors, expected, strict=True):
        assert cosine(mine, theirs) > 0.9999
    # Meaning, not spelling: the paraphrase is nearer than the unrelated sentence.
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    unnormalised = engine.embed(SENTENCES[:1], normalize=False)[0]
    assert abs(math.sqrt(sum(x * x for x in unnormalised)) - 1.0) > 0.01


def test_a_text_longer_than_the_model_reads_is_refused_with_numbers(
    engine: EngineProcess,
) -> None:
    with pytest.raises(ContextOverflowError, match=r"at most 512"):
        engine.embed(["word " * 2000])
    assert len(engine.embed(["still works"])[0]) == 384


def test_a_chat_model_refuses_embeddings_clearly(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=128))
        with pytest.raises(ModelLoadError, match="not loaded for embeddings"):
            engine.embed(["hello"])
    finally:
        engine.close()


def test_a_crash_while_embedding_restarts_the_engine_and_answers(
    embedding_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = EngineProcess()
    try:
        engine.load(embedding_model, LoadOptions(context_length=512, embedding=True))
        first = engine.embed(SENTENCES[:1])[0]
        pid = engine.pid
        assert pid is not None
        import os

        os.kill(pid, signal.SIGKILL)  # a real crash of the engine process
        again = engine.embed(SENTENCES[:1])[0]
        assert engine.pid != pid and engine.restarts == 1
        assert cosine(first, again) > 0.9999
    finally:
        engine.close()
