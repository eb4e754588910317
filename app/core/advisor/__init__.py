"""The advisor: which model, quantization, GPU layers and context fit this machine."""

from __future__ import annotations

from app.core.advisor.advice import (
    COMFORTABLE_SPEED,
    MIN_USABLE_SPEED,
    Advice,
    ModelFile,
    Recommendation,
    Verdict,
    advise,
    headroom_for,
    reference_files,
)

__all__ = [
    "COMFORTABLE_SPEED",
    "MIN_USABLE_SPEED",
    "Advice",
    "ModelFile",
    "Recommendation",
    "Verdict",
    "advise",
    "headroom_for",
    "reference_files",
]
