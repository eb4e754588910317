"""The application context: settings, the token, the models folder and the catalog refresh
take effect at once, because nothing copies them at first use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.context import AppContext
from app.core.library import CATALOG_FILE, GatedRepoError, OfflineError, read_hub_models
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, SettingsError, save_settings
from tests.support.gguf_factory import test_model_path as stories_path
from tests.support.gguf_factory import write_llama_gguf
from tests.support.hf_server import FakeHub
from tests.support.keychain import Keychain, keychain

__all__ = ["keychain"]

TOKEN = "hf_" + "ContextToken" * 3


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


class CountingKeyring:
    """A keychain stand-in that counts how often it is read."""

    name = "counting keyring"

    def __init__(self, items: dict[tuple[str, str], str] | None = None) -> None:
        self.items = dict(items or {})
        self.reads = 0

    def get_password(self, service: str, account: str) -> str | None:
        self.reads += 1
        return self.items.get((service, account))

    def set_password(self, service: str, account: str, value: str) -> None:
        self.items[(service, account)] = value

    def delete_password(self, service: str, account: str) -> None:
        self.items.pop((service, account), None)


def test_offline_turned_on_after_a_first_download_stops_the_next_one(
    fake: FakeHub, tmp_path: Path
) -> None:
    first = write_llama_gguf(tmp_path / "a.gguf", seed=1).read_bytes()
    second = write_llama_gguf(tmp_path / "b.gguf", seed=2).read_bytes()
    fake.add_repo("o/Tiny-GGUF", {"Tiny-Q8_0.gguf": first, "Tiny-Q4_K_M.gguf": second})
    context = AppContext()
    manager = context.downloads()
    listing = context.hub.list_gguf("o/Tiny-GGUF")
    done = manager.download("o/Tiny-GGUF", listing.find(quant="Q8_0"))
    assert done.path.read_bytes() == first
    context.settings.set("offline", True)
    fake.reset_counts()
    assert context.downloads() is manager  # the same manager, kept by a long-lived page
    with pytest.raises(OfflineError, match="needs the network, and Hearth is in offline mode"):
        manager.download("o/Tiny-GGUF", listing.find(quant="Q4_K_M"))
    assert fake.requests == []
    assert not list(context.models_folder.rglob("Tiny-Q4_K_M*"))
    context.settings.set("offline", False)
    again = manager.download("o/Tiny-GGUF", listing.find(quant="Q4_K_M"))
    assert again.path.read_bytes() == second


def test_the_token_in_the_key_store_reaches_the_hub_for_header_reads(
    fake: FakeHub, keychain: Keychain
) -> None:
    fake.add_repo(
        "meta/Gated-GGUF", {"g-F32.gguf": stories_path().read_bytes()}, gated=True, token=TOKEN
    )
    context = AppContext()
    with pytest.raises(GatedRepoError):  # no token yet: refused, and said so
        read_hub_models(context.hub, "meta/Gated-GGUF")
    KeyStore().hub_token.save(TOKEN)  # `hearth token set`, in another process
    fake.reset_counts()
    fake.auth_seen.clear()
    found = read_hub_models(context.hub, "meta/Gated-GGUF")
    assert [m.name for m in found.models] == ["g-F32.gguf"]
    assert fake.auth_seen and set(fake.auth_seen) == {f"Bearer {TOKEN}"}
    context.keys.hub_token.clear()
    with pytest.raises(GatedRepoError):
        read_hub_models(context.hub, "meta/Gated-GGUF")


def test_offline_the_keychain_is_not_even_read(fake: FakeHub) -> None:
    keyring = CountingKeyring({("Hearth", "huggingface-token"): TOKEN})
    context = AppContext(keys=KeyStore(backend=keyring))
    context.settings.set("offline", True)
    with pytest.raises(OfflineError):
        context.hub.search("x")
    assert context.hub.token is None and keyring.reads == 0
    context.settings.set("offline", False)
    assert context.hub.token == TOKEN and keyring.reads == 1


def test_the_models_folder_follows_the_setting(tmp_path: Path) -> None:
    context = AppContext()
    assert context.library().models_dir == app_paths().models
    before = context.downloads()
    context.settings.set("models_dir", str(tmp_path / "elsewhere"))
    assert context.models_folder == tmp_path / "elsewhere"
    assert context.library().models_dir == tmp_path / "elsewhere"
    assert context.downloads() is not before
    assert context.downloads().models_dir == tmp_path / "elsewhere"


def _mini_catalog(tmp_path: Path) -> Path:
    data = json.loads(CATALOG_FILE.read_text())
    data["models"] = data["models"][:1]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    return path


def test_a_refresh_saved_by_another_process_is_taken_at_the_next_read(
    fake: FakeHub, tmp_path: Path
) -> None:
    path = _mini_catalog(tmp_path)
    app = AppContext(catalog_file=path)  # the app, running
    model = app.catalog().models[0]
    assert not model.file("Q4_K_M").exact
    data = write_llama_gguf(tmp_path / "m.gguf").read_bytes()
    fake.add_repo(model.repo, {model.file("Q4_K_M").filename: data})
    report = AppContext(catalog_file=path).refresh_catalog()  # `hearth models --refresh`
    assert report.updated == (model.repo,)
    fresh = app.catalog().models[0].file("Q4_K_M")
    assert fresh.exact and fresh.size == len(data)
    assert app.catalog() is app.catalog()  # not read again while nothing changed


def test_a_refresh_made_here_is_used_at_once(fake: FakeHub, tmp_path: Path) -> None:
    path = _mini_catalog(tmp_path)
    context = AppContext(catalog_file=path)
    model = context.catalog().models[0]
    data = write_llama_gguf(tmp_path / "m.gguf").read_bytes()
    fake.add_repo(model.repo, {model.file("Q8_0").filename: data})
    context.refresh_catalog()
    assert context.catalog().models[0].file("Q8_0").size == len(data)


def test_offline_a_refresh_is_refused_and_the_catalog_stays(tmp_path: Path) -> None:
    context = AppContext(catalog_file=_mini_catalog(tmp_path))
    context.settings.set("offline", True)
    before = context.catalog()
    with pytest.raises(OfflineError, match="Refreshing the model catalog"):
        context.refresh_catalog()
    assert context.catalog() == before and not context.catalog_refresh_file.exists()


def test_a_damaged_settings_file_fails_only_what_reads_settings(hearth_home: Path) -> None:
    paths = app_paths().ensure()
    paths.settings_file.write_text("{ nope")
    context = AppContext()
    assert context.catalog()  # the catalog needs no settings
    with pytest.raises(SettingsError, match="cannot be read"):
        context.settings  # noqa: B018 (the property opens the file)
    with pytest.raises(SettingsError):
        context.hub.search("x")  # the offline flag is unknown: nothing is sent
    assert paths.settings_file.read_text() == "{ nope"


def test_settings_given_to_the_context_are_the_ones_it_uses(tmp_path: Path) -> None:
    from app.core.settings import SettingsStore

    store = SettingsStore(tmp_path / "s.json", settings=Settings(offline=True))
    heard: list[Any] = []
    store.subscribe(heard.append)
    context = AppContext(settings=store)
    assert context.settings is store and context.hub.offline
    context.settings.set("offline", False)
    assert not context.hub.offline and len(heard) == 1
    save_settings(Settings(offline=True), tmp_path / "s.json")
    store.reload()
    assert context.hub.offline


def test_load_options_put_a_model_s_own_settings_over_the_app_s(tmp_path: Path) -> None:
    from app.core.library import ModelSettings

    context = AppContext(paths=app_paths(home=tmp_path))
    context.settings.set("context_length", 2048)
    model = write_llama_gguf(tmp_path / "m.gguf")
    assert context.load_options(model).context_length == 2048
    context.model_settings.set(model, ModelSettings(values={"gpu_layers": 0}, chat_template="phi"))
    options = context.load_options(model)
    assert (options.context_length, options.gpu_layers, options.chat_template) == (2048, 0, "phi")
    assert (context.paths.config / "model-settings.json").is_file()  # beside settings.json
    # A path that is no file has none of its own: loading it says what is wrong.
    assert context.load_options(tmp_path / "gone.gguf").chat_template == "auto"


def test_a_model_s_settings_are_those_of_the_engine_s_loaded_model_asked_each_time(
    tmp_path: Path,
) -> None:
    from types import SimpleNamespace

    from app.core.library import ModelSettings, ModelSettingsError

    context = AppContext(paths=app_paths(home=tmp_path))
    context.settings.set("temperature", 0.7)
    model = write_llama_gguf(tmp_path / "m.gguf")
    context.model_settings.set(model, ModelSettings(values={"temperature": 0.1}))
    assert context.settings_for(model).temperature == 0.1
    assert context.settings_for(None).temperature == 0.7
    assert context.settings_for(tmp_path / "gone.gguf").temperature == 0.7
    assert context.loaded_settings().temperature == 0.7  # no engine yet
    engine = SimpleNamespace(model=None)
    context.engine = engine  # type: ignore[assignment]
    assert context.loaded_settings().temperature == 0.7  # nothing loaded
    engine.model = SimpleNamespace(path=model)
    assert context.loaded_settings().temperature == 0.1
    context.model_settings.set(model, ModelSettings(values={"temperature": 0.3}))
    assert context.loaded_settings().temperature == 0.3  # an edit applies to the next ask
    (context.paths.config / "model-settings.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelSettingsError, match="is damaged"):
        context.loaded_settings()


def test_the_catalog_advice_keeps_room_for_the_documents_model(embedding_model: Path) -> None:
    """The first run and the library both take their advice here: the same pick, and
    the RAM of the documents' embedding model is kept beside the chat model's."""
    from app.core.documents import embedding_memory_in_use
    from app.core.inference import detect_machine
    from app.core.library import first_model

    context = AppContext()
    profile = detect_machine()
    catalog, plain = context.catalog_advice(profile)
    assert set(plain) == {model.id for model in catalog}
    assert all(r.headroom.embedding == 0 for r in plain.values())
    context.settings.set("docs_embedding_model", str(embedding_model))
    kept = embedding_memory_in_use(context.current)
    assert kept > 0
    _catalog, beside = context.catalog_advice(profile)
    assert all(r.headroom.embedding == kept for r in beside.values())
    pick = first_model(catalog, beside)
    assert pick is not None and pick.advice.recommended
