"""Per-model settings: kept per model file, validated, and applied when that model loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.core.inference.engine import Engine, LoadOptions, Message, PromptFormat, SamplingOptions
from app.core.library import ModelSettings, ModelSettingsError, ModelSettingsStore
from app.core.settings import Settings
from tests.support.gguf_factory import write_llama_gguf

CHATML_TOKENS = (512, 513)  # <|im_start|>, <|im_end|>: what the fixture adds to the vocabulary
MESSAGES = [Message("system", "Be brief."), Message("user", "Hello")]


@pytest.fixture
def store(tmp_path: Path) -> ModelSettingsStore:
    return ModelSettingsStore(tmp_path / "config" / "model-settings.json")


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    file = tmp_path / "models" / "tiny.gguf"
    file.parent.mkdir()
    file.write_bytes(b"GGUF" + bytes(60))
    return file


# -- the store ----------------------------------------------------------------------------


def test_settings_are_kept_per_model_file_and_read_back(
    store: ModelSettingsStore, model_file: Path, tmp_path: Path
) -> None:
    own = ModelSettings(
        values={"context_length": 8192, "temperature": 0.2, "system_prompt": "Be terse."},
        chat_template="gemma",
    )
    store.set(model_file, own)
    assert store.get(model_file) == own
    moved = tmp_path / "elsewhere" / model_file.name  # same name and size: the same model
    moved.parent.mkdir()
    shutil.copy(model_file, moved)
    assert store.get(moved) == own
    other = tmp_path / "other" / model_file.name  # same name, other bytes: another model
    other.parent.mkdir()
    other.write_bytes(b"GGUF" + bytes(61))
    assert store.get(other) == ModelSettings()


def test_defaults_forget_the_model(store: ModelSettingsStore, model_file: Path) -> None:
    store.set(model_file, ModelSettings(values={"top_k": 5}))
    store.set(model_file, ModelSettings())
    assert json.loads(store.path.read_text())["models"] == {}


def test_a_model_without_settings_follows_the_app(
    store: ModelSettingsStore, model_file: Path
) -> None:
    assert store.get(model_file).is_default
    assert ModelSettings().apply(Settings()) == Settings()


@pytest.mark.parametrize(
    ("values", "template", "message"),
    [
        ({"temperature": 9.0}, "auto", "temperature must be at most 5.0"),
        ({"context_length": 10}, "auto", "context_length must be at least 256"),
        ({"top_k": "many"}, "auto", "top_k must be int"),
        ({"theme": "dark"}, "auto", "no setting called 'theme'"),
        ({}, "vicuna", "chat_template must be one of auto, llama3, gemma, chatml, phi"),
    ],
)
def test_bad_values_are_refused_with_what_is_allowed(
    store: ModelSettingsStore,
    model_file: Path,
    values: dict[str, object],
    template: str,
    message: str,
) -> None:
    store.set(model_file, ModelSettings(values={"top_k": 5}))
    saved = store.path.read_text()
    with pytest.raises(ModelSettingsError, match=message):
        ModelSettings(values=values, chat_template=template)
    assert store.path.read_text() == saved


def test_a_bad_value_in_the_file_names_the_model_and_leaves_the_file(
    store: ModelSettingsStore, model_file: Path
) -> None:
    store.set(model_file, ModelSettings(values={"top_k": 5}))
    data = json.loads(store.path.read_text())
    key = next(iter(data["models"]))
    data["models"][key]["top_k"] = -3
    store.path.write_text(json.dumps(data))
    with pytest.raises(ModelSettingsError, match=r"tiny\.gguf.*top_k must be at least 0"):
        store.get(model_file)
    assert json.loads(store.path.read_text())["models"][key]["top_k"] == -3


def test_a_damaged_file_is_an_error_and_is_kept(
    store: ModelSettingsStore, model_file: Path
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    with pytest.raises(ModelSettingsError, match="damaged") as caught:
        store.get(model_file)
    assert caught.value.hint
    with pytest.raises(ModelSettingsError):
        store.set(model_file, ModelSettings(values={"top_k": 5}))
    assert store.path.read_text() == "{not json"


def test_the_model_s_values_replace_the_app_s_in_load_and_sampling_options() -> None:
    app = Settings(context_length=4096, gpu_layers=-1, temperature=0.7, top_k=40)
    own = ModelSettings(
        values={"context_length": 1024, "gpu_layers": 0, "temperature": 0.1, "top_k": 3},
        chat_template="chatml",
    )
    options = LoadOptions.from_settings(app, own)
    assert (options.context_length, options.gpu_layers, options.chat_template) == (
        1024,
        0,
        "chatml",
    )
    sampling = SamplingOptions.from_settings(own.apply(app))
    assert (sampling.temperature, sampling.top_k) == (0.1, 3)
    assert LoadOptions.from_settings(app).chat_template == "auto"


# -- applied at load ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def untemplated_chatml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A llama file whose vocabulary has ChatML's markers, and no chat template."""
    path = tmp_path_factory.mktemp("models") / "no-template.gguf"
    return write_llama_gguf(path, chatml_tokens=True)


def test_a_file_without_a_template_gets_its_family_s_and_the_notice_says_which(
    untemplated_chatml: Path,
) -> None:
    engine = Engine()
    model = engine.load(untemplated_chatml, LoadOptions(context_length=256))
    assert model.prompt_format is PromptFormat.TEMPLATE
    assert model.notice is not None
    assert model.notice.startswith(
        "This file has no chat template; using ChatML's, chosen from its architecture (llama)."
    )
    tokens, text = engine.render_prompt(MESSAGES)
    assert text.endswith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")
    assert tokens.count(CHATML_TOKENS[0]) == 3 and tokens.count(CHATML_TOKENS[1]) == 2
    engine.chat(MESSAGES, SamplingOptions(max_tokens=4, seed=1)).read()
    engine.close()


def test_the_override_changes_the_prompt_the_model_sees(chatml_model: Path) -> None:
    engine = Engine()
    own = engine.load(chatml_model, LoadOptions(context_length=256))
    own_tokens, own_text = engine.render_prompt(MESSAGES)
    assert own.notice is None and own_text.startswith("<|im_start|>system")

    model = engine.load(chatml_model, LoadOptions(context_length=256, chat_template="llama3"))
    tokens, text = engine.render_prompt(MESSAGES)
    assert text.startswith("<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.")
    assert tokens != own_tokens and CHATML_TOKENS[0] not in tokens
    assert model.notice is not None
    assert model.notice.startswith(
        "Using the Llama 3 chat template set in this model's settings in place of the file's own."
    )
    assert "lacks Llama 3's markers" in model.notice  # this vocabulary never learnt them

    model = engine.load(chatml_model, LoadOptions(context_length=256, chat_template="plain"))
    assert model.prompt_format is PromptFormat.PLAIN
    assert engine.render_prompt(MESSAGES)[1] == "Be brief.\n\nUser: Hello\nAssistant:"
    assert model.notice and "plain 'User:/Assistant:' prompt format instead of" in model.notice
    engine.close()


def test_a_base_model_without_markers_keeps_the_plain_format(stories_model: Path) -> None:
    engine = Engine()
    model = engine.load(stories_model, LoadOptions(context_length=256))
    assert model.prompt_format is PromptFormat.PLAIN
    assert model.notice and "no chat template" in model.notice
    model = engine.load(stories_model, LoadOptions(context_length=256, chat_template="chatml"))
    assert model.prompt_format is PromptFormat.TEMPLATE
    assert engine.render_prompt(MESSAGES)[1].startswith("<|im_start|>system\nBe brief.")
    engine.close()


def test_per_model_values_are_used_when_that_model_loads(
    stories_model: Path, tmp_path: Path
) -> None:
    store = ModelSettingsStore(tmp_path / "model-settings.json")
    store.set(stories_model, ModelSettings(values={"context_length": 512}))
    engine = Engine()
    model = engine.load(
        stories_model, LoadOptions.from_settings(Settings(), store.get(stories_model))
    )
    assert model.context_length == 512 and model.options.context_length == 512
    engine.close()
