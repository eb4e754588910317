"""Errors of the local server, each said in the shape of the API that was called.

Handlers raise :class:`ApiError` with a neutral :class:`Problem`; the server answers it
as OpenAI's ``{"error": {"message", "type", "param", "code"}}`` or Anthropic's
``{"type": "error", "error": {"type", "message"}}``, by the path that was called.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping

from app.core.errors import ContextOverflowError, HearthError, NoModelLoadedError


class Problem(enum.Enum):
    """What went wrong, with its status code and each API's name for it."""

    #         status  OpenAI type              Anthropic type
    INVALID = (400, "invalid_request_error", "invalid_request_error")
    UNAUTHORIZED = (401, "authentication_error", "authentication_error")
    FORBIDDEN = (403, "permission_error", "permission_error")
    NOT_FOUND = (404, "not_found_error", "not_found_error")
    SLOW_CLIENT = (408, "invalid_request_error", "timeout_error")
    TOO_LARGE = (413, "invalid_request_error", "request_too_large")
    BUSY = (503, "server_busy", "overloaded_error")
    FAILED = (500, "server_error", "api_error")

    @property
    def status(self) -> int:
        return self.value[0]


class Api(enum.Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"

    @classmethod
    def of(cls, path: str) -> Api:
        """The API a path belongs to (for the shape of an error answered before routing)."""
        return cls.ANTHROPIC if path.rstrip("/") == "/v1/messages" else cls.OPENAI


class ApiError(Exception):
    """An error to answer with; ``param`` and ``code`` are OpenAI's optional fields."""

    def __init__(
        self,
        problem: Problem,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return self.problem.status

    def body(self, api: Api) -> dict[str, object]:
        if api is Api.ANTHROPIC:
            return {
                "type": "error",
                "error": {"type": self.problem.value[2], "message": self.message},
            }
        return {
            "error": {
                "message": self.message,
                "type": self.problem.value[1],
                "param": self.param,
                "code": self.code,
            }
        }

    def encoded(self, api: Api) -> bytes:
        return json.dumps(self.body(api)).encode("utf-8")

    @classmethod
    def from_hearth(cls, error: HearthError) -> ApiError:
        """The answer to an error of Hearth's core (the engine, a template, a grammar)."""
        from app.core.inference import GrammarError

        text = error.describe().replace("\n", " ")
        if isinstance(error, ContextOverflowError):
            return cls(Problem.INVALID, text, param="messages", code="context_length_exceeded")
        if isinstance(error, GrammarError):
            return cls(Problem.INVALID, text, param="response_format", code="invalid_schema")
        if isinstance(error, NoModelLoadedError):
            return cls(Problem.BUSY, "No model is loaded in Hearth right now.", code="no_model")
        return cls(Problem.FAILED, text)

    @classmethod
    def of(cls, error: BaseException) -> ApiError:
        """Any failure as an answer: itself, a core error's translation, or a 500."""
        if isinstance(error, ApiError):
            return error
        if isinstance(error, HearthError):
            return cls.from_hearth(error)
        return cls(Problem.FAILED, f"{type(error).__name__}: {error}")
