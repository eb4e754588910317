"""A stand-in embedding model: words hashed into a unit vector, every call counted.

Texts sharing words get similar vectors, so vector search finds them; it needs no engine,
so indexing tests run fast and can count exactly what was embedded.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence

DIMENSIONS = 64


class WordEmbedder:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.texts: list[str] = []

    @property
    def model_id(self) -> str:
        return "words-64"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        self.texts.extend(texts)
        if self.delay:
            time.sleep(self.delay)
        return [vector(text) for text in texts]


def vector(text: str) -> list[float]:
    values = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        values[int.from_bytes(digest[:2], "little") % DIMENSIONS] += 1.0
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]
