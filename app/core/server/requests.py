"""Reading a request: its body within the limits, and typed fields with clear refusals.

Every refusal names the field (OpenAI's ``param``) and says what is allowed, so a
client's author can fix the call from the message alone.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request

from app.core.server.config import ServerLimits
from app.core.server.errors import ApiError, Problem


async def read_json(request: Request, limits: ServerLimits) -> Fields:
    """The request's JSON object, read within the size and time limits."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise too_large(int(declared), limits)
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + limits.body_seconds
    stream = request.stream().__aiter__()
    while True:
        try:
            with anyio.fail_after(max(deadline - time.monotonic(), 0.001)):
                chunk = await stream.__anext__()
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise ApiError(
                Problem.SLOW_CLIENT,
                f"The request body did not arrive within {limits.body_seconds:g} seconds.",
            ) from None
        except ClientDisconnect:
            raise
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise too_large(size, limits)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            Problem.INVALID,
            f"The request body is not valid JSON ({error}).",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(Problem.INVALID, "The request body must be a JSON object.")
    return Fields(data)


def too_large(size: int, limits: ServerLimits) -> ApiError:
    return ApiError(
        Problem.TOO_LARGE,
        f"The request body is {size:,} bytes; Hearth's server takes at most "
        f"{limits.max_body_bytes:,}.",
        code="request_too_large",
    )


_MISSING = object()


class Fields:
    """Typed access to a JSON object's fields (``prefix`` names nested ones in messages)."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def invalid(self, key: str, message: str) -> ApiError:
        return ApiError(Problem.INVALID, f"{self.name(key)}: {message}", param=self.name(key))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self.invalid(key, "is required.")
            return _MISSING
        return value

    def text(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self.invalid(key, f"must be a string, not {_kind(value)}.")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.invalid(key, f"must be true or false, not {_kind(value)}.")
        return value

    def number(
        self, key: str, *, lo: float, hi: float, default: float | None = None
    ) -> float | None:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.invalid(key, f"must be a number, not {_kind(value)}.")
        if not lo <= value <= hi:
            raise self.invalid(key, f"must be between {lo:g} and {hi:g}; {value:g} is not.")
        return float(value)

    def integer(
        self, key: str, *, lo: int, hi: int, required: bool = False, default: int | None = None
    ) -> int | None:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.invalid(key, f"must be a whole number, not {_kind(value)}.")
        if not lo <= value <= hi:
            raise self.invalid(key, f"must be between {lo:,} and {hi:,}; {value:,} is not.")
        return int(value)

    def array(self, key: str, *, required: bool = False) -> list[Any] | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            raise self.invalid(key, f"must be an array, not {_kind(value)}.")
        return value

    def messages(self, *, most: int) -> list[Any]:
        """The ``messages`` array: at least one, at most ``most``."""
        items = self.array("messages", required=True) or []
        if not items:
            raise self.invalid("messages", "must hold at least one message.")
        if len(items) > most:
            raise self.invalid(
                "messages", f"may hold at most {most:,} messages; it has {len(items):,}."
            )
        return items

    def text_parts(self, key: str, *, parts: str, path: str = "{key}.{index}") -> str | None:
        """A string, or an array of ``{"type": "text", "text": ...}`` parts joined; None if absent.

        ``parts`` names them in errors (OpenAI's "text parts", Anthropic's "text blocks");
        ``path`` is how the API writes a part's place (``content[2]``, ``content.2``).
        """
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise self.invalid(key, f"must be a string or an array of {parts}.")
        texts = []
        for index, item in enumerate(value):
            where = path.format(key=key, index=index)
            if not isinstance(item, dict) or item.get("type") != "text":
                kind = item.get("type") if isinstance(item, dict) else type(item).__name__
                raise self.invalid(where, f"only {parts} are supported, not {kind!r}.")
            text = item.get("text")
            if not isinstance(text, str):
                raise self.invalid(f"{where}.text", "must be a string.")
            texts.append(text)
        return "".join(texts)

    def obj(self, key: str) -> Fields | None:
        value = self._get(key, False)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            raise self.invalid(key, f"must be an object, not {_kind(value)}.")
        return Fields(value, f"{self.name(key)}.")

    def stop_strings(self, key: str, *, most: int = 16) -> list[str]:
        """A string or an array of strings (OpenAI's ``stop``, Anthropic's ``stop_sequences``)."""
        value = self._get(key, False)
        if value is _MISSING:
            return []
        items: Sequence[Any] = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(s, str) for s in items):
            raise self.invalid(key, "must be a string or an array of strings.")
        if len(items) > most:
            raise self.invalid(key, f"may hold at most {most} strings; it has {len(items)}.")
        return [s for s in items if s]

    def refuse(self, key: str, *, unless: Any = None, why: str) -> None:
        """Refuse ``key`` when given with any value other than ``unless`` (its default)."""
        value = self.data.get(key)
        if value is not None and value != unless:
            raise self.invalid(key, why)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__
