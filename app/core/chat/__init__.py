"""The chat domain: conversations, their history on disk, routing a turn."""

from __future__ import annotations

from app.core.chat.conversation import Conversation, ConversationEvent, LiveReply
from app.core.chat.history import (
    DELETED_KEPT_FOR_S,
    ConversationCopy,
    ConversationRecord,
    CopyResult,
    HistoryCorruptError,
    HistoryError,
    HistoryLockedError,
    HistoryStore,
    MessageRecord,
    RestoreResult,
)
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
from app.core.chat.vault import (
    KEEP,
    BackupCheck,
    BackupDamagedError,
    BackupError,
    BackupInfo,
    BackupSpaceError,
    check_backup,
    find_backup,
)

__all__ = [
    "DELETED_KEPT_FOR_S",
    "KEEP",
    "BackupCheck",
    "BackupDamagedError",
    "BackupError",
    "BackupInfo",
    "BackupSpaceError",
    "ChatSession",
    "Conversation",
    "ConversationCopy",
    "ConversationEvent",
    "ConversationRecord",
    "CopyResult",
    "HistoryCorruptError",
    "HistoryError",
    "HistoryLockedError",
    "HistoryStore",
    "LiveReply",
    "MessageRecord",
    "NeverAsk",
    "Preview",
    "ReasoningSplitter",
    "RestoreResult",
    "Retriever",
    "Route",
    "RouteDecision",
    "Turn",
    "TurnPrompts",
    "build_preview",
    "check_backup",
    "code_blocks",
    "decide_route",
    "find_backup",
    "model_messages",
    "split_reasoning",
    "suggest_claude",
]
