"""Claude through Anthropic's Messages API, used only when the person asked for it.

Nothing here runs unless the caller built a :class:`ClaudeClient`, and
:meth:`ClaudeClient.from_settings` refuses while Claude is off or Hearth is offline.
A reply looks like a local one (:class:`app.core.inference.engine.Reply`): iterate it for text
pieces, then read ``reply.stats`` (input and output tokens, why it stopped, and
``incomplete`` when the stream was cut).

What is sent is built first, as a :class:`ClaudeRequest` (the exact JSON body), so a
preview can show it and the client then sends that very object:

* ``system`` messages of the history, and the system prompt, become the API's
  ``system`` text;
* empty turns are dropped, consecutive turns of one role are merged (a history that
  mixes local and Claude replies may hold two user turns in a row after an error),
  and leading assistant turns are dropped: the API wants alternating turns that
  start with the user;
* ``temperature`` is clamped to the API's 0..1 and sent as the body's
  ``temperature`` (the installed SDK no longer has a parameter for it, so it goes as
  extra JSON); top_p / top_k are not sent (Claude 4.5+ models refuse temperature and
  top_p together);
* ``max_tokens`` is clamped to the model's output limit.

Every failure is a :class:`CloudError` subclass with a message a person can act on.
The API key never appears in a message, a log line or a ``repr``: server text is
scrubbed of it, and SDK exceptions are not chained onto ours.
"""

from __future__ import annotations

import email.utils
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import anthropic
import httpx2

from app.core.claude_models import find_claude_model
from app.core.cloud.relay import relay
from app.core.errors import AuthError, HearthError, NetworkError, OfflineModeError
from app.core.generation import Message, StopReason
from app.core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_OUTPUT = 64_000  # for a model the table does not list (hearth chat --claude-model)
_SDK_FIELDS = ("model", "max_tokens", "messages", "system")
_KEY_PATTERN = re.compile(r"sk-ant-[A-Za-z0-9_\-]{4,}")


# -- errors -------------------------------------------------------------------------------


class CloudError(HearthError):
    """A request to Claude was not sent or failed; the conversation is unchanged."""

    hint = "Your conversation is unchanged; you can retry or continue with a local model."


class ClaudeDisabledError(CloudError):
    hint = (
        "Claude is off. Turn it on in Settings (or `hearth config set claude_enabled true`) "
        "if you want to send conversations to Anthropic."
    )


class OfflineError(CloudError, OfflineModeError):
    hint = "Hearth is in offline mode. Turn offline mode off to use Claude."


class MissingKeyError(CloudError, AuthError):
    hint = "Add your Anthropic API key in Settings, or run `hearth key set`."


class InvalidKeyError(CloudError, AuthError):
    hint = "Check the key in your Anthropic console and set it again (`hearth key set`)."


class PermissionDeniedError(CloudError, AuthError):
    hint = "Your key cannot use this model or feature; pick another model or check your plan."


class RateLimitedError(CloudError, NetworkError):
    """Too many requests; ``retry_after`` is the wait the server asked for, in seconds."""

    hint = "Wait, then send again."

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint, status=status)
        self.retry_after = retry_after


class OverloadedError(CloudError, NetworkError):
    hint = "Anthropic's servers are busy; try again in a minute, or continue locally."


class ServerError(CloudError, NetworkError):
    hint = "A problem on Anthropic's side; try again later."


class RequestTimeoutError(CloudError, NetworkError):
    hint = "Check your connection and try again; long conversations take longer."


class NoNetworkError(CloudError, NetworkError):
    hint = "Check your internet connection (and any proxy or firewall), then try again."


class BadRequestError(CloudError, NetworkError):
    hint = "Shorten the conversation or pick another model, then try again."


class StreamInterruptedError(CloudError, NetworkError):
    hint = "What arrived is kept and marked incomplete; regenerate to get the whole reply."


class NothingToSendError(CloudError):
    hint = "Write a message first."


# -- what is sent -------------------------------------------------------------------------


def resolve_base_url(base_url: str | None = None) -> str:
    """The API address: ``base_url``, else ``$ANTHROPIC_BASE_URL`` (as the SDK does), else
    Anthropic's."""
    return (base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def host_of(base_url: str) -> str:
    """The host (with a port when one is given) that requests to ``base_url`` reach."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return f"{host}:{parts.port}" if parts.port else host


@dataclass(frozen=True, slots=True)
class ClaudeRequest:
    """Exactly what one request sends (plus the API key, which is never stored here)."""

    model: str
    system: str | None
    messages: tuple[Message, ...]  # user/assistant, alternating, first and last "user"
    max_tokens: int
    temperature: float | None = None
    dropped_turns: int = 0  # empty or leading-assistant turns left out
    merged_turns: int = 0  # turns merged into the one before (same role)

    def payload(self) -> dict[str, Any]:
        """The JSON body of the Messages API call (without ``stream``)."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
        }
        if self.system:
            body["system"] = self.system
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body


def prepare_request(
    messages: Sequence[Message],
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int = 2048,
) -> ClaudeRequest:
    """Turn a Hearth history (local and Claude turns mixed) into a valid request.

    Raises NothingToSendError when no user message remains or the last turn is not
    the user's (there is nothing to answer).
    """
    system_parts = [system.strip()] if system and system.strip() else []
    turns: list[Message] = []
    dropped = merged = 0
    for message in messages:
        text = message.content.strip()
        if message.role == "system":
            if text:
                system_parts.append(text)
            continue
        if message.role not in ("user", "assistant"):
            raise ValueError(f"unknown message role {message.role!r}")
        if not text or (not turns and message.role == "assistant"):
            dropped += 1
            continue
        if turns and turns[-1].role == message.role:
            turns[-1] = Message(message.role, f"{turns[-1].content}\n\n{message.content}")
            merged += 1
            continue
        turns.append(Message(message.role, message.content))
    if not turns:
        raise NothingToSendError("There is no message to send to Claude.")
    if turns[-1].role != "user":
        raise NothingToSendError(
            "The conversation ends with a reply; there is no new message for Claude to answer."
        )
    known = find_claude_model(model)
    limit = known.max_output_tokens if known else DEFAULT_MAX_OUTPUT
    return ClaudeRequest(
        model=model,
        system="\n\n".join(system_parts) or None,
        messages=tuple(turns),
        max_tokens=max(1, min(max_tokens, limit)),
        temperature=None if temperature is None else max(0.0, min(float(temperature), 1.0)),
        dropped_turns=dropped,
        merged_turns=merged,
    )


def ensure_claude_allowed(settings: Settings) -> None:
    """Raise OfflineError or ClaudeDisabledError unless ``settings`` allow Claude traffic."""
    if settings.offline:
        raise OfflineError("Hearth is offline, so nothing is sent to Claude.")
    if not settings.claude_enabled:
        raise ClaudeDisabledError("Claude is turned off, so nothing is sent to Anthropic.")


# -- replies ------------------------------------------------------------------------------

_API_STOP = {
    "end_turn": StopReason.END_OF_TEXT,
    "stop_sequence": StopReason.END_OF_TEXT,
    "refusal": StopReason.END_OF_TEXT,
    "pause_turn": StopReason.END_OF_TEXT,
    "tool_use": StopReason.END_OF_TEXT,
    "max_tokens": StopReason.LENGTH,
    "model_context_window_exceeded": StopReason.CONTEXT,
}


@dataclass(frozen=True, slots=True)
class CloudReplyStats:
    """The figures of one Claude reply, named like the local engine's where they match.

    ``stop_reason`` is None when the reply did not end normally (``incomplete``);
    ``api_stop_reason`` is the API's own word (``end_turn``, ``max_tokens``, ``refusal``...).
    """

    model: str
    input_tokens: int
    output_tokens: int
    stop_reason: StopReason | None
    api_stop_reason: str | None
    incomplete: bool
    time_to_first_token: float | None
    tokens_per_second: float | None
    elapsed: float
    backend: str = "claude"

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens

    @property
    def completion_tokens(self) -> int:
        return self.output_tokens


Status = Literal["complete", "interrupted", "error"]


class SentRequest(Protocol):
    """What a reply needs of its request (a ClaudeRequest, or a remote server's)."""

    @property
    def model(self) -> str: ...


class ClaudeReply:
    """A streaming Claude reply: iterate for text pieces, then read ``stats``.

    Iteration raises a CloudError when the request fails; pieces that arrived before
    stay in ``text``, ``stats.incomplete`` is True and ``error`` holds the error. A remote
    server's reply is one too (:class:`app.core.cloud.remote.RemoteReply`).
    """

    backend = "claude"

    def __init__(self, pieces: Iterator[str], *, request: SentRequest, host: str) -> None:
        self._pieces = pieces
        self.request = request
        self.model = request.model
        self.host = host
        self.text = ""
        self.stats: CloudReplyStats | None = None
        self.error: CloudError | None = None

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self._pieces:
                self.text += piece
                yield piece
        finally:
            self.close()

    def close(self) -> None:
        """Stop early; ``stats`` then says the user stopped it."""
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def read(self) -> str:
        """Consume the whole reply and return its text (raises CloudError on failure)."""
        for _ in self:
            pass
        return self.text

    def history_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``ReplyWriter.finish`` describing how this reply ended."""
        stats = self.stats
        status: Status
        if self.error is not None:
            status = "error"
        elif stats is not None and stats.stop_reason is StopReason.USER:
            status = "interrupted"
        else:
            status = "complete"
        return {
            "status": status,
            "stop_reason": None
            if stats is None or stats.stop_reason is None
            else str(stats.stop_reason),
            "prompt_tokens": None if stats is None else stats.input_tokens,
            "completion_tokens": None if stats is None else stats.output_tokens,
            "ttft": None if stats is None else stats.time_to_first_token,
            "tokens_per_second": None if stats is None else stats.tokens_per_second,
            "error": None if self.error is None else str(self.error),
        }


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """The answer to a minimal test request: the key works."""

    model: str
    host: str
    input_tokens: int
    output_tokens: int


@dataclass(slots=True)
class _Progress:
    start: float = field(default_factory=time.monotonic)
    first: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    api_stop: str | None = None
    finished: bool = False
    stopped: bool = False
    chars: int = 0


# -- the client ---------------------------------------------------------------------------


class ClaudeClient:
    """Talks to the Messages API with one key and one model. See the module docstring.

    ``max_retries`` is the SDK's automatic retry count for 429/5xx/connection errors
    (it waits as ``retry-after`` says, silently). The default, 0, reports the first
    failure at once, with the wait, so the person sees it and decides.
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 0,
    ) -> None:
        if not api_key or not api_key.strip():
            raise MissingKeyError("There is no Anthropic API key.")
        self._key = api_key.strip()
        self.model = model
        self.base_url = resolve_base_url(base_url)
        self.host = host_of(self.base_url)
        self.timeout = timeout
        self._sdk = anthropic.Anthropic(
            api_key=self._key,
            auth_token=None,
            base_url=self.base_url,
            timeout=anthropic.Timeout(timeout, connect=min(connect_timeout, timeout)),
            max_retries=max_retries,
        )
        self._stop = threading.Event()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        api_key: str | None,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 0,
    ) -> ClaudeClient:
        """A client for the model in ``settings``; refuses while Claude is off or offline."""
        ensure_claude_allowed(settings)
        if not api_key:
            raise MissingKeyError("There is no Anthropic API key in the keychain.")
        return cls(
            api_key=api_key,
            model=model or settings.claude_model,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )

    def __repr__(self) -> str:
        return f"ClaudeClient(model={self.model!r}, host={self.host!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._sdk.close()

    def __enter__(self) -> ClaudeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def chat(self, request: ClaudeRequest) -> ClaudeReply:
        """Send ``request`` (from :func:`prepare_request` or a preview) and stream the reply.

        Nothing is sent until the reply is iterated.
        """
        stop = threading.Event()
        self._stop = stop
        holder: list[ClaudeReply] = []
        reply = ClaudeReply(self._stream(request, holder, stop), request=request, host=self.host)
        holder.append(reply)
        return reply

    def stop(self) -> None:
        """Stop the reply in progress (from any thread); it ends within ~50 ms."""
        self._stop.set()

    def test_key(self) -> KeyCheck:
        """Make one minimal request (a one-token reply) and say whether the key works."""
        try:
            answer = self._sdk.messages.create(
                model=self.model,
                max_tokens=1,
                messages=[{"role": "user", "content": "Hi"}],
            )
        except Exception as error:
            raise self._translate(error, received=0) from None
        return KeyCheck(
            model=answer.model,
            host=self.host,
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
        )

    def _stream(
        self, request: ClaudeRequest, holder: list[ClaudeReply], stop: threading.Event
    ) -> Iterator[str]:
        log.info(
            "sending %d messages to Claude (%s) at %s",
            len(request.messages),
            request.model,
            self.host,
        )

        def translate(error: BaseException, received: int) -> CloudError:
            log.debug("Claude request failed", exc_info=error)
            return self._translate(error, received=received)

        progress = _Progress()
        return relay(
            lambda events, stop: self._pump(request, events, stop),
            stop,
            progress,
            name="claude-stream",
            parse=self._on_event,
            complete=lambda progress: progress.finished,
            cut=lambda received: StreamInterruptedError(self._cut_message(received)),
            translate=translate,
            finish=lambda error: self._finish(holder[0], progress, error),
        )

    def _pump(
        self, request: ClaudeRequest, events: queue.Queue[tuple[str, Any]], stop: threading.Event
    ) -> None:
        stream: Any = None
        try:
            body = request.payload()
            # Fields this SDK has no parameter for (temperature) travel as extra JSON,
            # so the body on the wire is still exactly ``request.payload()``.
            extra = {k: body.pop(k) for k in list(body) if k not in _SDK_FIELDS}
            stream = self._sdk.messages.create(**body, stream=True, extra_body=extra or None)
            for event in stream:
                if stop.is_set():
                    return
                events.put(("event", event))
            events.put(("end", None))
        except Exception as exc:
            if not stop.is_set():
                events.put(("error", exc))
        finally:
            if stream is not None:
                try:
                    stream.close()
                except Exception:  # a half-read response may complain while closing
                    log.debug("closing the Claude stream", exc_info=True)

    @staticmethod
    def _on_event(event: Any, progress: _Progress) -> str:
        kind = event.type
        if kind == "message_start":
            usage = event.message.usage
            progress.input_tokens = usage.input_tokens or 0
            progress.output_tokens = usage.output_tokens or 0
        elif kind == "content_block_delta" and event.delta.type == "text_delta":
            if progress.first is None:
                progress.first = time.monotonic()
            return str(event.delta.text)
        elif kind == "message_delta":
            progress.api_stop = event.delta.stop_reason
            usage = event.usage
            progress.output_tokens = usage.output_tokens or progress.output_tokens
            if getattr(usage, "input_tokens", None):
                progress.input_tokens = usage.input_tokens
        elif kind == "message_stop":
            progress.finished = True
        return ""

    def _finish(self, reply: ClaudeReply, progress: _Progress, error: CloudError | None) -> None:
        end = time.monotonic()
        if progress.stopped:
            stop: StopReason | None = StopReason.USER
        elif error is not None or not progress.finished:
            stop = None
        else:
            stop = _API_STOP.get(progress.api_stop or "end_turn", StopReason.END_OF_TEXT)
        rate = None
        if progress.first is not None and progress.output_tokens > 1 and end > progress.first:
            rate = (progress.output_tokens - 1) / (end - progress.first)
        reply.error = error
        reply.stats = CloudReplyStats(
            model=reply.model,
            input_tokens=progress.input_tokens,
            output_tokens=progress.output_tokens,
            stop_reason=stop,
            api_stop_reason=progress.api_stop,
            incomplete=error is not None or (stop is None),
            time_to_first_token=None if progress.first is None else progress.first - progress.start,
            tokens_per_second=rate,
            elapsed=end - progress.start,
        )
        if error is not None:
            log.warning("Claude reply failed: %s", error)

    # -- failures ---------------------------------------------------------------------------

    def _cut_message(self, received: int) -> str:
        return (
            f"The reply from Claude ({self.host}) was cut off after {received} characters; "
            "what arrived is kept and marked incomplete."
        )

    def _scrub(self, text: str) -> str:
        text = text.replace(self._key, "[API key]")
        return _KEY_PATTERN.sub("[API key]", text)

    def _translate(self, error: BaseException, *, received: int) -> CloudError:
        """Our typed error for an SDK or transport failure (never carrying the key)."""
        host = self.host
        if isinstance(error, CloudError):
            return error
        if isinstance(error, anthropic.APITimeoutError | httpx2.TimeoutException):
            if received:
                return StreamInterruptedError(
                    f"Claude ({host}) stopped sending for more than {self.timeout:g} s after "
                    f"{received} characters; what arrived is kept and marked incomplete."
                )
            return RequestTimeoutError(f"Claude ({host}) did not answer within {self.timeout:g} s.")
        if isinstance(error, anthropic.APIStatusError):
            return self._translate_status(error, received=received)
        if isinstance(error, anthropic.APIConnectionError):
            cause = error.__cause__ or error.__context__
            detail = f" ({self._scrub(str(cause))})" if cause is not None and str(cause) else ""
            return NoNetworkError(f"Hearth could not reach {host}{detail}.")
        if isinstance(error, httpx2.HTTPError):  # the connection broke while streaming
            if received or isinstance(error, httpx2.RemoteProtocolError | httpx2.ReadError):
                return StreamInterruptedError(self._cut_message(received))
            return NoNetworkError(f"Hearth could not reach {host} ({self._scrub(str(error))}).")
        return CloudError(f"Claude ({host}) failed: {self._scrub(type(error).__name__)}.")

    def _translate_status(self, error: anthropic.APIStatusError, *, received: int) -> CloudError:
        host = self.host
        status = error.status_code
        kind, text = _error_body(error.body)
        said = f": {self._scrub(text).rstrip('.')}" if text else ""
        if received:  # an error event in the middle of the stream
            said += f", after {received} characters (kept, marked incomplete)"
        if status == 401 or kind == "authentication_error":
            return InvalidKeyError(
                f"Anthropic ({host}) did not accept the API key (401){said}.", status=status
            )
        if status == 403 or kind == "permission_error":
            return PermissionDeniedError(
                f"Anthropic ({host}) refused: the key lacks permission (403){said}.",
                status=status,
            )
        if status == 429 or kind == "rate_limit_error":
            wait = _retry_after(error.response.headers)
            when = f" Try again in {_seconds(wait)}." if wait is not None else ""
            return RateLimitedError(
                f"Anthropic's rate limit was reached (429){said}.{when}",
                retry_after=wait,
                status=status,
            )
        if status == 529 or kind == "overloaded_error":
            return OverloadedError(f"Claude is overloaded right now (529){said}.", status=status)
        if status >= 500 or kind == "api_error":
            return ServerError(f"Anthropic's server failed ({status}){said}.", status=status)
        if status == 404 or kind == "not_found_error":
            return BadRequestError(
                f"Anthropic does not know this model or address (404){said}.", status=status
            )
        return BadRequestError(f"Anthropic refused the request ({status}){said}.", status=status)


def _error_body(body: object) -> tuple[str | None, str]:
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return (
                str(inner.get("type")) if inner.get("type") else None,
                str(inner.get("message") or ""),
            )
    return None, ""


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _seconds(wait: float) -> str:
    if wait < 90:
        return f"{round(wait)} s"
    return f"{round(wait / 60)} min"
