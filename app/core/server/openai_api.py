"""OpenAI's API: /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings.

The request and response shapes follow OpenAI's reference, streaming included
(``stream_options.include_usage`` adds the usage chunk before ``[DONE]``). Fields Hearth
cannot honour (tools, several choices, log-probabilities, penalties other than 0) are
refused with a 400 that says so, never ignored.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.core.errors import HearthError
from app.core.generation import Message, ReplyStats, StopReason
from app.core.inference import Grammar
from app.core.server.backend import Backend, TextJob
from app.core.server.errors import Api, ApiError, Problem
from app.core.server.requests import Fields, read_json
from app.core.server.streams import EventStream, ReplyStream, until_disconnected


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode("utf-8") + b"\n\n"


DONE = b"data: [DONE]\n\n"


def finish_reason(stats: ReplyStats | None) -> str:
    if stats is not None and stats.stop_reason in (StopReason.LENGTH, StopReason.CONTEXT):
        return "length"
    return "stop"


def usage(stats: ReplyStats | None, prompt_tokens: int) -> dict[str, Any]:
    prompt = stats.prompt_tokens if stats is not None else prompt_tokens
    completion = stats.completion_tokens if stats is not None else 0
    cached = stats.cached_tokens if stats is not None else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def crash_error(stats: ReplyStats | None) -> ApiError | None:
    if stats is not None and stats.stop_reason is StopReason.CRASHED:
        return ApiError(Problem.FAILED, stats.notice or "The model stopped unexpectedly.")
    return None


# -- models ---------------------------------------------------------------------------------


async def list_models(request: Request) -> Response:
    cards = backend_of(request).models()
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": c.id, "object": "model", "created": c.created, "owned_by": "hearth"}
                for c in cards
            ],
        }
    )


async def get_model(request: Request) -> Response:
    name = request.path_params["model"]
    for card in backend_of(request).models():
        if card.id.lower() == name.lower():
            return JSONResponse(
                {"id": card.id, "object": "model", "created": card.created, "owned_by": "hearth"}
            )
    raise ApiError(
        Problem.NOT_FOUND,
        f"The model {name!r} is not loaded in Hearth.",
        param="model",
        code="model_not_found",
    )


# -- the request's parts --------------------------------------------------------------------


def refuse_unsupported(fields: Fields) -> None:
    fields.refuse("n", unless=1, why="Hearth writes one choice per request; leave n at 1.")
    fields.refuse(
        "logprobs", unless=False, why="Hearth's server does not return log-probabilities."
    )
    fields.refuse(
        "top_logprobs", unless=0, why="Hearth's server does not return log-probabilities."
    )
    fields.refuse("frequency_penalty", unless=0, why="only 0 is supported (use repeat_penalty).")
    fields.refuse("presence_penalty", unless=0, why="only 0 is supported (use repeat_penalty).")
    fields.refuse("logit_bias", unless={}, why="logit_bias is not supported.")
    fields.refuse("tools", unless=[], why="Hearth's server does not call tools.")
    fields.refuse("functions", unless=[], why="Hearth's server does not call functions.")


def message_text(fields: Fields, key: str = "content") -> str:
    """A message's content: a string, or an array of text parts."""
    return fields.text_parts(key, parts="text parts", path="{key}[{index}]") or ""


def chat_messages(fields: Fields, backend: Backend) -> list[Message]:
    """The conversation: system and developer messages become one system prompt first."""
    items = fields.messages(most=backend.limits.max_messages)
    system = [fields.text("system") or ""]  # a top-level system prompt, as some clients send
    turns: list[Message] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise fields.invalid(f"messages[{index}]", "must be an object.")
        message = Fields(item, f"messages[{index}].")
        role = message.text("role", required=True)
        text = message_text(message)
        if role in ("system", "developer"):
            system.append(text)
        elif role in ("user", "assistant"):
            turns.append(Message(role, text))
        else:
            raise message.invalid(
                "role", f"{role!r} is not supported (system, developer, user or assistant)."
            )
    if not turns or turns[-1].role != "user":
        raise fields.invalid("messages", "the last message must be the user's.")
    prompt = "\n\n".join(s for s in system if s.strip())
    return ([Message("system", prompt)] if prompt else []) + turns


def response_grammar(fields: Fields) -> Grammar | None:
    shape = fields.obj("response_format")
    if shape is None:
        return None
    kind = shape.text("type", required=True)
    if kind == "text":
        return None
    if kind == "json_object":
        return Grammar.json()
    if kind == "json_schema":
        spec = shape.obj("json_schema")
        if spec is None:
            raise shape.invalid("json_schema", "is required for type json_schema.")
        schema = spec.obj("schema")
        return Grammar.json(dict(schema.data) if schema is not None else None)
    raise shape.invalid("type", f"{kind!r} is not text, json_object or json_schema.")


def include_usage(fields: Fields) -> bool:
    options = fields.obj("stream_options")
    return options.boolean("include_usage") if options is not None else False


async def start(request: Request, backend: Backend, job: TextJob) -> ReplyStream:
    """Admit and begin a reply; the engine's refusals become this API's errors."""
    stream = backend.stream(job)
    try:
        await until_disconnected(request, stream.open(), on_disconnect=stream.cancel)
    except HearthError as error:
        raise ApiError.from_hearth(error) from None
    return stream


async def finish(request: Request, stream: ReplyStream) -> str:
    """The whole reply (stopped if the client leaves first)."""
    try:
        text = await until_disconnected(request, stream.text(), on_disconnect=stream.cancel)
    except HearthError as error:
        raise ApiError.from_hearth(error) from None
    crashed = crash_error(stream.stats)
    if crashed is not None:
        raise crashed
    return text


# -- chat -----------------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    backend = backend_of(request)
    fields = await read_json(request, backend.limits)
    model = backend.chat_model(fields.text("model", required=True))
    refuse_unsupported(fields)
    messages = chat_messages(fields, backend)
    max_tokens = fields.integer("max_completion_tokens", lo=1, hi=2**31) or fields.integer(
        "max_tokens", lo=1, hi=2**31
    )
    job = TextJob(messages=messages, **job_options(backend, fields, max_tokens))
    backend.log_text("prompt", json.dumps([[m.role, m.content] for m in messages]))

    def choice(text: str, stats: ReplyStats | None) -> dict[str, Any]:
        return {
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "logprobs": None,
            "finish_reason": finish_reason(stats),
        }

    return await answer(
        request,
        backend,
        fields,
        job,
        model=model,
        kind="chat.completion",
        chunks=chat_chunks,
        choice=choice,
    )


def job_options(backend: Backend, fields: Fields, max_tokens: int | None) -> dict[str, Any]:
    """What a chat and a completion request say alike: sampling, stop strings, grammar."""
    return {
        "sampling": backend.sampling(fields, max_tokens=max_tokens),
        "stop": tuple(fields.stop_strings("stop", most=16)),
        "grammar": response_grammar(fields),
    }


Chunks = Callable[[ReplyStream, Backend, str, int, str, bool], AsyncIterator[bytes]]


async def answer(
    request: Request,
    backend: Backend,
    fields: Fields,
    job: TextJob,
    *,
    model: str,
    kind: str,
    chunks: Chunks,
    choice: Callable[[str, ReplyStats | None], dict[str, Any]],
) -> Response:
    """Run ``job``: as server-sent ``chunks`` when the request streams, else one JSON
    ``kind`` object whose only choice ``choice`` writes (a chat and a completion differ
    only there)."""
    stream = await start(request, backend, job)
    prefix = "chatcmpl" if kind == "chat.completion" else "cmpl"
    ident = f"{prefix}-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if fields.boolean("stream"):
        events = chunks(stream, backend, ident, created, model, include_usage(fields))
        return EventStream(
            events, on_disconnect=stream.cancel, send_seconds=backend.limits.send_seconds
        )
    text = await finish(request, stream)
    backend.log_text("reply", text)
    return JSONResponse(
        {
            "id": ident,
            "object": kind,
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [choice(text, stream.stats)],
            "usage": usage(stream.stats, 0),
        }
    )


async def chat_chunks(
    stream: ReplyStream,
    backend: Backend,
    ident: str,
    created: int,
    model: str,
    with_usage: bool,
) -> AsyncIterator[bytes]:
    base: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }
    if with_usage:
        base["usage"] = None  # in every chunk but the last, as OpenAI sends it

    def chunk(delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return sse({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    parts: list[str] = []
    try:
        async for pieces in stream.batches():  # one event per batch: see streams.py
            parts.extend(pieces)
            yield chunk({"content": "".join(pieces)})
        failure: BaseException | None = crash_error(stream.stats)
    except Exception as error:
        failure = error
    backend.log_text("reply", "".join(parts))
    if failure is not None:
        yield error_event(failure)
        return
    yield chunk({}, finish_reason(stream.stats))
    if with_usage:
        yield sse({**base, "choices": [], "usage": usage(stream.stats, 0)})
    yield DONE


# -- completions ----------------------------------------------------------------------------


def prompt_text(fields: Fields) -> str:
    value = fields.data.get("prompt")
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, str):
        return value
    if value is None:
        raise fields.invalid("prompt", "is required.")
    raise fields.invalid(
        "prompt", "must be one string (token arrays and batches are not supported)."
    )


async def completions(request: Request) -> Response:
    backend = backend_of(request)
    fields = await read_json(request, backend.limits)
    model = backend.chat_model(fields.text("model", required=True))
    refuse_unsupported(fields)
    fields.refuse("echo", unless=False, why="echo is not supported.")
    fields.refuse("suffix", unless="", why="suffix (fill in the middle) is not supported.")
    fields.refuse("best_of", unless=1, why="Hearth writes one choice per request.")
    prompt = prompt_text(fields)
    max_tokens = fields.integer("max_tokens", lo=1, hi=2**31, default=16)
    job = TextJob(prompt=prompt, **job_options(backend, fields, max_tokens))
    backend.log_text("prompt", prompt)

    def choice(text: str, stats: ReplyStats | None) -> dict[str, Any]:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason(stats)}

    return await answer(
        request,
        backend,
        fields,
        job,
        model=model,
        kind="text_completion",
        chunks=completion_chunks,
        choice=choice,
    )


async def completion_chunks(
    stream: ReplyStream,
    backend: Backend,
    ident: str,
    created: int,
    model: str,
    with_usage: bool,
) -> AsyncIterator[bytes]:
    base: dict[str, Any] = {
        "id": ident,
        "object": "text_completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }

    def chunk(text: str, reason: str | None = None) -> bytes:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": reason}
        return sse({**base, "choices": [choice]})

    parts: list[str] = []
    try:
        async for pieces in stream.batches():
            parts.extend(pieces)
            yield chunk("".join(pieces))
        failure: BaseException | None = crash_error(stream.stats)
    except Exception as error:
        failure = error
    backend.log_text("reply", "".join(parts))
    if failure is not None:
        yield error_event(failure)
        return
    yield chunk("", finish_reason(stream.stats))
    if with_usage:
        yield sse({**base, "choices": [], "usage": usage(stream.stats, 0)})
    yield DONE


# -- embeddings -----------------------------------------------------------------------------


async def embeddings(request: Request) -> Response:
    backend = backend_of(request)
    fields = await read_json(request, backend.limits)
    model = backend.embedding_model(fields.text("model", required=True))
    value = fields.data.get("input")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise fields.invalid("input", "must be a string or an array of strings (not tokens).")
    if any(not t for t in texts):
        raise fields.invalid("input", "an input is empty.")
    most = backend.limits.max_inputs
    if len(texts) > most:
        raise fields.invalid("input", f"may hold at most {most} texts; it has {len(texts)}.")
    encoding = fields.text("encoding_format", default="float")
    if encoding not in ("float", "base64"):
        raise fields.invalid("encoding_format", f"{encoding!r} is not float or base64.")
    dimensions = fields.integer("dimensions", lo=1, hi=1_000_000)
    try:
        vectors, tokens = await backend.embed(texts)
    except HearthError as error:
        raise ApiError.from_hearth(error) from None
    size = len(vectors[0]) if vectors else 0
    if dimensions is not None and dimensions != size:
        raise fields.invalid("dimensions", f"this model's vectors have {size} dimensions.")

    def encode(vector: list[float]) -> Any:
        if encoding == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        return vector

    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(v)}
                for i, v in enumerate(vectors)
            ],
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def error_event(error: BaseException) -> bytes:
    """A failure after the stream began, as OpenAI's SDK reads it (it raises APIError)."""
    return sse(ApiError.of(error).body(Api.OPENAI))
