"""Quantities for people: the one way Hearth writes a number of bytes or of things."""

from __future__ import annotations

# Decimal units, as file managers and the Hub show sizes; decimals shown for each.
_UNITS = (("B", 0), ("KB", 0), ("MB", 1), ("GB", 1), ("TB", 1))


def format_bytes(n_bytes: float) -> str:
    """``1.2 GB``-style sizes: whole bytes and kilobytes, one decimal from megabytes up.

    A value that would round to 1000 of a unit is shown in the next one (``1.0 MB``,
    not ``1000 KB``); ``/s`` can follow it for a speed.
    """
    value = float(n_bytes)
    for unit, decimals in _UNITS:
        shown = round(value, decimals)
        if abs(shown) < 1000 or unit == "TB":
            return f"{shown:.{decimals}f} {unit}"
        value /= 1000
    raise AssertionError("unreachable: the last unit always returns")  # pragma: no cover


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 chat``, ``2 chats``, ``1,234 messages``: a number and its noun, agreed.

    The plural is ``noun`` plus ``s`` unless ``plural`` says otherwise (``reply`` /
    ``replies``); a noun of several words (``new chat``) takes it on its last word.
    """
    word = noun if n == 1 else (plural if plural is not None else f"{noun}s")
    return f"{n:,} {word}"


__all__ = ["count", "format_bytes"]
