"""One stored conversation with every kind of turn, and what a model must see of it.

The desktop app (tests/ui/test_ui_session.py) and the CLI (tests/core/test_chat_session.py)
continue it and must both send the engine exactly ``EXPECTED`` plus the new message.
"""

from __future__ import annotations

from app.core.chat.history import HistoryStore
from app.core.generation import Message

SYSTEM = "Answer in one short sentence."
NEXT = "And the moon?"

# What the model sees: the system prompt, then the turns that were said. The failed
# reply and the empty one are not (nothing was said); the text before them is.
EXPECTED = [
    Message("system", SYSTEM),
    Message("user", "Why is the sky blue?"),
    Message("assistant", "Because air scatters blue light most."),
    Message("user", "Say it again"),
    Message("user", "Please, once more"),
    Message("assistant", "Air scatters short blue waves more than red ones."),
    Message("user", NEXT),
]


def store_mixed_conversation(store: HistoryStore) -> int:
    """Store the conversation; returns its id."""
    record = store.create_conversation(title="Sky", system_prompt=SYSTEM)
    add = store.add_message
    add(record.id, role="user", text="Why is the sky blue?")
    add(record.id, role="assistant", text="Because air scatters blue light most.", backend="local")
    add(record.id, role="user", text="Say it again")
    add(
        record.id,
        role="assistant",
        text="partial wor",
        backend="local",
        status="error",
        error="The model stopped unexpectedly.",
    )
    add(record.id, role="user", text="Please, once more")
    add(record.id, role="assistant", text="   ", backend="local")
    add(
        record.id,
        role="assistant",
        text="Air scatters short blue waves more than red ones.",
        backend="local",
    )
    return record.id
