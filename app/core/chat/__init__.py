"""The chat domain: conversations, their history on disk, routing a turn."""

from __future__ import annotations

from app.core.chat.conversation import Conversation, ConversationEvent, LiveReply
from app.core.chat.history import HistoryCorruptError, HistoryStore, MessageRecord
from app.core.chat.routing import (
    Preview,
    Route,
    RouteDecision,
    build_preview,
    decide_route,
    suggest_claude,
)
from app.core.chat.session import (
    ChatSession,
    NeverAsk,
    Retriever,
    Turn,
    TurnPrompts,
    model_messages,
)
from app.core.chat.textparts import ReasoningSplitter, code_blocks, split_reasoning

__all__ = [
    "ChatSession",
    "Conversation",
    "ConversationEvent",
    "HistoryCorruptError",
    "HistoryStore",
    "LiveReply",
    "MessageRecord",
    "NeverAsk",
    "Preview",
    "ReasoningSplitter",
    "Retriever",
    "Route",
    "RouteDecision",
    "Turn",
    "TurnPrompts",
    "build_preview",
    "code_blocks",
    "decide_route",
    "model_messages",
    "split_reasoning",
    "suggest_claude",
]
