"""`hearth serve`'s Anthropic Messages API, called by the real `anthropic` SDK.

This SDK has no temperature parameter any more; requests that need a greedy reply
send it in the body (``extra_body``), as any client may.
"""

from __future__ import annotations

import json

import anthropic
import pytest

from app.core.generation import Message
from tests.support.local_server import (
    Served,
    greedy,
    paced_server,
    served,
    stories_engine,
    stories_server,
)

__all__ = ["paced_server", "served", "stories_engine", "stories_server"]

pytestmark = pytest.mark.slow

HI = [{"role": "user", "content": "Hi"}]
GREEDY = {"temperature": 0}


def test_a_message_is_the_engines_own_reply_with_its_usage(served: Served) -> None:
    message = served.anthropic().messages.create(
        model="stories260K", max_tokens=24, messages=HI, extra_body=GREEDY
    )
    expected = served.engine.chat([Message("user", "Hi")], greedy(24))
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == expected.read()
    assert message.role == "assistant" and message.type == "message"
    assert message.id.startswith("msg_")
    assert message.stop_reason == "max_tokens" and message.stop_sequence is None
    assert expected.stats is not None
    assert message.usage.input_tokens == expected.stats.prompt_tokens
    assert message.usage.output_tokens == 24


def test_a_stream_sends_the_events_the_sdk_expects_in_order(paced_server: Served) -> None:
    client = paced_server.anthropic()
    whole = client.messages.create(
        model="stories260K", max_tokens=24, messages=HI, extra_body=GREEDY
    )
    events = list(
        client.messages.create(
            model="stories260K", max_tokens=24, messages=HI, stream=True, extra_body=GREEDY
        )
    )
    kinds = [event.type for event in events]
    deltas = kinds.count("content_block_delta")
    assert deltas > 1
    assert kinds == [
        "message_start",
        "content_block_start",
        *(["content_block_delta"] * deltas),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the SDK reads ping events and passes them over
    assert events[0].message.usage.input_tokens == whole.usage.input_tokens
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == whole.content[0].text
    assert events[-2].delta.stop_reason == "max_tokens"
    assert events[-2].usage.output_tokens == 24
    # The SDK's own stream helper puts the same message together.
    with client.messages.stream(
        model="stories260K", max_tokens=24, messages=HI, extra_body=GREEDY
    ) as stream:
        assert stream.get_final_text() == whole.content[0].text
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 24


def test_a_stop_sequence_is_named_as_the_stop_reason(served: Served) -> None:
    client = served.anthropic()
    whole = (
        client.messages.create(model="stories260K", max_tokens=24, messages=HI, extra_body=GREEDY)
        .content[0]
        .text
    )
    word = whole.split()[2]
    message = client.messages.create(
        model="stories260K",
        max_tokens=24,
        messages=HI,
        stop_sequences=["never written", word],
        extra_body=GREEDY,
    )
    assert message.content[0].text == whole[: whole.index(word)]
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == word
    with client.messages.stream(
        model="stories260K", max_tokens=24, messages=HI, stop_sequences=[word], extra_body=GREEDY
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == word


def test_system_prompt_as_text_or_blocks_and_a_conversation(served: Served) -> None:
    client = served.anthropic()
    turns = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Tell "}, {"type": "text", "text": "me."}],
        },
    ]
    as_text = client.messages.create(
        model="stories260K",
        max_tokens=16,
        system="You tell stories.",
        messages=turns,
        extra_body=GREEDY,
    )
    as_blocks = client.messages.create(
        model="stories260K",
        max_tokens=16,
        system=[{"type": "text", "text": "You tell stories."}],
        messages=turns,
        extra_body=GREEDY,
    )
    conversation = [
        Message("system", "You tell stories."),
        Message("user", "Hi"),
        Message("assistant", "Hello."),
        Message("user", "Tell me."),
    ]
    expected = served.engine.chat(conversation, greedy(16)).read()
    assert as_text.content[0].text == as_blocks.content[0].text == expected


def test_structured_output_follows_the_json_schema(served: Served) -> None:
    schema = {
        "type": "object",
        "properties": {
            "mood": {"type": "string", "enum": ["happy", "sad"]},
            "count": {"type": "integer"},
        },
        "required": ["mood", "count"],
        "additionalProperties": False,
    }
    message = served.anthropic().messages.create(
        model="stories260K",
        max_tokens=40,
        messages=HI,
        output_config={"format": {"type": "json_schema", "schema": schema}},
        extra_body=GREEDY,
    )
    value = json.loads(message.content[0].text)
    assert value["mood"] in ("happy", "sad") and isinstance(value["count"], int)


# -- errors, in Anthropic's shape ------------------------------------------------------------


def test_an_unknown_model_is_a_not_found_error(served: Served) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        served.anthropic().messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    assert "stories260K" in body["error"]["message"]


def test_too_long_for_the_context_is_an_invalid_request(served: Served) -> None:
    long = [{"role": "user", "content": "The cat sat on the mat. " * 400}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        served.anthropic().messages.create(model="stories260K", max_tokens=8, messages=long)
    body = caught.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "invalid_request_error"
    assert "too long for the context" in body["error"]["message"]


def test_bad_json_and_bad_fields_are_invalid_requests(served: Served) -> None:
    bad = served.request("POST", "/v1/messages", b"{nope")
    assert bad.status == 400
    assert bad.json()["type"] == "error"
    assert bad.json()["error"]["type"] == "invalid_request_error"
    for body, words in [
        ({"model": "stories260K", "messages": HI}, "max_tokens: is required"),
        (
            {"model": "stories260K", "max_tokens": 8, "messages": HI, "temperature": 1.5},
            "between 0 and 1",
        ),
        (
            {
                "model": "stories260K",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}],
            },
            "only text blocks",
        ),
        (
            {"model": "stories260K", "max_tokens": 8, "messages": HI, "tools": [{"name": "x"}]},
            "tools",
        ),
        (
            {
                "model": "stories260K",
                "max_tokens": 8,
                "messages": HI,
                "thinking": {"type": "enabled", "budget_tokens": 1024},
            },
            "thinking is not supported",
        ),
    ]:
        answer = served.request("POST", "/v1/messages", body)
        assert answer.status == 400, body
        error = answer.json()
        assert error["type"] == "error" and words in error["error"]["message"], (body, error)
