"""The advisor: which model, quantization, GPU layers and context fit this machine."""

from __future__ import annotations

from app.core.advisor.advice import (
    Advice,
    ModelFile,
    Recommendation,
    Verdict,
    advise,
    headroom_for,
    reference_files,
)

__all__ = [
    "Advice",
    "ModelFile",
    "Recommendation",
    "Verdict",
    "advise",
    "headroom_for",
    "reference_files",
]
