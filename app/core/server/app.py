"""The server's ASGI application: routes of both APIs behind the :class:`Guard`."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from app.core.errors import HearthError
from app.core.server import anthropic_api, openai_api
from app.core.server.backend import Backend
from app.core.server.errors import Api, ApiError, Problem
from app.core.server.guard import Guard


async def health(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    activity = backend.activity
    cards = backend.models()
    chat = next((c.id for c in cards if c.kind == "chat"), None)
    return JSONResponse(
        {
            "status": "ok" if chat else "no model",
            "model": chat,
            "running": activity.running,
            "waiting": activity.waiting,
        },
        status_code=200 if chat else 503,
    )


def _error_response(request: Request, error: Exception) -> Response:
    api = Api.of(request.url.path)
    if isinstance(error, HTTPException):  # routing: an unknown path, a wrong method
        problem = Problem.NOT_FOUND if error.status_code == 404 else Problem.INVALID
        answer = ApiError(problem, f"{request.method} {request.url.path}: {error.detail}")
        return JSONResponse(answer.body(api), status_code=error.status_code)
    answer = ApiError.of(error)
    return JSONResponse(answer.body(api), status_code=answer.status, headers=answer.headers)


async def _on_error(request: Request, error: Exception) -> Response:
    return _error_response(request, error)


async def _on_disconnect(request: Request, error: Exception) -> Response:
    return Response(status_code=499)  # nobody is there to read it


def build_app(
    backend: Backend,
    *,
    hosts: frozenset[str],
    token: str | None,
    origins: Callable[[], frozenset[str]],
) -> ASGIApp:
    """The application for ``backend``, with the guard's checks in front."""
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", openai_api.list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", openai_api.get_model, methods=["GET"]),
        Route("/v1/chat/completions", openai_api.chat_completions, methods=["POST"]),
        Route("/v1/completions", openai_api.completions, methods=["POST"]),
        Route("/v1/embeddings", openai_api.embeddings, methods=["POST"]),
        Route("/v1/messages", anthropic_api.messages, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _on_error,
            HearthError: _on_error,
            HTTPException: _on_error,
            ClientDisconnect: _on_disconnect,
        },
    )
    app.state.backend = backend
    return Guard(app, hosts=hosts, token=token, origins=origins, limits=backend.limits)
