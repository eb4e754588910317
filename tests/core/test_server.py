"""`hearth serve`'s OpenAI API, called by the real `openai` SDK over loopback.

The server runs in this process (uvicorn on a free port) over a real engine process
with stories260K; a ChatML model shows the chat template at work. Replies are greedy,
so each is compared with what the engine itself writes for the same request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from app.core.generation import Message
from app.core.inference import EngineProcess
from tests.support.local_server import (
    Served,
    engine_for,
    greedy,
    paced_server,
    served,
    serving,
    stories_engine,
    stories_server,
)

__all__ = ["paced_server", "served", "stories_engine", "stories_server"]

pytestmark = pytest.mark.slow

HI = [{"role": "user", "content": "Hi"}]


def engine_reply(
    engine: EngineProcess, messages: list[Message], max_tokens: int, **kw: object
) -> str:
    return engine.chat(messages, greedy(max_tokens), **kw).read()  # type: ignore[arg-type]


# -- models and health ------------------------------------------------------------------------


def test_models_lists_the_loaded_model_and_health_says_ok(served: Served) -> None:
    client = served.openai()
    assert [m.id for m in client.models.list()] == ["stories260K"]
    assert client.models.retrieve("stories260K").owned_by == "hearth"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")
    health = served.request("GET", "/health")
    assert health.status == 200
    assert health.json() == {"status": "ok", "model": "stories260K", "running": 0, "waiting": 0}


# -- chat -------------------------------------------------------------------------------------


def test_chat_is_the_engines_own_reply_with_its_usage(served: Served) -> None:
    client = served.openai()
    answer = client.chat.completions.create(
        model="stories260K", messages=HI, temperature=0, max_tokens=24
    )
    expected = served.engine.chat([Message("user", "Hi")], greedy(24))
    assert answer.choices[0].message.content == expected.read()
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].finish_reason == "length"
    assert expected.stats is not None
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == expected.stats.prompt_tokens
    assert answer.usage.completion_tokens == 24
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 24
    assert answer.object == "chat.completion" and answer.id.startswith("chatcmpl-")


def test_streamed_chat_says_the_same_and_usage_comes_last_when_asked(
    paced_server: Served,
) -> None:
    client = paced_server.openai()
    whole = client.chat.completions.create(
        model="stories260K", messages=HI, temperature=0, max_tokens=24
    )
    chunks = list(
        client.chat.completions.create(
            model="stories260K",
            messages=HI,
            temperature=0,
            max_tokens=24,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # streamed
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert not chunks[-1].choices and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 24
    assert all(c.usage is None for c in chunks[:-1])
    plain = list(
        client.chat.completions.create(
            model="stories260K", messages=HI, temperature=0, max_tokens=8, stream=True
        )
    )
    assert all(c.usage is None for c in plain) and plain[-1].choices


def test_a_stop_sequence_ends_the_reply_before_it(served: Served) -> None:
    client = served.openai()
    whole = (
        client.chat.completions.create(
            model="stories260K", messages=HI, temperature=0, max_tokens=24
        )
        .choices[0]
        .message.content
    )
    assert whole
    word = whole.split()[2]  # a word the greedy reply is known to write
    for stream in (False, True):
        if stream:
            chunks = client.chat.completions.create(
                model="stories260K",
                messages=HI,
                temperature=0,
                max_tokens=24,
                stop=[word, "never written"],
                stream=True,
            )
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            answer = client.chat.completions.create(
                model="stories260K", messages=HI, temperature=0, max_tokens=24, stop=word
            )
            text = answer.choices[0].message.content or ""
            assert answer.choices[0].finish_reason == "stop"
        assert text == whole[: whole.index(word)]


def test_system_and_developer_messages_are_one_system_prompt(served: Served) -> None:
    client = served.openai()
    answer = client.chat.completions.create(
        model="stories260K",
        messages=[
            {"role": "system", "content": "You tell stories."},
            {"role": "developer", "content": [{"type": "text", "text": "Short ones."}]},
            *HI,
        ],
        temperature=0,
        max_tokens=16,
    )
    messages = [Message("system", "You tell stories.\n\nShort ones."), Message("user", "Hi")]
    assert answer.choices[0].message.content == engine_reply(served.engine, messages, 16)


def test_the_same_seed_gives_the_same_sampled_reply(served: Served) -> None:
    client = served.openai()

    def sampled(seed: int) -> str | None:
        return (
            client.chat.completions.create(
                model="stories260K", messages=HI, temperature=1.0, seed=seed, max_tokens=24
            )
            .choices[0]
            .message.content
        )

    assert sampled(7) == sampled(7)
    assert len({sampled(seed) for seed in (1, 2, 3)}) > 1
    assert len({sampled(-1) for _ in range(3)}) > 1  # negative: a new random seed each time


def test_json_schema_output_parses_and_validates(served: Served) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": ["Lily", "Tom", "Sue"]},
            "age": {"type": "integer"},
            "happy": {"type": "boolean"},
        },
        "required": ["name", "age", "happy"],
        "additionalProperties": False,
    }
    client = served.openai()
    for stream in (False, True):
        request = {
            "model": "stories260K",
            "messages": [{"role": "user", "content": "Who is in the story?"}],
            "temperature": 0,
            "max_tokens": 60,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "character", "schema": schema, "strict": True},
            },
        }
        if stream:
            chunks = client.chat.completions.create(**request, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            text = client.chat.completions.create(**request).choices[0].message.content or ""
        value = json.loads(text)
        assert set(value) == {"name", "age", "happy"}
        assert value["name"] in ("Lily", "Tom", "Sue")
        assert isinstance(value["age"], int) and not isinstance(value["age"], bool)
        assert isinstance(value["happy"], bool)
    # Any JSON object: a story model may still be writing one when max_tokens comes.
    anything = client.chat.completions.create(
        model="stories260K",
        messages=HI,
        temperature=0,
        max_tokens=400,
        response_format={"type": "json_object"},
    ).choices[0]
    text = anything.message.content or ""
    assert text.startswith("{")
    assert not any(ord(c) < 0x20 for c in text)  # no raw control characters inside strings
    if anything.finish_reason == "stop":
        assert isinstance(json.loads(text), dict)


def test_the_chat_template_renders_the_conversation(
    chatml_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with (
        engine_for(chatml_model, tmp_path_factory.mktemp("chatml-home")) as engine,
        serving(engine) as server,
    ):
        messages = [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi."},
            {"role": "user", "content": "Bye"},
        ]
        answer = server.openai().chat.completions.create(
            model="chatml-tiny", messages=messages, temperature=0, max_tokens=12
        )
        direct = engine.chat([Message(m["role"], m["content"]) for m in messages], greedy(12))
        assert answer.choices[0].message.content == direct.read()
        assert direct.stats is not None and answer.usage is not None
        assert answer.usage.prompt_tokens == direct.stats.prompt_tokens
        # ChatML: each message is <|im_start|>role\ncontent<|im_end|>\n, one token each marker.
        assert answer.usage.prompt_tokens > 4 * 4


# -- completions ------------------------------------------------------------------------------


def test_completions_continue_the_prompt_streamed_or_not(served: Served) -> None:
    client = served.openai()
    answer = client.completions.create(
        model="stories260K", prompt="Once upon a time", temperature=0, max_tokens=20
    )
    text = answer.choices[0].text
    assert text.startswith(", there was a little girl named Lily")
    assert answer.usage is not None and answer.usage.completion_tokens == 20
    assert answer.choices[0].finish_reason == "length"
    chunks = list(
        client.completions.create(
            model="stories260K",
            prompt="Once upon a time",
            temperature=0,
            max_tokens=20,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == text
    assert (
        chunks[-1].usage is not None
        and chunks[-1].usage.prompt_tokens == answer.usage.prompt_tokens
    )
    stopped = client.completions.create(
        model="stories260K", prompt="Once upon a time", temperature=0, max_tokens=20, stop=["Lily"]
    )
    assert stopped.choices[0].text == ", there was a little girl named "
    assert stopped.choices[0].finish_reason == "stop"
    default = client.completions.create(
        model="stories260K", prompt="Once upon a time", temperature=0
    )
    assert default.usage is not None and default.usage.completion_tokens == 16  # OpenAI's default


# -- errors, in OpenAI's shape ------------------------------------------------------------------


def test_an_unknown_model_is_a_404_that_names_the_served_one(served: Served) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        served.openai().chat.completions.create(model="gpt-4o", messages=HI)
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "'gpt-4o' is not loaded" in error["message"] and "stories260K" in error["message"]


def test_a_message_too_long_for_the_context_is_a_400_and_the_server_goes_on(served: Served) -> None:
    client = served.openai()
    long = "The cat sat on the mat. " * 400
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="stories260K", messages=[{"role": "user", "content": long}], max_tokens=10
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "context_length_exceeded"
    assert "too long for the context" in body["message"]
    assert client.completions.create(model="stories260K", prompt="Once", max_tokens=4).choices


def test_bad_json_and_bad_fields_are_400s_in_openai_shape(served: Served) -> None:
    bad = served.request("POST", "/v1/chat/completions", b'{"model": "stories260K", ')
    assert bad.status == 400
    error = bad.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_json"
    assert "not valid JSON" in error["message"]
    for body, param, words in [
        ([], None, "must be a JSON object"),
        ({"model": "stories260K"}, "messages", "is required"),
        ({"model": "stories260K", "messages": []}, "messages", "at least one"),
        ({"model": "stories260K", "messages": HI, "temperature": "hot"}, "temperature", "number"),
        ({"model": "stories260K", "messages": HI, "temperature": 9}, "temperature", "between 0"),
        ({"model": "stories260K", "messages": HI, "max_tokens": 10**6}, "max_tokens", "at most"),
        ({"model": "stories260K", "messages": HI, "n": 2}, "n", "one choice"),
        (
            {"model": "stories260K", "messages": HI, "tools": [{"type": "function"}]},
            "tools",
            "tools",
        ),
        (
            {"model": "stories260K", "messages": [{"role": "assistant", "content": "Hi"}]},
            "messages",
            "last message must be the user's",
        ),
        (
            {"model": "stories260K", "messages": [{"role": "tool", "content": "42"}]},
            "messages[0].role",
            "not supported",
        ),
        (
            {
                "model": "stories260K",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            "messages[0].content[0]",
            "only text parts",
        ),
        (
            {"model": "stories260K", "messages": HI, "response_format": {"type": "xml"}},
            "response_format.type",
            "not text",
        ),
    ]:
        answer = served.request("POST", "/v1/chat/completions", json.dumps(body).encode())
        assert answer.status == 400, body
        error = answer.json()["error"]
        assert words in error["message"], (body, error)
        assert error["param"] == param, (body, error)


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "object", "$ref": "#/nowhere"}, "cannot follow this JSON schema"),
        # Not silently dropped: the converter has no rule for numeric bounds.
        (
            {"type": "object", "properties": {"age": {"type": "integer", "minimum": 1}}},
            "cannot enforce minimum",
        ),
    ],
)
def test_a_schema_llama_cpp_cannot_keep_to_is_a_400(
    served: Served, schema: dict[str, object], words: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        served.openai().chat.completions.create(
            model="stories260K",
            messages=HI,
            max_tokens=8,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "response_format"
    assert words in body["message"]


def test_an_unknown_path_and_a_wrong_method_answer_in_openai_shape(served: Served) -> None:
    missing = served.request("GET", "/v1/files")
    assert missing.status == 404 and "error" in missing.json()
    wrong = served.request("GET", "/v1/chat/completions")
    assert wrong.status == 405 and "error" in wrong.json()


# -- embeddings ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_embeddings(
    stories_engine: EngineProcess, embedding_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("embedder-home")
    with (
        engine_for(embedding_model, home, context_length=512, embedding=True) as embedder,
        serving(stories_engine, embedder=embedder) as server,
    ):
        yield server


def test_embeddings_come_from_the_embedding_model(with_embeddings: Served) -> None:
    client = with_embeddings.openai()
    assert [m.id for m in client.models.list()] == ["stories260K", "all-MiniLM-L6-v2-f16"]
    texts = ["A cat sits on the mat.", "A kitten rests on a rug.", "Quarterly tax filing."]
    answer = client.embeddings.create(model="all-MiniLM-L6-v2-f16", input=texts)  # base64
    as_floats = client.embeddings.create(
        model="all-MiniLM-L6-v2-f16", input=texts, encoding_format="float"
    )
    cat, kitten, tax = (item.embedding for item in answer.data)
    assert [len(v) for v in (cat, kitten, tax)] == [384, 384, 384]
    assert [d.index for d in answer.data] == [0, 1, 2]
    for ours, floats in zip(answer.data, as_floats.data, strict=True):
        assert max(abs(a - b) for a, b in zip(ours.embedding, floats.embedding, strict=True)) < 1e-6

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert abs(cosine(cat, cat) - 1) < 1e-4
    assert cosine(cat, kitten) > cosine(cat, tax) + 0.2
    assert answer.usage.prompt_tokens > 10
    single = client.embeddings.create(model="all-MiniLM-L6-v2-f16", input="A cat sits on the mat.")
    assert max(abs(a - b) for a, b in zip(single.data[0].embedding, cat, strict=True)) < 1e-4


def test_embedding_errors_say_what_to_send(with_embeddings: Served, served: Served) -> None:
    client = with_embeddings.openai()
    with pytest.raises(
        openai.BadRequestError, match=r"has .* tokens; the embedding model reads at most 512"
    ):
        client.embeddings.create(model="all-MiniLM-L6-v2-f16", input=["word " * 700])
    with pytest.raises(openai.BadRequestError, match="not tokens"):
        client.embeddings.create(model="all-MiniLM-L6-v2-f16", input=[[1, 2, 3]])
    with pytest.raises(openai.NotFoundError, match="stories260K"):
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    with pytest.raises(openai.NotFoundError, match="--embedding-model"):
        served.openai().embeddings.create(model="all-MiniLM-L6-v2-f16", input="hi")
