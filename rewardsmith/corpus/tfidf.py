"""A small TF-IDF vectorizer: retrieval that needs no model download and no scikit-learn.

Words are lower-cased runs of letters (and digits), split at underscores, dots and camel case,
so an attribute named ``volatile.acidity`` or ``VolatileAcidity`` meets "volatile acidity" in a
card. A few common words carry no meaning for retrieval and are dropped. The vocabulary and its
inverse document frequencies come from the texts ``fit`` sees; unknown words of a query are
ignored. Vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import math
import re

import numpy as np

_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or per than that the their "
    "this to was were which with within".split())
_WORD = re.compile(r"[a-z]+|[0-9]+")


def words(text: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text)).lower().replace("_", " ")
    return [w for w in _WORD.findall(text) if w not in _STOP and len(w) > 1]


class TfidfVectorizer:
    """``fit(texts)`` learns the vocabulary; ``transform(texts)`` gives unit vectors (n x V)."""

    def __init__(self, min_count: int = 1):
        self.min_count = min_count

    def fit(self, texts) -> TfidfVectorizer:
        counts: dict[str, int] = {}
        for text in texts:
            for word in set(words(text)):
                counts[word] = counts.get(word, 0) + 1
        kept = sorted(w for w, c in counts.items() if c >= self.min_count)
        n = max(1, len(texts))
        self.vocabulary_ = {w: i for i, w in enumerate(kept)}
        self.idf_ = np.array([math.log((1 + n) / (1 + counts[w])) + 1 for w in kept])
        return self

    def transform(self, texts) -> np.ndarray:
        matrix = np.zeros((len(texts), len(self.vocabulary_)))
        for row, text in enumerate(texts):
            for word in words(text):
                column = self.vocabulary_.get(word)
                if column is not None:
                    matrix[row, column] += 1.0
        matrix = np.log1p(matrix) * self.idf_
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms > 0, norms, 1.0)

    def __call__(self, texts) -> np.ndarray:
        """A DSPy ``Embedder``-style callable: texts in, vectors out."""
        return self.transform(list(texts))
