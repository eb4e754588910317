"""llama.cpp in its own supervised process: real models, real crashes, real signals.

Crashes are real: the test-only fault hook (``HEARTH_TEST_ENGINE_FAULT``, see
``app/core/inference/host.py``) makes the engine process kill itself with a real signal at
load, during a prompt batch or mid-reply, or stop itself (a hang); other tests send the
signal from here. None of this depends on the CPU having AMX.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.generation import Message, SamplingOptions, StopReason
from app.core.inference.host import FAULT_ENV
from app.core.inference.process import (
    LADDER,
    EngineBusyError,
    EngineCrashedError,
    EngineInfo,
    EngineProcess,
    RecipeStore,
    describe_exit,
    next_rung,
)
from app.core.inference.types import LoadOptions

GREEDY = SamplingOptions(temperature=0.0, repeat_penalty=1.0, max_tokens=40, seed=1)
LONG = SamplingOptions(temperature=0.0, repeat_penalty=1.0, max_tokens=4000, seed=1)
QUESTION = [Message("system", "You are helpful."), Message("user", "Say something.")]

pytestmark = pytest.mark.slow


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[str], None]]:
    """Set the engine fault for engine processes started from now on."""

    def set_fault(spec: str) -> None:
        monkeypatch.setenv(FAULT_ENV, spec.replace("{tmp}", str(tmp_path)))

    yield set_fault


def raw_greedy(
    path: Path, prompt: str, *, extra_buffers: bool, tokens: int = 40, chat: bool = False
) -> str:
    """What llama-cpp-python itself writes for ``prompt``, greedy (in this process).

    A ``chat`` prompt is rendered template text: tokenized as llama-cpp-python's own chat
    completion does (special tokens, no extra BOS: the template brings its own).
    """
    from app.core.inference.runtime import HearthLlama

    raw = HearthLlama(
        model_path=str(path), n_ctx=1024, verbose=True, extra_buffers=extra_buffers, seed=1
    )
    try:
        source: str | list[int] = prompt
        if chat:
            source = raw.tokenize(prompt.encode(), add_bos=False, special=True)
        out = raw.create_completion(
            source, temperature=0.0, repeat_penalty=1.0, max_tokens=tokens, seed=1
        )
    finally:
        raw.close()
    return str(out["choices"][0]["text"])


def visible(text: str) -> str:
    """Text without U+FFFD: for a byte that is not valid UTF-8 (random weights write such
    tokens) Hearth shows the replacement character, llama-cpp-python drops the byte."""
    return text.replace("\ufffd", "")


# -- the same output as the library, through the process --------------------------------


@pytest.mark.parametrize("quant", ["Q4_K_M", "Q8_0", "Q4_0"])
def test_quantized_models_chat_through_the_process_like_raw_llama_cpp(
    quantized_models: dict[str, Path], quant: str
) -> None:
    path = quantized_models[quant]
    engine = EngineProcess()
    try:
        engine.load(path, LoadOptions(context_length=1024))
        reply = engine.chat(QUESTION, GREEDY)
        ours = reply.read()
        assert reply.stats is not None
        assert reply.stats.stop_reason in (StopReason.LENGTH, StopReason.END_OF_TEXT)
        assert ours
        # The same prompt text, straight through llama-cpp-python, in the configuration
        # the engine ended up with (an AMX machine may have needed a rung down).
        extra = engine.model is not None and engine.model.options.extra_buffers
        prompt = (
            "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in QUESTION)
            + "<|im_start|>assistant\n"
        )
    finally:
        engine.close()
    assert visible(ours) == visible(raw_greedy(path, prompt, extra_buffers=extra, chat=True))


def test_stories_model_streams_the_same_story_as_raw_llama_cpp(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        pieces = list(engine.complete("Once upon a time", GREEDY))
    finally:
        engine.close()
    assert len(pieces) > 1  # streamed, not one lump
    ours = "".join(pieces)
    assert "Lily" in ours
    assert ours == raw_greedy(stories_model, "Once upon a time", extra_buffers=True)


def test_stop_mid_reply_and_the_next_turn_reuses_the_prefix(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        history = [Message("user", "Tell a story.")]
        reply = engine.chat(history, LONG, ignore_eos=True)
        for count, _ in enumerate(reply, start=1):
            if count == 10:
                engine.stop()
        assert reply.stats is not None
        assert reply.stats.stop_reason is StopReason.USER
        # Pieces cross in batches of up to 100 ms: the stop lands within about that.
        assert reply.stats.completion_tokens < 2000
        history += [Message("assistant", reply.text), Message("user", "And then?")]
        follow = engine.chat(history, GREEDY)
        follow.read()
        assert follow.stats is not None
        assert follow.stats.cached_tokens >= reply.stats.prompt_tokens
    finally:
        engine.close()


def test_stop_during_a_long_prompt(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=2048))
        prompt = "The cat sat on the mat and looked at the sun. " * 50
        reply = engine.complete(prompt, GREEDY)
        engine.stop()  # before the first token: only llama.cpp's abort callback can act
        assert reply.read() == ""
        assert reply.stats is not None
        assert reply.stats.stop_reason is StopReason.USER
        assert reply.stats.completion_tokens == 0
        assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
    finally:
        engine.close()


def test_closing_a_reply_early_frees_the_engine_for_the_next(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        reply = engine.complete("Once upon a time", LONG)
        for count, _ in enumerate(reply):
            if count == 3:
                break
        reply.close()
        assert reply.stats is not None
        assert reply.stats.stop_reason is StopReason.USER
        # The next request is not served the rest of the first one.
        assert engine.complete("Once upon a time", GREEDY).read().startswith(", there was")
    finally:
        engine.close()


def test_load_errors_come_back_typed_and_the_engine_lives_on(
    tmp_path: Path, stories_model: Path
) -> None:
    from app.core.errors import NotAModelFileError

    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    engine = EngineProcess()
    try:
        with pytest.raises(NotAModelFileError):
            engine.load(text)
        assert engine.restarts == 0
        engine.load(stories_model, LoadOptions(context_length=512))
        assert engine.complete("Once upon a time", GREEDY).read()
    finally:
        engine.close()


# -- two clients ------------------------------------------------------------------------


def test_two_clients_take_turns_and_nothing_interleaves(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        alone = engine.complete("Once upon a time", GREEDY).read()
        other_alone = engine.complete("The dog", GREEDY).read()

        first = engine.complete("Once upon a time", GREEDY)
        with pytest.raises(EngineBusyError):
            engine.complete("The dog", GREEDY, wait=False)
        results: dict[str, str] = {}
        order: list[str] = []

        def second_client() -> None:
            reply = engine.complete("The dog", GREEDY)  # waits for its turn
            order.append("second started")
            results["second"] = reply.read()

        thread = threading.Thread(target=second_client)
        thread.start()
        time.sleep(0.3)
        assert not order  # still waiting: the first reply holds the engine
        results["first"] = first.read()
        order.append("first done")
        thread.join(timeout=60)
    finally:
        engine.close()
    assert order == ["first done", "second started"]
    assert results == {"first": alone, "second": other_alone}


def test_a_waiting_chat_hears_how_many_requests_are_ahead(stories_model: Path) -> None:
    engine = EngineProcess()
    heard: list[int] = []
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        first = engine.complete("Once upon a time", GREEDY)  # holds the engine
        second = threading.Thread(target=lambda: engine.complete("The dog", GREEDY).read())
        second.start()
        time.sleep(0.2)  # the second asked before the chat
        done = threading.Event()

        def chat() -> None:
            engine.chat(QUESTION, GREEDY, on_wait=heard.append).read()
            done.set()

        threading.Thread(target=chat).start()
        deadline = time.monotonic() + 10
        while heard != [2] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert heard == [2]
        first.read()
        second.join(timeout=60)
        assert done.wait(60)
        # Without a wait it hears nothing.
        quiet: list[int] = []
        engine.chat(QUESTION, GREEDY, on_wait=quiet.append).read()
    finally:
        engine.close()
    assert heard == [2, 1, 0] and quiet == []


def test_stopping_one_reply_never_stops_the_next_clients(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        first = engine.complete("Once upon a time", GREEDY)
        first.read()
        second = engine.complete("Once upon a time", LONG, ignore_eos=True)
        engine.stop(first)  # late: the first reply is over, the second one runs
        pieces = 0
        for pieces, _ in enumerate(second, start=1):
            if pieces == 3:
                engine.stop(second)
        assert second.stats is not None
        assert second.stats.stop_reason is StopReason.USER
        assert 3 <= second.stats.completion_tokens < 2000
    finally:
        engine.close()


def test_stop_sequences_and_grammars_cross_the_process(stories_model: Path) -> None:
    import json

    from app.core.inference.types import Grammar, GrammarError

    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        assert engine.count_tokens(["Once upon a time", ""]) == [5, 1]  # with BOS
        reply = engine.complete("Once upon a time", GREEDY, stop=["Lily"])
        assert reply.read() == ", there was a little girl named "
        assert reply.stats is not None and reply.stats.prompt_tokens == 5
        assert reply.stats is not None and reply.stats.stop_sequence == "Lily"
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        shaped = engine.chat(QUESTION, GREEDY, grammar=Grammar.json(schema)).read()
        assert isinstance(json.loads(shaped)["ok"], bool)
        with pytest.raises(GrammarError):
            engine.chat(QUESTION, GREEDY, grammar=Grammar(gbnf="root ::= ???"))
        assert engine.complete("Once upon a time", GREEDY).read().startswith(", there was")
    finally:
        engine.close()


# -- crashes ------------------------------------------------------------------------------


def test_amx_style_crash_at_the_first_batch_is_recovered_by_the_ladder(
    quantized_models: dict[str, Path], fault: Callable[[str], None], hearth_home: Path
) -> None:
    # As on a Sapphire Rapids Xeon: every multi-token batch crashes in the extra buffers.
    fault("prompt:SIGSEGV:when=extra_buffers")
    path = quantized_models["Q4_0"]
    notices: list[str] = []
    engine = EngineProcess(on_notice=notices.append)
    try:
        engine.load(path, LoadOptions(context_length=1024))
        reply = engine.chat(QUESTION, GREEDY)
        text = reply.read()
        assert reply.stats is not None
        # A whole reply, after a retry the user did not have to ask for.
        assert reply.stats.stop_reason in (StopReason.LENGTH, StopReason.END_OF_TEXT)
        assert text
        assert "segmentation fault" in (reply.stats.notice or "")
        assert "extra weight buffers" in (reply.stats.notice or "")
        assert notices and "SIGSEGV" in notices[0]
        assert engine.restarts == 1
        assert engine.model is not None
        assert engine.model.options.extra_buffers is False
    finally:
        engine.close()
    prompt = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in QUESTION)
    theirs = raw_greedy(path, prompt + "<|im_start|>assistant\n", extra_buffers=False, chat=True)
    assert visible(text) == visible(theirs)

    # The next load goes straight to what worked, and says so: no crash this time.
    again = EngineProcess()
    try:
        model = again.load(path, LoadOptions(context_length=1024))
        assert model.options.extra_buffers is False
        assert "crashed llama.cpp on this computer before" in (model.notice or "")
        assert again.chat(QUESTION, GREEDY).read() == text
        assert again.restarts == 0
    finally:
        again.close()
    recipes = (hearth_home / "cache" / "engine-recipes.json").read_text()
    assert "no-extra-buffers" in recipes and path.name in recipes


def test_a_crash_at_load_restarts_one_rung_down(
    stories_model: Path, fault: Callable[[str], None]
) -> None:
    fault("load:SIGABRT:when=extra_buffers")
    engine = EngineProcess()
    try:
        model = engine.load(stories_model, LoadOptions(context_length=512))
        assert model.options.extra_buffers is False
        assert "SIGABRT" in (model.notice or "")
        assert engine.restarts == 1
        assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
    finally:
        engine.close()


def test_killed_mid_reply_keeps_what_was_streamed(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=2048))
        reply = engine.complete("Once upon a time", LONG, ignore_eos=True)
        pid = engine.pid
        assert pid is not None
        for count, _ in enumerate(reply, start=1):
            if count == 20:
                os.kill(pid, signal.SIGKILL)  # as the out-of-memory killer would
        assert reply.stats is not None
        assert reply.stats.stop_reason is StopReason.CRASHED
        assert "SIGKILL" in (reply.stats.notice or "")
        assert "restarted" in (reply.stats.notice or "")
        kept = reply.text
        assert kept.startswith(", there was a little girl named Lily")
        # A new engine process, with the model loaded again, answers at once.
        assert engine.pid != pid
        assert engine.model is not None
        assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
    finally:
        engine.close()


def test_segfault_mid_reply_from_the_engine_itself(
    stories_model: Path, fault: Callable[[str], None]
) -> None:
    fault("reply:SIGSEGV:after=12:once={tmp}/segv-once")
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        reply = engine.complete("Once upon a time", LONG, ignore_eos=True)
        text = reply.read()
        assert reply.stats is not None
        assert reply.stats.stop_reason is StopReason.CRASHED
        assert "segmentation fault" in (reply.stats.notice or "")
        assert "SIGSEGV, signal 11" in (reply.stats.notice or "")
        assert text and ", there was a little girl".startswith(text[:20])
        assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
    finally:
        engine.close()


def test_killed_while_reading_a_long_prompt_is_retried(
    stories_model: Path, fault: Callable[[str], None]
) -> None:
    fault("prompt:SIGKILL:once={tmp}/kill-once")
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=2048))
        prompt = "The cat sat on the mat and looked at the sun. " * 60 + "Once upon a time"
        reply = engine.complete(prompt, GREEDY)
        text = reply.read()
        assert reply.stats is not None
        assert reply.stats.stop_reason is not StopReason.CRASHED
        assert text  # the retry wrote the reply; the user saw only a notice
        assert "SIGKILL" in (reply.stats.notice or "")
        assert engine.restarts == 1
    finally:
        engine.close()


def test_a_model_that_crashes_every_way_gives_up_with_a_clear_message(
    stories_model: Path, fault: Callable[[str], None]
) -> None:
    fault("prompt:SIGSEGV")
    engine = EngineProcess()
    started = time.monotonic()
    try:
        engine.load(stories_model, LoadOptions(context_length=512, batch_size=512))
        with pytest.raises(EngineCrashedError) as caught:
            engine.complete("Once upon a time", GREEDY).read()
        message = caught.value.describe()
        assert "gave up" in message
        assert "segmentation fault" in message
        assert caught.value.hint
        # No restart loop: one restart per rung that changes something, then no model.
        assert 1 <= engine.restarts < len(LADDER)
        assert engine.model is None
        from app.core.errors import NoModelLoadedError

        with pytest.raises(NoModelLoadedError):
            engine.complete("Once upon a time", GREEDY)
    finally:
        engine.close()
    assert time.monotonic() - started < 120


def test_a_model_that_crashes_at_every_load_gives_up(
    stories_model: Path, fault: Callable[[str], None]
) -> None:
    fault("load:SIGSEGV")
    engine = EngineProcess()
    try:
        with pytest.raises(EngineCrashedError) as caught:
            engine.load(stories_model, LoadOptions(context_length=512))
        assert "every way Hearth knows" in str(caught.value)
        assert str(caught.value).count("SIGSEGV") == engine.restarts + 1
    finally:
        engine.close()


def test_a_hung_engine_is_treated_like_a_crash(
    stories_model: Path, fault: Callable[[str], None]
) -> None:
    fault("reply:HANG:after=5:once={tmp}/hang-once")
    engine = EngineProcess(hang_seconds=3)
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        started = time.monotonic()
        reply = engine.complete("Once upon a time", LONG, ignore_eos=True)
        reply.read()
        assert time.monotonic() - started < 30
        assert reply.stats is not None
        assert reply.stats.stop_reason is StopReason.CRASHED
        assert "no progress for 3 s" in (reply.stats.notice or "")
        assert reply.text  # what came before the hang is kept
        assert "Lily" in engine.complete("Once upon a time", GREEDY).read()
    finally:
        engine.close()


def test_a_long_prompt_is_not_mistaken_for_a_hang(quantized_models: dict[str, Path]) -> None:
    # Reading this prompt takes longer than the hang limit; progress pings keep it alive.
    engine = EngineProcess(hang_seconds=1.5)
    try:
        engine.load(quantized_models["Q8_0"], LoadOptions(context_length=4096, batch_size=512))
        prompt = "The cat sat on the mat. " * 400
        started = time.monotonic()
        reply = engine.complete(prompt, SamplingOptions(temperature=0.0, max_tokens=2))
        reply.read()
        took = time.monotonic() - started
        assert reply.stats is not None
        if took > 3:  # the machine was slow enough for the check to mean something
            assert reply.stats.stop_reason is not StopReason.CRASHED, reply.stats.notice
            assert engine.restarts == 0
    finally:
        engine.close()


def test_exit_codes_in_plain_words() -> None:
    assert describe_exit(-11).startswith("a memory access fault (segmentation fault)")
    assert "SIGILL" in describe_exit(-4) and "instruction" in describe_exit(-4)
    assert "out of memory" not in describe_exit(-9) and "memory runs out" in describe_exit(-9)
    assert describe_exit(3) == "it exited with code 3"


def test_the_ladder_skips_rungs_that_change_nothing() -> None:
    info = EngineInfo(pid=1, machine="m")
    cpu = LoadOptions(gpu_layers=0, batch_size=64)
    # extra buffers off, then nothing else applies on a CPU-only, small-batch load
    assert next_rung(cpu, 0, info) == 1
    assert next_rung(cpu, 1, info) is None
    gpu = LoadOptions(gpu_layers=-1, batch_size=512)
    rungs = [0]
    while (lower := next_rung(gpu, rungs[-1], info)) is not None:
        rungs.append(lower)
    assert [LADDER[r].name for r in rungs] == [
        "as-asked",
        "no-extra-buffers",
        "small-batch",
        "half-gpu",
        "cpu-only",
    ]
    portable = EngineInfo(
        pid=1,
        machine="m",
        cpu_variant="sapphirerapids",
        cpu_variants=("sapphirerapids", "icelake", "haswell"),
    )
    assert next_rung(cpu, 1, portable) == len(LADDER) - 1
    assert portable.lower_variant(None) == "icelake"
    assert portable.lower_variant("haswell") is None


def test_a_damaged_recipe_file_is_ignored(tmp_path: Path) -> None:
    store = RecipeStore(tmp_path / "engine-recipes.json")
    store.path.write_text("{not json")
    assert store.rung("anything") == 0
    store.remember("k", 2, crash="test")
    assert store.rung("k") == 2


# -- the CLI and the self-test --------------------------------------------------------------


def _hearth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )


def test_cli_chat_recovers_from_an_amx_style_crash(stories_model: Path, tmp_path: Path) -> None:
    result = _hearth(
        "chat", "--model", str(stories_model), "--temperature", "0", "--max-tokens", "20",
        "--prompt", "Once upon a time",
        env={FAULT_ENV: "prompt:SIGSEGV:when=extra_buffers"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "segmentation fault" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_chat_exits_1_with_a_message_when_the_engine_always_crashes(
    stories_model: Path,
) -> None:
    result = _hearth(
        "chat", "--model", str(stories_model), "--prompt", "Once upon a time",
        env={FAULT_ENV: "prompt:SIGSEGV"},
    )  # fmt: skip
    assert result.returncode == 1  # never 139
    assert "hearth: " in result.stderr and "gave up" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_chat_killed_mid_reply_keeps_the_text_and_exits_1(
    stories_model: Path, tmp_path: Path
) -> None:
    result = _hearth(
        "chat", "--model", str(stories_model), "--temperature", "0", "--max-tokens", "300",
        "--prompt", "Once upon a time",
        env={FAULT_ENV: f"reply:SIGKILL:after=30:once={tmp_path}/once"},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.strip()  # what was streamed stays on the screen
    assert "SIGKILL" in result.stderr and "stopped unexpectedly" in result.stderr


def test_self_test_names_an_engine_crash_as_a_failed_step(stories_model: Path) -> None:
    result = _hearth("--self-test", "--model", str(stories_model), env={FAULT_ENV: "load:SIGSEGV"})
    assert result.returncode == 1  # not 139
    output = result.stdout + result.stderr
    assert "FAILED" in output and "crashed" in output and "SIGSEGV" in output


def test_a_reply_dropped_unread_does_not_hold_the_engine(stories_model: Path) -> None:
    import gc

    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=1024))
        engine.complete("Once upon a time", GREEDY)  # never read
        gc.collect()
        assert "Lily" in engine.complete("Once upon a time", GREEDY, wait=False).read()
    finally:
        engine.close()


def test_doctor_lists_and_forgets_what_crashed(
    stories_model: Path, fault: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    fault("load:SIGSEGV:when=extra_buffers")
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=512))
    finally:
        engine.close()
    assert main(["doctor"]) == 0
    shown = capsys.readouterr().out
    assert "Crashed    stories260K.gguf runs with 'no-extra-buffers'" in shown
    assert main(["doctor", "--forget-crashes"]) == 0
    assert "Forgot the safer settings of 1 model(s)" in capsys.readouterr().out
    assert main(["doctor"]) == 0
    assert "Crashed" not in capsys.readouterr().out


def test_close_does_not_hang_on_a_reply_its_reader_abandoned(stories_model: Path) -> None:
    engine = EngineProcess()
    engine.load(stories_model, LoadOptions(context_length=1024))
    reply = engine.complete("Once upon a time", LONG, ignore_eos=True)
    pieces = iter(reply)
    next(pieces)  # the reader stops here, holding the reply (an exception, say)
    pid = engine.pid
    assert pid is not None
    started = time.monotonic()
    engine.close()
    assert time.monotonic() - started < 30
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the engine process is gone
    del pieces, reply


def test_a_reply_closed_before_it_is_read_frees_the_engine_at_once(stories_model: Path) -> None:
    engine = EngineProcess()
    try:
        engine.load(stories_model, LoadOptions(context_length=512))
        unread = engine.chat(
            [Message("user", "Once upon a time")],
            SamplingOptions(temperature=0.0, max_tokens=400),
            ignore_eos=True,
        )
        unread.close()  # never iterated
        assert unread.stats is not None and unread.stats.stop_reason is StopReason.USER
        # The engine is free now (not at garbage collection): the next reply need not wait.
        nxt = engine.chat(
            [Message("user", "Hi")], SamplingOptions(temperature=0.0, max_tokens=4), wait=False
        )
        assert nxt.read() and nxt.stats is not None
        assert nxt.stats.stop_reason is not StopReason.USER
    finally:
        engine.close()
