"""Models on your other computers: any OpenAI-compatible server (another Hearth, llama.cpp's
server, vLLM, Ollama, LM Studio), reached by its URL.

A remote is a :class:`~app.core.settings.RemoteServer` of the settings (name, URL, and
the person's opt-in); its token, if it has one, is in the keychain
(``KeyStore.remote_token(name)``). A server that is not on loopback
(:func:`leaves_machine`) counts as leaving the machine, like Claude: offline mode blocks
it, and a conversation goes there only once the person allowed that server, after the
same preview (:mod:`app.core.chat.routing`). One on 127.0.0.1, ::1 or ``localhost`` is
this computer: nothing leaves it, so neither applies.

:class:`RemoteClient` lists the server's models (``GET /v1/models``) and streams a chat
(``POST /v1/chat/completions``). Its reply is a :class:`~app.core.cloud.claude.ClaudeReply`
like Claude's (iterate for pieces, then ``stats``); Stop closes the stream at once. Every
failure is a :class:`RemoteError` in plain words; a stream cut in the middle keeps what
arrived, and the reply is saved as interrupted.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx2

from app.core.cloud.claude import ClaudeReply, CloudError, CloudReplyStats, host_of
from app.core.cloud.relay import relay
from app.core.errors import AuthError, NetworkError, NotFoundError, OfflineModeError
from app.core.generation import Message, StopReason
from app.core.secrets import KeyStore
from app.core.settings import RemoteServer, Settings, SettingsStore

log = logging.getLogger(__name__)

_FINISH = {"stop": StopReason.END_OF_TEXT, "length": StopReason.LENGTH}


# -- errors -------------------------------------------------------------------------------


class RemoteError(CloudError):
    """A request to a remote server was not sent or failed."""

    hint = "Your conversation is unchanged; check that server, or continue with a local model."


class UnknownRemoteError(RemoteError, NotFoundError):
    hint = "See your servers with `hearth remote list`, or add one in Settings → Remote servers."


class RemoteOfflineError(RemoteError, OfflineModeError):
    hint = "Hearth is in offline mode. Turn it off to use a server on another computer."


class RemoteNotAllowedError(RemoteError):
    hint = (
        "Allow sending conversations to it in Settings → Remote servers "
        "(or `hearth remote allow NAME`)."
    )


class RemoteTokenRefusedError(RemoteError, AuthError):
    hint = "Check the token that server was started with and set it again (Settings → Remote)."


class RemoteServerError(RemoteError, NetworkError):
    hint = "A problem on that server; look at its log, then try again."


class RemoteRequestError(RemoteError, NetworkError):
    hint = "Pick another model of that server, or shorten the conversation."


class RemoteTimeoutError(RemoteError, NetworkError):
    hint = "The server may be busy or loading a model; try again, or raise its timeout."


class RemoteUnreachableError(RemoteError, NetworkError):
    hint = "Check that the server is running and that its address and port are right."


class RemoteStreamCutError(RemoteError, NetworkError):
    hint = "What arrived is kept and marked interrupted; regenerate to get the whole reply."


# -- where it is --------------------------------------------------------------------------


def leaves_machine(url: str) -> bool:
    """Whether requests to ``url`` leave this computer (its host is not loopback).

    Decided on the URL's host as written: ``localhost``, 127.0.0.0/8 and ::1 stay here;
    any other name or address counts as elsewhere (a name is never looked up, so a name
    that happens to point back here still asks first: the cautious side).
    """
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def api_base(url: str) -> str:
    """The API root of a server's ``url``: as given, with ``/v1`` added when it has no path."""
    url = url.rstrip("/")
    return url if urlsplit(url).path else f"{url}/v1"


def find_remote(settings: Settings, name: str) -> RemoteServer:
    """The remote called ``name``; raises UnknownRemoteError."""
    remote = settings.remote(name)
    if remote is None:
        raise UnknownRemoteError(f"There is no remote server called {name!r}.")
    return remote


def ensure_remote_reachable(settings: Settings, remote: RemoteServer) -> None:
    """Raise RemoteOfflineError when offline mode forbids any request to ``remote``."""
    if settings.offline and leaves_machine(remote.url):
        raise RemoteOfflineError(
            f"Hearth is offline, so nothing is sent to {remote.name} ({host_of(remote.url)})."
        )


def ensure_remote_allowed(settings: Settings, remote: RemoteServer) -> None:
    """Raise unless a conversation may go to ``remote`` now (offline, or not opted in)."""
    ensure_remote_reachable(settings, remote)
    if leaves_machine(remote.url) and not remote.allowed:
        raise RemoteNotAllowedError(
            f"Sending conversations to {remote.name} ({host_of(remote.url)}) is not allowed "
            "yet: it is on another computer.",
            hint=RemoteNotAllowedError.hint.replace("NAME", remote.name),
        )


# -- what is sent -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteRequest:
    """Exactly what one chat request to a remote sends (the token is never stored here)."""

    model: str
    system: str | None
    messages: tuple[Message, ...]  # user/assistant turns, the last the user's
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body of ``POST /v1/chat/completions`` (without ``stream``)."""
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages += [{"role": m.role, "content": m.content} for m in self.messages]
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.top_p is not None:
            body["top_p"] = self.top_p
        return body


def prepare_remote_request(
    messages: Sequence[Message],
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int = 2048,
) -> RemoteRequest:
    """A Hearth history as a chat request: system texts joined, empty turns left out.

    Raises RemoteRequestError when the last turn is not the user's (nothing to answer).
    """
    system_parts = [system.strip()] if system and system.strip() else []
    turns: list[Message] = []
    for message in messages:
        if not message.content.strip():
            continue
        if message.role == "system":
            system_parts.append(message.content.strip())
        else:
            turns.append(Message(message.role, message.content))
    if not turns or turns[-1].role != "user":
        raise RemoteRequestError("There is no new message for the server to answer.")
    return RemoteRequest(
        model=model,
        system="\n\n".join(system_parts) or None,
        messages=tuple(turns),
        max_tokens=max(1, max_tokens),
        temperature=temperature,
        top_p=top_p,
    )


# -- replies ------------------------------------------------------------------------------


class RemoteReply(ClaudeReply):
    """A streaming reply from a remote server (see ClaudeReply); a cut stream is saved as
    interrupted, with what arrived."""

    backend = "remote"

    def history_fields(self) -> dict[str, Any]:
        fields = super().history_fields()
        if isinstance(self.error, RemoteStreamCutError):
            fields["status"] = "interrupted"
        return fields


@dataclass(slots=True)
class _Progress:
    start: float
    first: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    pieces: int = 0
    chars: int = 0
    finish: str | None = None
    done: bool = False
    stopped: bool = False


class RemoteClient:
    """One remote server, with its token. See the module docstring.

    ``timeout`` bounds each wait for the server (its first word, then each next one);
    ``transport`` replaces the network (tests).
    """

    def __init__(
        self,
        *,
        name: str,
        url: str,
        token: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = api_base(url)
        self.host = host_of(url)
        self.timeout = timeout
        self._token = token.strip() if token and token.strip() else None
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        self._http = httpx2.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx2.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            trust_env=False,  # a proxy set for the internet must not see the home network
        )
        self._stop = threading.Event()

    @classmethod
    def for_remote(
        cls,
        settings: Settings,
        remote: RemoteServer,
        *,
        token: str | None,
        chat: bool = True,
        timeout: float = 60.0,
        transport: httpx2.BaseTransport | None = None,
    ) -> RemoteClient:
        """A client for ``remote``; refuses offline, and (``chat``) before the opt-in."""
        if chat:
            ensure_remote_allowed(settings, remote)
        else:
            ensure_remote_reachable(settings, remote)
        return cls(
            name=remote.name, url=remote.url, token=token, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return f"RemoteClient({self.name!r}, host={self.host!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        return f"{self.name} ({self.host})"

    # -- requests ---------------------------------------------------------------------------

    def models(self) -> list[str]:
        """The ids of the models the server offers (``GET /v1/models``)."""
        try:
            response = self._http.get("/models")
        except Exception as error:
            raise self._translate(error, received=0) from None
        if response.status_code != 200:
            raise self._status_error(response.status_code, _error_text(response), received=0)
        try:
            data = response.json()["data"]
            return [str(item["id"]) for item in data]
        except (ValueError, KeyError, TypeError):
            raise RemoteServerError(
                f"{self.where} answered, but not with a list of models: is it an "
                "OpenAI-compatible server?"
            ) from None

    def chat(self, request: RemoteRequest) -> RemoteReply:
        """Stream the reply to ``request``; nothing is sent until the reply is iterated."""
        stop = threading.Event()
        self._stop = stop
        holder: list[RemoteReply] = []
        reply = RemoteReply(self._stream(request, holder, stop), request=request, host=self.host)
        holder.append(reply)
        return reply

    def stop(self) -> None:
        """Stop the reply in progress (from any thread): its stream is closed at once."""
        self._stop.set()

    def _stream(
        self, request: RemoteRequest, holder: list[RemoteReply], stop: threading.Event
    ) -> Iterator[str]:
        log.info("sending %d messages to %s", len(request.messages), self.where)
        progress = _Progress(start=time.monotonic())
        return relay(
            lambda lines, stop: self._pump(request, lines, stop),
            stop,
            progress,
            name="remote-stream",
            parse=self._on_line,
            complete=lambda progress: progress.finish is not None,
            cut=lambda received: RemoteStreamCutError(self._cut_message(received)),
            translate=lambda error, received: self._translate(error, received=received),
            finish=lambda error: self._finish(holder[0], progress, error),
            done=lambda progress: progress.done,
        )

    def _pump(
        self, request: RemoteRequest, lines: queue.Queue[tuple[str, Any]], stop: threading.Event
    ) -> None:
        body = {**request.payload(), "stream": True, "stream_options": {"include_usage": True}}
        try:
            with self._http.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    lines.put(("error", _Status(response.status_code, _error_text(response))))
                    return
                for line in response.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("data:"):
                        lines.put(("data", line[5:].strip()))
                lines.put(("end", None))
        except Exception as exc:
            if not stop.is_set():
                lines.put(("error", exc))

    def _on_line(self, data: str, progress: _Progress) -> str:
        if data == "[DONE]":
            progress.done = True
            progress.finish = progress.finish or "stop"
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            return ""
        if not isinstance(chunk, dict):
            return ""
        if isinstance(chunk.get("error"), dict | str):  # an error event mid-stream
            raise self._status_error(500, _message_of(chunk), received=progress.chars)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            progress.input_tokens = int(usage.get("prompt_tokens") or progress.input_tokens)
            progress.output_tokens = int(usage.get("completion_tokens") or progress.output_tokens)
        piece = ""
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            piece += str(delta.get("content") or "")
            if choice.get("finish_reason"):
                progress.finish = str(choice["finish_reason"])
        if piece:
            if progress.first is None:
                progress.first = time.monotonic()
            progress.pieces += 1
        return piece

    def _finish(self, reply: RemoteReply, progress: _Progress, error: RemoteError | None) -> None:
        end = time.monotonic()
        stop: StopReason | None
        if progress.stopped:
            stop = StopReason.USER
        elif error is not None or progress.finish is None:
            stop = None
        else:
            stop = _FINISH.get(progress.finish, StopReason.END_OF_TEXT)
        output = progress.output_tokens or progress.pieces
        rate = None
        if progress.first is not None and output > 1 and end > progress.first:
            rate = (output - 1) / (end - progress.first)
        reply.error = error
        reply.stats = CloudReplyStats(
            model=reply.model,
            input_tokens=progress.input_tokens,
            output_tokens=output,
            stop_reason=stop,
            api_stop_reason=progress.finish,
            incomplete=stop is None,
            time_to_first_token=None if progress.first is None else progress.first - progress.start,
            tokens_per_second=rate,
            elapsed=end - progress.start,
            backend="remote",
        )
        if error is not None:
            log.warning("reply from %s failed: %s", self.where, error)

    # -- failures ---------------------------------------------------------------------------

    def _cut_message(self, received: int) -> str:
        return (
            f"The reply from {self.where} was cut off after {received} characters; what "
            "arrived is kept and marked interrupted."
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    def _translate(self, error: BaseException, *, received: int) -> RemoteError:
        """Our error for a transport failure or an error answer (never carrying the token)."""
        if isinstance(error, RemoteError):
            return error
        if isinstance(error, _Status):
            return self._status_error(error.status, error.text, received=received)
        if isinstance(error, httpx2.TimeoutException):
            if isinstance(error, httpx2.ConnectTimeout):
                return RemoteUnreachableError(
                    f"Hearth could not connect to {self.where} within its timeout."
                )
            if received:
                return RemoteStreamCutError(
                    f"{self.where} stopped sending for more than {self.timeout:g} s after "
                    f"{received} characters; what arrived is kept and marked interrupted."
                )
            return RemoteTimeoutError(f"{self.where} did not answer within {self.timeout:g} s.")
        if isinstance(error, httpx2.ConnectError):
            return RemoteUnreachableError(
                f"Hearth could not reach {self.where} ({self._scrub(str(error)) or 'refused'})."
            )
        if isinstance(error, httpx2.HTTPError):  # the connection broke while streaming
            return RemoteStreamCutError(self._cut_message(received))
        return RemoteError(f"The request to {self.where} failed: {type(error).__name__}.")

    def _status_error(self, status: int, text: str, *, received: int) -> RemoteError:
        said = f": {self._scrub(text).rstrip('.')}" if text else ""
        if received:
            said += f", after {received} characters (kept, marked interrupted)"
        where = self.where
        if status in (401, 403):
            return RemoteTokenRefusedError(
                f"{where} refused the token ({status}){said}.", status=status
            )
        if status == 404:
            return RemoteRequestError(
                f"{where} does not know this model or address (404){said}.", status=status
            )
        if status >= 500:
            return RemoteServerError(f"{where} failed ({status}){said}.", status=status)
        return RemoteRequestError(f"{where} refused the request ({status}){said}.", status=status)


class _Status(Exception):
    """An error answer, handed from the reader thread."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(status)
        self.status = status
        self.text = text


def _message_of(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")[:300]
    return str(error or "")[:300]


def _error_text(response: httpx2.Response) -> str:
    try:
        return _message_of(response.json())
    except ValueError:
        return response.text.strip()[:300]


# -- the list of remotes ------------------------------------------------------------------


def add_remote(
    store: SettingsStore,
    keys: KeyStore,
    *,
    name: str,
    url: str,
    token: str | None = None,
    allowed: bool = False,
) -> RemoteServer:
    """Add (or replace) the remote ``name`` at ``url``; its token goes to the keychain.

    The token is stored first: when the keychain refuses it (KeychainUnavailableError,
    KeychainError), the settings are left as they were. A bad name or URL raises
    SettingsError before anything is stored.
    """
    current = store.current
    new = {"name": name, "url": url, "allowed": allowed}
    others = [asdict(r) for r in current.remotes if r.name != name.strip()]
    settings = current.with_value("remotes", [*others, new])  # validated as the file is
    remote = settings.remotes[-1]
    if token is not None and token.strip():
        keys.remote_token(remote.name).save(token)
    store.update(settings)
    return remote


def remove_remote(store: SettingsStore, keys: KeyStore, name: str) -> RemoteServer:
    """Forget the remote ``name`` and its token; raises UnknownRemoteError."""
    remote = find_remote(store.current, name)
    store.update(
        replace(store.current, remotes=tuple(r for r in store.current.remotes if r.name != name))
    )
    keys.remote_token(name).clear()
    return remote


def allow_remote(store: SettingsStore, name: str, allowed: bool = True) -> RemoteServer:
    """Record the person's opt-in (or its withdrawal) to send conversations to ``name``."""
    remote = find_remote(store.current, name)
    changed = RemoteServer(remote.name, remote.url, allowed)
    remotes = tuple(changed if r.name == name else r for r in store.current.remotes)
    store.update(replace(store.current, remotes=remotes))
    return changed
