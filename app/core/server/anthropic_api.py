"""Anthropic's Messages API: POST /v1/messages, plain and streamed.

A streamed reply sends the events Anthropic's SDK reads, in its order:
``message_start``, ``content_block_start``, ``ping``, a ``content_block_delta`` per
batch of pieces, ``content_block_stop``, ``message_delta`` (stop reason, output tokens),
``message_stop``; a failure after the start is an ``error`` event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.core.generation import Message, ReplyStats, StopReason
from app.core.inference import Grammar
from app.core.server.backend import Backend, TextJob
from app.core.server.errors import Api, ApiError
from app.core.server.openai_api import backend_of, crash_error, finish, start
from app.core.server.requests import Fields, read_json
from app.core.server.streams import EventStream, ReplyStream


def event(name: str, data: dict[str, Any]) -> bytes:
    body = json.dumps({"type": name, **data}, separators=(",", ":")).encode("utf-8")
    return b"event: " + name.encode("ascii") + b"\ndata: " + body + b"\n\n"


def stop_reason(stats: ReplyStats | None) -> tuple[str, str | None]:
    """Anthropic's stop reason and the stop sequence that ended the reply, if one did."""
    if stats is None:
        return "end_turn", None
    if stats.stop_reason in (StopReason.LENGTH, StopReason.CONTEXT):
        return "max_tokens", None
    if stats.stop_sequence is not None:
        return "stop_sequence", stats.stop_sequence
    return "end_turn", None


def block_text(fields: Fields, key: str) -> str:
    """Content as a string, or an array of text blocks."""
    text = fields.text_parts(key, parts="text blocks")
    if text is None:
        raise fields.invalid(key, "must be a string or an array of text blocks.")
    return text


def conversation(fields: Fields, backend: Backend) -> list[Message]:
    items = fields.messages(most=backend.limits.max_messages)
    messages = []
    system = block_text(fields, "system") if fields.has("system") else ""
    if system.strip():
        messages.append(Message("system", system))
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise fields.invalid(f"messages.{index}", "must be an object.")
        message = Fields(item, f"messages.{index}.")
        role = message.text("role", required=True)
        if role not in ("user", "assistant"):
            raise message.invalid("role", f"{role!r} is not user or assistant.")
        messages.append(Message(role, block_text(message, "content")))
    if messages[-1].role != "user":
        raise fields.invalid("messages", "the last message must be the user's.")
    return messages


def output_grammar(fields: Fields) -> Grammar | None:
    """Structured output (``output_config.format``, a JSON schema) as a llama.cpp grammar."""
    config = fields.obj("output_config")
    shape = config.obj("format") if config is not None else None
    if shape is None:
        return None
    kind = shape.text("type", required=True)
    if kind != "json_schema":
        raise shape.invalid("type", f"{kind!r} is not json_schema.")
    schema = shape.obj("schema")
    if schema is None:
        raise shape.invalid("schema", "is required.")
    return Grammar.json(dict(schema.data))


async def messages(request: Request) -> Response:
    backend = backend_of(request)
    fields = await read_json(request, backend.limits)
    model = backend.chat_model(fields.text("model", required=True))
    fields.refuse("tools", unless=[], why="Hearth's server does not call tools.")
    thinking = fields.obj("thinking")
    if thinking is not None and thinking.text("type") not in (None, "disabled"):
        raise thinking.invalid("type", "extended thinking is not supported.")
    chat = conversation(fields, backend)
    max_tokens = fields.integer("max_tokens", lo=1, hi=2**31, required=True)
    job = TextJob(
        sampling=backend.sampling(fields, max_tokens=max_tokens, temperature_hi=1.0),
        messages=chat,
        stop=tuple(fields.stop_strings("stop_sequences", most=16)),
        grammar=output_grammar(fields),
    )
    backend.log_text("prompt", json.dumps([[m.role, m.content] for m in chat]))
    stream = await start(request, backend, job)
    ident = f"msg_{uuid.uuid4().hex[:24]}"
    if fields.boolean("stream"):
        return EventStream(
            message_events(stream, backend, ident, model),
            on_disconnect=stream.cancel,
            send_seconds=backend.limits.send_seconds,
        )
    text = await finish(request, stream)
    backend.log_text("reply", text)
    stats = stream.stats
    reason, sequence = stop_reason(stats)
    return JSONResponse(
        {
            "id": ident,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": reason,
            "stop_sequence": sequence,
            "usage": {
                "input_tokens": stats.prompt_tokens if stats else 0,
                "output_tokens": stats.completion_tokens if stats else 0,
            },
        }
    )


async def message_events(
    stream: ReplyStream, backend: Backend, ident: str, model: str
) -> AsyncIterator[bytes]:
    prompt_tokens = stream.prompt_tokens
    yield event(
        "message_start",
        {
            "message": {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": 0},
            }
        },
    )
    yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    yield event("ping", {})
    parts: list[str] = []
    try:
        async for pieces in stream.batches():
            parts.extend(pieces)
            text = "".join(pieces)
            yield event(
                "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}}
            )
        failure: BaseException | None = crash_error(stream.stats)
    except Exception as error:
        failure = error
    backend.log_text("reply", "".join(parts))
    if failure is not None:
        yield error_event(failure)
        return
    stats = stream.stats
    reason, sequence = stop_reason(stats)
    yield event("content_block_stop", {"index": 0})
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": {"output_tokens": stats.completion_tokens if stats else len(parts)},
        },
    )
    yield event("message_stop", {})


def error_event(error: BaseException) -> bytes:
    """A failure after the stream began, as Anthropic's SDK reads it."""
    body = ApiError.of(error).body(Api.ANTHROPIC)
    return event("error", {"error": body["error"]})
