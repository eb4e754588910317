"""Quantities for people: the one way Hearth writes a number of bytes."""

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


__all__ = ["format_bytes"]
