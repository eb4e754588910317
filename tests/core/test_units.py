"""Sizes as people read them, written one way everywhere."""

from __future__ import annotations

import pytest

from app.core.units import count, format_bytes


@pytest.mark.parametrize(
    ("n_bytes", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 KB"),
        (999_499, "999 KB"),
        (999_600, "1.0 MB"),  # never "1000 KB"
        (1_500_000, "1.5 MB"),
        (114_000_000, "114.0 MB"),
        (999_960_000, "1.0 GB"),  # never "1000.0 MB"
        (4_370_000_000, "4.4 GB"),
        (12_000_000_000_000, "12.0 TB"),
        (2_500_000_000_000_000, "2500.0 TB"),
        (-1_500_000, "-1.5 MB"),
    ],
)
def test_sizes_use_decimal_units_and_never_show_a_thousand_of_one(n_bytes: int, shown: str) -> None:
    assert format_bytes(n_bytes) == shown


@pytest.mark.parametrize(
    ("n", "noun", "plural", "shown"),
    [
        (0, "chat", None, "0 chats"),
        (1, "chat", None, "1 chat"),
        (2, "chat", None, "2 chats"),
        (1, "message", None, "1 message"),
        (1234, "message", None, "1,234 messages"),
        (1, "new chat", None, "1 new chat"),
        (3, "new chat", None, "3 new chats"),
        (1, "reply", "replies", "1 reply"),
        (2, "reply", "replies", "2 replies"),
    ],
)
def test_a_count_agrees_with_its_noun(n: int, noun: str, plural: str | None, shown: str) -> None:
    assert count(n, noun, plural) == shown
