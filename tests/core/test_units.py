"""Sizes as people read them, written one way everywhere."""

from __future__ import annotations

import pytest

from app.core.units import format_bytes


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
