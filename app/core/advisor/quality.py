"""How much quality each quantization costs, from llama.cpp's published measurements.

Source: the table ``llama-quantize --help`` prints (``tools/quantize/quantize.cpp``
in llama.cpp): the perplexity increase over F16 on wikitext-2 for Llama-3-8B, whose
F16 perplexity there is about 6.23. For the i-quants llama.cpp publishes only bits per
weight; their figures here are interpolated by bits per weight between the nearest
measured k-quants and marked ``measured=False``. Other models lose more or less, but
the order and rough size hold; bigger models lose less at the same quantization.
"""

from __future__ import annotations

from dataclasses import dataclass

F16_PERPLEXITY_LLAMA3_8B = 6.23


@dataclass(frozen=True, slots=True)
class QuantQuality:
    """One quantization's cost in quality and size."""

    name: str
    bits_per_weight: float
    ppl_increase: float
    """Perplexity increase over F16 on Llama-3-8B (wikitext-2)."""
    measured: bool = True
    """False when interpolated (i-quants: llama.cpp publishes no figure)."""

    @property
    def loss_percent(self) -> float:
        """The perplexity increase as a percentage of F16's perplexity."""
        return 100.0 * self.ppl_increase / F16_PERPLEXITY_LLAMA3_8B

    @property
    def label(self) -> str:
        """A word for the loss: ``none``, ``negligible``, ``small``, ``noticeable``..."""
        loss = self.loss_percent
        if loss < 0.1:
            return "none"
        if loss < 0.5:
            return "negligible"
        if loss < 2.0:
            return "very small"
        if loss < 5.0:
            return "small"
        if loss < 12.0:
            return "noticeable"
        return "large"


def _q(name: str, bpw: float, ppl: float, measured: bool = True) -> QuantQuality:
    return QuantQuality(name, bpw, ppl, measured)


# Bits per weight for the k-quants are llama.cpp's file sizes for Llama-3-8B
# (8.03 B parameters) converted to bits: 4.58 GB -> 4.89 bpw for Q4_K_M.
QUANT_TABLE: dict[str, QuantQuality] = {
    q.name: q
    for q in (
        _q("F32", 32.0, 0.0),
        _q("F16", 16.0, 0.0020),
        _q("BF16", 16.0, 0.0),
        _q("Q8_0", 8.50, 0.0026),
        _q("Q6_K", 6.57, 0.0217),
        _q("Q5_K_M", 5.70, 0.0569),
        _q("Q5_K_S", 5.57, 0.1049),
        _q("Q5_1", 6.04, 0.1062),
        _q("Q5_0", 5.57, 0.1316),
        _q("Q4_K_M", 4.89, 0.1754),
        _q("Q4_K_S", 4.67, 0.2689),
        _q("IQ4_NL", 4.50, 0.30, False),
        _q("IQ4_XS", 4.25, 0.35, False),
        _q("Q4_1", 5.11, 0.4511),
        _q("Q4_0", 4.64, 0.4685),
        _q("Q3_K_L", 4.31, 0.5562),
        _q("Q3_K_M", 4.00, 0.6569),
        _q("IQ3_M", 3.66, 0.85, False),
        _q("IQ3_S", 3.44, 1.10, False),
        _q("Q3_K_S", 3.65, 1.6321),
        _q("IQ3_XS", 3.30, 1.40, False),
        _q("IQ3_XXS", 3.06, 1.80, False),
        _q("Q2_K", 3.17, 3.5199),
        _q("Q2_K_S", 3.17, 3.1836),
        _q("IQ2_M", 2.70, 4.0, False),
        _q("IQ2_S", 2.50, 5.0, False),
        _q("IQ2_XS", 2.31, 6.0, False),
        _q("IQ2_XXS", 2.06, 8.0, False),
        _q("IQ1_M", 1.75, 14.0, False),
        _q("IQ1_S", 1.56, 20.0, False),
    )
}

# Auto picks the first of these that fits. Below Q3_K_M quality drops fast, so the
# 2-bit files are considered only for models big enough to survive them.
AUTO_LADDER = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M")
LARGE_MODEL_LADDER = ("Q2_K", "IQ2_M", "IQ2_S", "IQ2_XS", "IQ2_XXS")
LARGE_MODEL_PARAMETERS = 30e9


def normalise_quant(name: str) -> str:
    """``q4_k_m``, ``Q4_K_M``, ``MOSTLY_Q4_K_M`` -> ``Q4_K_M``; unknown names unchanged."""
    clean = name.strip().upper().removeprefix("MOSTLY_").removeprefix("ALL_")
    aliases = {"Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "Q3_K": "Q3_K_M"}
    return aliases.get(clean, clean)


def quant_quality(name: str) -> QuantQuality | None:
    """The table entry for a quantization name, or None when unknown."""
    return QUANT_TABLE.get(normalise_quant(name))


def auto_ladder(parameter_count: float) -> tuple[str, ...]:
    """Quantizations Auto may choose for a model this size, best quality first."""
    if parameter_count >= LARGE_MODEL_PARAMETERS:
        return AUTO_LADDER + LARGE_MODEL_LADDER
    return AUTO_LADDER
