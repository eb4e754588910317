"""The curated catalog: its data, and its refresh from a (loopback) Hub."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.library.catalog import (
    CATALOG_FILE,
    CatalogError,
    UnknownModelError,
    choose_quant,
    load_catalog,
    parse_catalog,
    refresh_catalog,
)
from app.core.library.downloads import DownloadManager
from app.core.library.hub import Hub, OfflineError, parse_quant
from tests.support.gguf_factory import write_llama_gguf
from tests.support.hf_server import FakeHub

QUANT_BITS = {"Q3_K_M": 3.9, "IQ4_XS": 4.3, "Q4_K_M": 4.8, "Q5_K_M": 5.7, "Q6_K": 6.6, "Q8_0": 8.5}


@pytest.fixture
def fake() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


def test_catalog_spans_1b_to_70b_with_everything_the_advisor_needs() -> None:
    catalog = load_catalog()
    assert 10 <= len(catalog) <= 16
    params = [m.parameters for m in catalog]
    assert min(params) < 1.5e9 and max(params) > 65e9
    for model in catalog:
        a = model.arch
        assert a.n_layer > 0 and a.n_head % a.n_head_kv == 0
        assert a.n_ctx_train >= 8192
        if a.head_dim is None:
            assert a.n_embd % a.n_head == 0, model.id
        else:  # given only where it differs from n_embd / n_head (Gemma 2, Nemo)
            assert a.head_dim * a.n_head != a.n_embd and a.head_dim in (64, 128, 256), model.id
        assert "Q4_K_M" in model.files and model.description and model.license
        assert model.repo.count("/") == 1


def test_file_names_match_their_quantization_and_sizes_match_their_bits() -> None:
    for model in load_catalog():
        for quant, entry in model.files.items():
            assert all(parse_quant(name) == quant for name in entry.files)
            # A file holds roughly parameters x bits / 8 bytes: catches a size typed wrong.
            expected = model.parameters * QUANT_BITS[quant] / 8
            assert 0.75 < entry.size / expected < 1.3, (model.id, quant)
            assert not entry.exact


def test_split_files_of_the_70b_model_download_as_one_unit() -> None:
    model = load_catalog().get("Llama 3.3 70B Instruct")
    variant = model.variant("Q8_0")
    assert variant.is_split and variant.name == "Llama-3.3-70B-Instruct-Q8_0"
    assert variant.size == model.file("Q8_0").size
    assert [f.path.split("-")[-3] for f in variant.files] == ["00001", "00002"]


def test_lookup_by_id_name_or_repo_and_clear_misses() -> None:
    catalog = load_catalog()
    by_id = catalog.get("qwen2.5-7b-instruct")
    assert catalog.find("bartowski/qwen2.5-7b-instruct-gguf") is by_id
    assert catalog.find("Qwen2.5 7B Instruct") is by_id
    with pytest.raises(UnknownModelError, match="no model called"):
        catalog.get("gpt-5")
    with pytest.raises(UnknownModelError, match="Q4_K_M"):
        by_id.file("Q2_K")


def test_a_malformed_catalog_is_refused_with_its_reason(tmp_path: Path) -> None:
    data = json.loads(CATALOG_FILE.read_text())
    data["models"][0]["files"]["Q4_K_M"]["file"] = "../../evil-Q4_K_M.gguf"
    with pytest.raises(CatalogError, match="model 1"):
        parse_catalog(data)
    data = json.loads(CATALOG_FILE.read_text())
    data["models"][1]["files"]["Q8_0"]["file"] = "Llama-3.2-3B-Instruct-Q4_K_M.gguf"
    with pytest.raises(CatalogError, match="does not look like Q8_0"):
        parse_catalog(data)
    broken = tmp_path / "catalog.json"
    broken.write_text("{")
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(path=broken)


def _mini_catalog(tmp_path: Path) -> Path:
    data = json.loads(CATALOG_FILE.read_text())
    data["models"] = data["models"][:2]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    return path


def test_refresh_takes_exact_sizes_and_hashes_and_caches_them(
    tmp_path: Path, fake: FakeHub
) -> None:
    path = _mini_catalog(tmp_path)
    catalog = load_catalog(path=path)
    first = catalog.models[0]
    data = write_llama_gguf(tmp_path / "m.gguf").read_bytes()
    fake.add_repo(first.repo, {first.file("Q4_K_M").filename: data})
    cache = tmp_path / "cache"

    report = refresh_catalog(catalog, hub=Hub(endpoint=fake.endpoint), cache_dir=cache)
    assert report.updated == (first.repo,)
    assert list(report.failed) == [catalog.models[1].repo]
    fresh = report.catalog.models[0].file("Q4_K_M")
    assert fresh.exact and fresh.size == len(data) and fresh.sha256[0]
    assert not report.catalog.models[0].file("Q8_0").exact  # not on this Hub: kept

    # Offline, a later start reads the cache: exact sizes without the network.
    reloaded = load_catalog(path=path, cache_dir=cache)
    assert reloaded.models[0].file("Q4_K_M").size == len(data)
    assert reloaded.refreshed_at is not None

    # And a catalog download of that file works and is verified with the cached hash.
    manager = DownloadManager(models_dir=tmp_path / "models", hub=Hub(endpoint=fake.endpoint))
    result = manager.download(first.repo, reloaded.models[0].variant("Q4_K_M"))
    assert result.sha256_verified and result.path.read_bytes() == data


def test_refresh_in_offline_mode_makes_no_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(OfflineError, match="Refreshing the model catalog needs the network"):
        refresh_catalog(load_catalog(), hub=Hub(offline=True), cache_dir=tmp_path)
    assert not (tmp_path / "catalog-refresh.json").exists()


def test_a_damaged_cache_leaves_the_bundled_figures(tmp_path: Path) -> None:
    (tmp_path / "catalog-refresh.json").write_text("not json")
    assert load_catalog(cache_dir=tmp_path) == load_catalog()


def test_embedding_models_are_listed_apart_and_pull_their_tested_file() -> None:
    catalog = load_catalog()
    assert [m.id for m in catalog.embedding] == ["all-minilm-l6-v2", "nomic-embed-text-v1.5"]
    # The chat model lists (library page, recommend, the advisor) iterate chat models only.
    assert all(m.kind == "chat" for m in catalog)
    assert not {m.id for m in catalog} & {m.id for m in catalog.embedding}
    minilm = catalog.get("all-MiniLM-L6-v2")
    assert minilm.kind == "embedding" and minilm.arch.n_embd == 384
    assert minilm.architecture == "bert" and minilm.arch.n_ctx_train == 512
    bits = {**QUANT_BITS, "F16": 16.0}
    for model in catalog.embedding:
        for quant, entry in model.files.items():
            assert parse_quant(entry.filename) == quant
            assert 0.9 < entry.size / (model.parameters * bits[quant] / 8) < 1.2, (model.id, quant)

    def no_advisor(*_args: object) -> tuple[str | None, str]:
        raise AssertionError("the chat-model advisor must not judge an embedding model")

    choice = choose_quant(minilm.quants, model=minilm, advise_fn=no_advisor)
    assert choice.quant == "F16"  # the file the tests verified (Q8_0 meets AMX kernels)
    assert choose_quant(minilm.quants, model=minilm, preference="Q8_0").quant == "Q8_0"


def test_a_catalog_entry_of_unknown_kind_is_refused() -> None:
    data = json.loads(CATALOG_FILE.read_text())
    data["models"][0]["kind"] = "reranker"
    with pytest.raises(CatalogError, match="kind must be chat or embedding"):
        parse_catalog(data)
