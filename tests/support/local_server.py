"""Hearth's local server in the test process, on loopback, for the real SDKs to call.

:class:`Served` is a running :class:`LocalServer` over a real engine process, with
settings the test can change while it runs (``served.set(server_queue=0)``), and raw
HTTP helpers for what the SDKs will not send (a wrong Host, a preflight, bad JSON).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import SamplingOptions
from app.core.inference import EngineProcess, LoadOptions
from app.core.server import LocalServer, ServerConfig, ServerLimits
from app.core.settings import Settings


def greedy(max_tokens: int) -> SamplingOptions:
    """The server's sampling for a request that sets only temperature 0 and max_tokens."""
    return replace(
        SamplingOptions.from_settings(Settings()), temperature=0.0, max_tokens=max_tokens
    )


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    server: LocalServer
    engine: EngineProcess
    settings: Settings = field(default_factory=Settings)
    embedder: EngineProcess | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, **values: Any) -> None:
        """Change settings; the running server reads them at its next request."""
        settings = self.settings
        for key, value in values.items():
            settings = settings.with_value(key, value)
        self.settings = settings

    def reset(self) -> None:
        self.settings = Settings()

    def openai(self, **options: Any) -> Any:
        import openai

        return openai.OpenAI(
            base_url=f"{self.base_url}/v1",
            api_key=options.pop("api_key", "unused"),
            max_retries=0,
            **options,
        )

    def anthropic(self, **options: Any) -> Any:
        import anthropic

        return anthropic.Anthropic(
            base_url=self.base_url,
            api_key=options.pop("api_key", "unused"),
            max_retries=0,
            **options,
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Response:
        """One raw HTTP request to 127.0.0.1 (the Host header is the test's to set)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        sent = {"Content-Type": "application/json", **(headers or {})}
        try:
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            return Response(
                answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
            )
        finally:
            connection.close()


@contextlib.contextmanager
def serving(
    engine: EngineProcess,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    limits: ServerLimits | None = None,
    embedder: EngineProcess | None = None,
) -> Iterator[Served]:
    holder: list[Served] = []
    server = LocalServer(
        engine,
        config=ServerConfig(host=host, port=0, token=token, limits=limits or ServerLimits()),
        settings=lambda: holder[0].settings,
        embedder=embedder,
    )
    holder.append(Served(server=server, engine=engine, embedder=embedder))
    server.start()
    try:
        yield holder[0]
    finally:
        server.stop()


@contextlib.contextmanager
def engine_for(
    path: Path, home: Path, *, fault: str | None = None, **options: Any
) -> Iterator[EngineProcess]:
    """An engine process with ``path`` loaded, its files under ``home`` (not the user's).

    ``fault``: the test-only fault hook's setting (``HEARTH_TEST_ENGINE_FAULT``).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEARTH_HOME", str(home))
        if fault:
            patch.setenv("HEARTH_TEST_ENGINE_FAULT", fault)
        engine = EngineProcess()
        try:
            engine.load(path, replace(LoadOptions(context_length=1024), **options))
        except BaseException:
            engine.close()
            raise
    try:
        yield engine
    finally:
        engine.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- fixtures: import them into a test module (``from tests.support.local_server import ...``)


@pytest.fixture(scope="module")
def stories_engine(stories_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """stories260K loaded in an engine process, for a module's tests."""
    with engine_for(stories_model, tmp_path_factory.mktemp("engine-home")) as engine:
        yield engine


@pytest.fixture(scope="module")
def stories_server(stories_engine: EngineProcess) -> Iterator[Served]:
    with serving(stories_engine) as served:
        yield served


@pytest.fixture(scope="module")
def paced_server(stories_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """stories260K paced to one token per 15 ms, as a real model on a laptop, served.

    stories260K alone writes 24 tokens in under 10 ms: they may all reach the client in
    one batch (the engine sends at most every 100 ms), and a test of streaming would race
    the clock. Paced, a 24-token reply spans several of the engine's sends.
    """
    home = tmp_path_factory.mktemp("paced-home")
    paced = "reply:SLOW:after=2:ms=15"
    with engine_for(stories_model, home, fault=paced) as engine, serving(engine) as served:
        yield served


@pytest.fixture
def served(stories_server: Served) -> Iterator[Served]:
    """The module's server, with default settings for each test."""
    stories_server.reset()
    yield stories_server
    stories_server.reset()
