"""Routing decisions, the preview of what leaves the machine, prices and suggestions."""

from __future__ import annotations

import typing

import anthropic.types.model
import pytest

from app.core.chat.routing import (
    Route,
    SuggestionReason,
    build_preview,
    decide_route,
    suggest_claude,
)
from app.core.claude_models import CLAUDE_MODELS
from app.core.cloud.claude import ClaudeDisabledError, OfflineError, prepare_request
from app.core.inference.engine import Message
from app.core.settings import Settings, SettingsError

ON = Settings(claude_enabled=True)


def test_default_is_local_only() -> None:
    decision = decide_route(Settings())
    assert decision.route is Route.LOCAL
    assert decide_route(Settings(), conversation_options={"backend": "local"}).route is Route.LOCAL


def test_claude_only_when_asked_and_allowed() -> None:
    with pytest.raises(ClaudeDisabledError):
        decide_route(Settings(), conversation_options={"backend": "claude"})
    with pytest.raises(ClaudeDisabledError):
        decide_route(Settings(), ask_claude=True)
    with pytest.raises(OfflineError):
        decide_route(Settings(claude_enabled=True, offline=True), ask_claude=True)
    conv = decide_route(ON, conversation_options={"backend": "claude"})
    assert (conv.route, conv.preview) == (Route.CLAUDE, True)
    quiet = decide_route(
        ON, conversation_options={"backend": "claude", "preview_before_send": False}
    )
    assert (quiet.route, quiet.preview) == (Route.CLAUDE, False)
    action = decide_route(ON, conversation_options={"backend": "local"}, ask_claude=True)
    assert action.route is Route.CLAUDE  # the per-message action sends just that turn


def test_ask_mode_asks_only_when_claude_is_usable() -> None:
    assert decide_route(ON.with_value("routing", "ask")).route is Route.ASK
    assert decide_route(Settings(routing="ask")).route is Route.LOCAL
    offline = Settings(routing="ask", claude_enabled=True, offline=True)
    assert decide_route(offline).route is Route.LOCAL
    local_conv = decide_route(
        ON.with_value("routing", "ask"), conversation_options={"backend": "local"}
    )
    assert local_conv.route is Route.LOCAL


def test_preview_shows_exactly_what_is_sent_and_its_cost() -> None:
    text = "x" * 3500  # 1,000 estimated tokens
    history = [Message("assistant", "greeting"), Message("user", text)]
    preview = build_preview(history, model="claude-sonnet-4-6", system="Be kind.", max_tokens=1000)
    assert preview.messages == (Message("user", text),)
    assert preview.system == "Be kind."
    assert preview.model == "claude-sonnet-4-6"
    assert preview.host == "api.anthropic.com"
    assert preview.input_tokens_estimated
    assert preview.input_tokens == 1000 + 3 + 4  # message, system prompt, framing
    assert preview.input_cost_usd == pytest.approx(1007 * 3 / 1e6)
    assert preview.max_cost_usd == pytest.approx(1007 * 3 / 1e6 + 1000 * 15 / 1e6)
    summary = preview.summary()
    assert "Claude Sonnet 4.6 at api.anthropic.com" in summary
    assert "$0.0030 to send" in summary and "$0.018" in summary
    opus = build_preview(history, model="claude-opus-4-6", max_tokens=1000)
    assert opus.input_cost_usd is not None and preview.input_cost_usd is not None
    assert opus.input_cost_usd > preview.input_cost_usd


def test_preview_names_the_host_requests_really_go_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://proxy.example.org:8443")
    preview = build_preview([Message("user", "hi")], model="claude-haiku-4-5")
    assert preview.host == "proxy.example.org:8443"


def test_every_offered_model_is_current_and_priced() -> None:
    sdk_models = set(typing.get_args(typing.get_args(anthropic.types.model.Model)[0]))
    assert Settings().claude_model == CLAUDE_MODELS[0].id
    assert Settings.choices("claude_model") == tuple(m.id for m in CLAUDE_MODELS)
    for model in CLAUDE_MODELS:
        assert model.id in sdk_models, f"{model.id} is not a model the installed SDK knows"
        assert model.output_per_mtok > model.input_per_mtok > 0
        assert model.max_output_tokens < model.context_tokens
        # What the settings accept is what the preview prices and the request clamps to.
        assert Settings().with_value("claude_model", model.id).claude_model == model.id
        preview = build_preview([Message("user", "hi")], model=model.id, max_tokens=10**7)
        assert preview.listed == model and model.label in preview.summary()
        assert preview.max_tokens == model.max_output_tokens
        assert (
            prepare_request([Message("user", "hi")], model=model.id, max_tokens=10**7).max_tokens
            == model.max_output_tokens
        )


def test_a_model_hearth_does_not_list_is_refused_by_the_settings_and_unpriced() -> None:
    with pytest.raises(SettingsError, match="claude_model must be one of claude-sonnet-4-6"):
        Settings().with_value("claude_model", "claude-sonet-4-6")
    preview = build_preview([Message("user", "hi")], model="claude-future-9")
    assert preview.listed is None and preview.input_cost_usd is None
    assert "price unknown for this model" in preview.summary()


def test_suggests_claude_only_when_the_local_model_cannot_cope() -> None:
    assert suggest_claude(ON, prompt_tokens=1000, context_length=4096) is None
    long = suggest_claude(ON, prompt_tokens=5000, context_length=4096)
    assert long is not None and long.reason is SuggestionReason.CONTEXT_TOO_LONG
    assert not long.needs_opt_in
    dropped = suggest_claude(Settings(), dropped_messages=3)
    assert dropped is not None and dropped.needs_opt_in and "turn Claude on" in dropped.message
    none_fits = suggest_claude(ON, fits_any_model=False)
    assert none_fits is not None and none_fits.reason is SuggestionReason.NO_MODEL_FITS
    offline = Settings(claude_enabled=True, offline=True)
    assert suggest_claude(offline, dropped_messages=3, fits_any_model=False) is None
    # A suggestion never changes where replies go.
    assert decide_route(ON).route is Route.LOCAL
