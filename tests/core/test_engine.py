"""The local engine against real llama.cpp: stories260K and small generated models."""

from __future__ import annotations

import logging
from pathlib import Path

import llama_cpp
import pytest

from app.core.errors import (
    ChatTemplateError,
    ContextOverflowError,
    ModelNotFoundError,
    NoModelLoadedError,
    NotAModelFileError,
    NotEnoughMemoryError,
    TruncatedModelError,
    UnsupportedArchitectureError,
)
from app.core.gguf.header import read_header
from app.core.inference import runtime as llama_runtime
from app.core.inference.engine import (
    Engine,
    LoadOptions,
    Message,
    PromptFormat,
    SamplingOptions,
    StopReason,
)
from app.core.machine.calibration import CalibrationStore, calibration_key
from tests.support.gguf_factory import CHATML_TEMPLATE, ModelShape, write_llama_gguf

GREEDY = SamplingOptions(temperature=0.0, repeat_penalty=1.0, max_tokens=60)


@pytest.fixture(scope="module")
def engine(stories_model: Path) -> Engine:
    engine = Engine()
    engine.load(stories_model, LoadOptions(context_length=1024))
    yield engine
    engine.close()


def test_greedy_output_equals_raw_llama_cpp(engine: Engine, stories_model: Path) -> None:
    prompt = "Once upon a time"
    reply = engine.complete(prompt, GREEDY)
    ours = reply.read()

    raw = llama_cpp.Llama(model_path=str(stories_model), n_ctx=1024, verbose=True)
    try:
        theirs = raw.create_completion(prompt, temperature=0.0, repeat_penalty=1.0, max_tokens=60)[
            "choices"
        ][0]["text"]
    finally:
        raw.close()
    assert ours == theirs
    assert "Lily" in ours


def test_reply_streams_pieces_and_ends_with_its_figures(engine: Engine) -> None:
    reply = engine.complete("Once upon a time", GREEDY)
    pieces = list(reply)
    assert len(pieces) > 20  # streamed, not delivered at once
    stats = reply.stats
    assert stats is not None
    assert stats.completion_tokens == 60
    assert stats.stop_reason is StopReason.LENGTH
    assert stats.prompt_tokens == 5  # <s> Once upon a time
    assert "".join(pieces) == reply.text
    assert stats.time_to_first_token is not None and stats.time_to_first_token > 0
    assert stats.tokens_per_second is not None and stats.tokens_per_second > 0


def test_sampled_reply_ends_at_end_of_text_without_showing_it(engine: Engine) -> None:
    sampling = SamplingOptions(temperature=0.8, repeat_penalty=1.0, max_tokens=1000)
    reasons = []
    for seed in range(5):
        reply = engine.complete(
            "Once upon a time", SamplingOptions(**{**_fields(sampling), "seed": seed})
        )
        text = reply.read()
        assert reply.stats is not None
        reasons.append(reply.stats.stop_reason)
        if reply.stats.stop_reason is StopReason.END_OF_TEXT:
            assert "</s>" not in text and "<s>" not in text
            assert reply.stats.completion_tokens < 1000
            break
    assert StopReason.END_OF_TEXT in reasons


def _fields(options: SamplingOptions) -> dict[str, object]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}


def test_same_seed_gives_the_same_reply(engine: Engine) -> None:
    sampling = SamplingOptions(temperature=0.9, max_tokens=40, seed=1234)
    first = engine.complete("The dog", sampling).read()
    second = engine.complete("The dog", sampling).read()
    assert first == second


def test_stop_mid_reply_then_the_next_message_reuses_the_prefix(engine: Engine) -> None:
    history = [Message("system", "Stories for children."), Message("user", "Tell a story.")]
    reply = engine.chat(history, SamplingOptions(temperature=0.0, max_tokens=500))
    pieces = []
    for piece in reply:
        pieces.append(piece)
        if len(pieces) == 10:
            engine.stop()
    assert reply.stats is not None
    assert reply.stats.stop_reason is StopReason.USER
    assert reply.stats.completion_tokens == 10
    assert reply.text == "".join(pieces)

    history += [Message("assistant", reply.text), Message("user", "And then?")]
    follow = engine.chat(history, SamplingOptions(temperature=0.0, max_tokens=20))
    assert follow.read()
    assert follow.stats is not None
    assert follow.stats.stop_reason is StopReason.LENGTH
    # Everything up to the interrupted reply was still in the cache.
    assert follow.stats.cached_tokens >= reply.stats.prompt_tokens


def test_closing_a_reply_early_counts_as_a_user_stop(engine: Engine) -> None:
    reply = engine.complete("Once upon a time", GREEDY)
    for index, _ in enumerate(reply):
        if index == 4:
            break
    assert reply.stats is not None
    assert reply.stats.stop_reason is StopReason.USER


def test_stop_during_the_prompt_aborts_llama_decode(engine: Engine) -> None:
    long_prompt = "The cat sat on the mat and looked at the sun. " * 40
    reply = engine.complete(long_prompt, SamplingOptions(max_tokens=10))
    engine.stop()  # before the first token: only llama.cpp's abort callback can act
    assert reply.read() == ""
    assert reply.stats is not None
    assert reply.stats.stop_reason is StopReason.USER
    assert reply.stats.completion_tokens == 0
    assert reply.stats.time_to_first_token is None
    # The prompt was not fully evaluated...
    assert len(llama_runtime.cached_tokens(engine._llm)) < reply.prompt_tokens
    # ...and the engine still answers afterwards.
    again = engine.complete("Once upon a time", GREEDY)
    assert "Lily" in again.read()


def test_multi_turn_chat_reuses_the_cache_of_earlier_turns(engine: Engine) -> None:
    history = [Message("system", "You tell short stories.")]
    cached = []
    prompts = []
    for turn in range(4):
        history.append(Message("user", f"Tell me about animal number {turn}."))
        reply = engine.chat(history, SamplingOptions(temperature=0.0, max_tokens=24))
        history.append(Message("assistant", reply.read()))
        assert reply.stats is not None
        cached.append(reply.stats.cached_tokens)
        prompts.append(reply.stats.prompt_tokens)
    assert prompts == sorted(prompts)
    for turn in range(1, 4):
        # Only the new message (and the re-read tail of the last reply) is evaluated.
        assert prompts[turn] - cached[turn] < 40, (prompts, cached)


def test_old_turns_are_dropped_when_the_context_is_full(stories_model: Path) -> None:
    engine = Engine()
    engine.load(stories_model, LoadOptions(context_length=256))
    system = Message("system", "SYSTEM RULES.")
    history = [system]
    for turn in range(12):
        history += [
            Message("user", f"Question {turn} about the little red ball?"),
            Message("assistant", "The ball was red and it rolled far away."),
        ]
    history.append(Message("user", "Last question?"))
    reply = engine.chat(history, SamplingOptions(max_tokens=32))
    assert reply.dropped_messages > 0
    assert reply.dropped_messages % 2 == 0  # whole turns
    kept = [system, *history[1 + reply.dropped_messages :]]
    tokens, text = engine.render_prompt(kept)
    assert text.startswith("SYSTEM RULES.")
    assert len(tokens) == reply.prompt_tokens
    reply.read()
    assert reply.stats is not None
    assert reply.stats.dropped_messages == reply.dropped_messages
    engine.close()


def test_a_single_message_too_long_is_a_clear_error(stories_model: Path) -> None:
    engine = Engine()
    engine.load(stories_model, LoadOptions(context_length=256))
    with pytest.raises(ContextOverflowError, match="too long for the context"):
        engine.chat([Message("user", "word " * 2000)], SamplingOptions(max_tokens=16))
    # Nothing broke: a short message still works.
    assert engine.chat([Message("user", "Hi")], SamplingOptions(max_tokens=4)).read() != ""
    engine.close()


def test_chat_template_from_metadata_is_applied(chatml_model: Path) -> None:
    engine = Engine()
    model = engine.load(chatml_model, LoadOptions(context_length=512))
    assert model.prompt_format is PromptFormat.TEMPLATE
    assert model.notice is None
    messages = [Message("system", "Be brief."), Message("user", "Hello")]
    tokens, text = engine.render_prompt(messages)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    )
    im_start = 512  # the control token the fixture appended to the vocabulary
    assert tokens[0] == im_start and tokens.count(im_start) == 3
    reply = engine.chat(messages, SamplingOptions(max_tokens=8, seed=1))
    reply.read()
    assert reply.stats is not None and reply.stats.prompt_tokens == len(tokens)
    engine.close()


def test_model_without_template_uses_plain_format_and_says_so(engine: Engine) -> None:
    model = engine.model
    assert model is not None
    assert model.prompt_format is PromptFormat.PLAIN
    assert model.notice and "no chat template" in model.notice
    _, text = engine.render_prompt(
        [
            Message("system", "S"),
            Message("user", "Hi"),
            Message("assistant", "Hello"),
            Message("user", "Bye"),
        ]
    )
    assert text == "S\n\nUser: Hi\nAssistant: Hello\nUser: Bye\nAssistant:"


def test_broken_template_falls_back_to_plain_and_says_why(tmp_path: Path) -> None:
    path = write_llama_gguf(
        tmp_path / "broken.gguf", chat_template="{% for m in messages %}", chatml_tokens=True
    )
    engine = Engine()
    model = engine.load(path, LoadOptions(context_length=256))
    assert model.prompt_format is PromptFormat.PLAIN
    assert model.notice and "broken" in model.notice
    assert engine.chat([Message("user", "Hi")], SamplingOptions(max_tokens=4)).read() is not None
    engine.close()


def test_template_that_refuses_a_conversation_is_a_clear_error(tmp_path: Path) -> None:
    strict = (
        "{% if messages[0]['role'] != 'user' %}"
        "{{ raise_exception('Conversations must start with the user') }}{% endif %}"
        + CHATML_TEMPLATE
    )
    path = write_llama_gguf(tmp_path / "strict.gguf", chat_template=strict, chatml_tokens=True)
    engine = Engine()
    engine.load(path, LoadOptions(context_length=256))
    with pytest.raises(ChatTemplateError, match="must start with the user"):
        engine.chat([Message("system", "S"), Message("user", "Hi")])
    assert engine.chat([Message("user", "Hi")], SamplingOptions(max_tokens=2)).read() is not None
    engine.close()


def test_llama_log_goes_to_python_logging_not_the_terminal(
    stories_model: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="hearth.llama")
    engine = Engine()
    engine.load(stories_model, LoadOptions(context_length=256))
    engine.close()
    out, err = capfd.readouterr()
    assert "llama_model_loader" not in err + out
    assert "print_info" not in err + out
    assert any("llama_model_loader" in r.getMessage() for r in caplog.records)


def test_close_unloads_and_a_new_model_can_be_loaded(
    stories_model: Path, chatml_model: Path
) -> None:
    engine = Engine()
    engine.load(stories_model, LoadOptions(context_length=256))
    engine.load(chatml_model, LoadOptions(context_length=256))
    assert engine.model is not None and engine.model.path == chatml_model
    engine.close()
    assert engine.model is None
    with pytest.raises(NoModelLoadedError):
        engine.complete("Hi")


# -- bad inputs: each a clear, typed error; the engine stays usable --------------------


def _assert_still_usable(engine: Engine, stories_model: Path) -> None:
    engine.load(stories_model, LoadOptions(context_length=256))
    assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
    engine.close()


def test_missing_file(tmp_path: Path, stories_model: Path) -> None:
    engine = Engine()
    with pytest.raises(ModelNotFoundError, match="No model file"):
        engine.load(tmp_path / "nope.gguf")
    _assert_still_usable(engine, stories_model)


def test_text_file_named_gguf(tmp_path: Path, stories_model: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("<html>Not Found</html>\n")
    engine = Engine()
    with pytest.raises(NotAModelFileError, match="not a GGUF model file") as info:
        engine.load(fake)
    assert "GGUF" in info.value.hint
    _assert_still_usable(engine, stories_model)


def test_a_directory(tmp_path: Path, stories_model: Path) -> None:
    engine = Engine()
    with pytest.raises(NotAModelFileError, match="is a folder"):
        engine.load(tmp_path)
    _assert_still_usable(engine, stories_model)


def test_truncated_in_the_header(tmp_path: Path, stories_model: Path) -> None:
    cut = tmp_path / "cut-header.gguf"
    cut.write_bytes(stories_model.read_bytes()[:3000])  # inside the vocabulary
    engine = Engine()
    with pytest.raises(TruncatedModelError, match="ends inside its header") as info:
        engine.load(cut)
    assert "Download it again" in info.value.hint
    _assert_still_usable(engine, stories_model)


def test_truncated_in_the_tensor_data(tmp_path: Path, stories_model: Path) -> None:
    data = stories_model.read_bytes()
    cut = tmp_path / "cut-data.gguf"
    cut.write_bytes(data[: len(data) - 4096])
    engine = Engine()
    with pytest.raises(TruncatedModelError, match="4,096 missing"):
        engine.load(cut)
    _assert_still_usable(engine, stories_model)


def test_unknown_architecture(tmp_path: Path, stories_model: Path) -> None:
    path = write_llama_gguf(tmp_path / "alien.gguf", architecture="hearthnet")
    engine = Engine()
    with pytest.raises(UnsupportedArchitectureError, match="'hearthnet'"):
        engine.load(path)
    _assert_still_usable(engine, stories_model)


def test_context_too_big_for_this_computer(tmp_path: Path, stories_model: Path) -> None:
    # A model trained for two billion tokens of context: its cache cannot fit here.
    path = write_llama_gguf(tmp_path / "long.gguf", shape=ModelShape(n_ctx_train=2_000_000_000))
    engine = Engine()
    with pytest.raises(NotEnoughMemoryError, match="context cache") as info:
        engine.load(path, LoadOptions(context_length=2_000_000_000), back_off=False)
    assert "TB in memory" in str(info.value) and "memory in all" in str(info.value)
    assert "smaller context" in info.value.hint
    _assert_still_usable(engine, stories_model)


def test_out_of_memory_backs_off_to_a_smaller_context_and_says_so(chatml_model: Path) -> None:
    probe = Engine()
    need = {
        n: probe._estimate(
            read_header(chatml_model), LoadOptions(context_length=n), calibrated=True
        )
        for n in (2048, 4096)
    }
    working = {n: e.kv_ram + e.compute_ram + e.overhead_ram for n, e in need.items()}
    free_now = (working[2048] + working[4096]) // 2  # room for 2,048 tokens, not 4,096
    engine = Engine(memory=lambda: (64 * 2**30, free_now))
    with pytest.raises(NotEnoughMemoryError, match=r"only .* is free now"):
        engine.load(chatml_model, LoadOptions(context_length=4096), back_off=False)
    model = engine.load(chatml_model, LoadOptions(context_length=4096))
    assert model.context_length == 2048
    assert model.notice and "Not enough memory" in model.notice and "2,048" in model.notice
    reply = engine.chat([Message("user", "Hi")], SamplingOptions(max_tokens=4, seed=1))
    reply.read()
    engine.close()


def test_each_load_records_what_llama_cpp_allocated(stories_model: Path) -> None:
    store = CalibrationStore()
    engine = Engine(calibration=store)
    model = engine.load(stories_model, LoadOptions(context_length=512))
    assert model.estimate is not None
    key = calibration_key(engine.hardware())
    gpu_factor, ram_factor = store.factors(key)
    assert store.path.exists()
    # The estimate is already close, so the correction stays small.
    assert 0.8 < ram_factor < 1.25 and gpu_factor == 1.0
    engine.close()


def test_context_beyond_the_trained_length_is_lowered_with_a_notice(stories_model: Path) -> None:
    engine = Engine()
    model = engine.load(stories_model, LoadOptions(context_length=8192))
    assert model.context_length == 2048
    assert model.notice and "trained for 2,048 tokens" in model.notice
    engine.close()


# -- stop sequences and grammars -----------------------------------------------------------


def test_a_stop_sequence_ends_the_reply_before_it_and_is_named(engine: Engine) -> None:
    whole = engine.complete("Once upon a time", GREEDY).read()
    assert " named Lily" in whole
    reply = engine.complete("Once upon a time", GREEDY, stop=["Lily", "never written"])
    assert reply.read() == whole[: whole.index("Lily")]
    assert reply.stats is not None
    assert reply.stats.stop_reason is StopReason.END_OF_TEXT
    assert reply.stats.stop_sequence == "Lily"
    plain = engine.complete("Once upon a time", GREEDY)
    plain.read()
    assert plain.stats is not None and plain.stats.stop_sequence is None


def test_a_json_schema_grammar_gives_json_that_validates(engine: Engine) -> None:
    import json

    from app.core.inference.types import Grammar

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": ["Lily", "Tom"]},
            "happy": {"type": "boolean"},
        },
        "required": ["name", "happy"],
    }
    reply = engine.chat([Message("user", "Who is it?")], GREEDY, grammar=Grammar.json(schema))
    value = json.loads(reply.read())
    assert value["name"] in ("Lily", "Tom") and isinstance(value["happy"], bool)
    assert reply.stats is not None and reply.stats.stop_reason is StopReason.END_OF_TEXT
    # Without the grammar the story model writes a story, not JSON.
    free = engine.chat([Message("user", "Who is it?")], GREEDY).read()
    assert not free.lstrip().startswith("{")


def test_any_json_object_is_whole_json(engine: Engine) -> None:
    import json

    from app.core.inference.types import Grammar

    # stories260K writes "<s>" inside strings when it may, and a generated BOS ends a
    # reply; it writes raw newlines, which JSON strings may not hold.
    long = SamplingOptions(temperature=0.0, repeat_penalty=1.1, max_tokens=300)
    reply = engine.chat([Message("user", "Hi")], long, grammar=Grammar.json())
    text = reply.read()
    assert text.startswith("{") and not any(ord(c) < 0x20 for c in text)
    assert reply.stats is not None
    if reply.stats.stop_reason is not StopReason.LENGTH:  # it ended: at the object's end
        assert isinstance(json.loads(text), dict)


def test_a_grammar_llama_cpp_refuses_is_a_clear_error_and_the_engine_goes_on(
    engine: Engine,
) -> None:
    from app.core.inference.types import Grammar, GrammarError

    with pytest.raises(GrammarError, match="cannot follow this grammar"):
        engine.complete("Once upon a time", GREEDY, grammar=Grammar(gbnf="root ::= ???"))
    with pytest.raises(GrammarError, match="JSON schema"):
        engine.complete("Once", GREEDY, grammar=Grammar(json_schema='{"type": "nonsense"}'))
    assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
