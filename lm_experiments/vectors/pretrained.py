"""Pretrained word vectors laid out for a vocabulary: a row for every word the vectors have, whole or built.

`pretrained_rows(kv, words)` gives a row for every word of `words` the vectors have: whole
words from their vocabulary, and, for fastText runs and `FastTextKeyedVectors` files, every
other word built from its character n-grams (as gensim and fastText do). The rest are left
to the caller (Kim 2014: uniform, with the variance of the pretrained rows). The vectors
are read by whoever builds the model (`run/assembly.py`), never by a model.
"""

import numpy as np


class PretrainedRows:
    """A plain class, not a dataclass: Hydra's `instantiate` would turn a dataclass argument into a config node."""

    def __init__(self, source: str, vectors: np.ndarray, found: np.ndarray, built: np.ndarray):
        self.source = source    # where the vectors came from (a run folder or a file), for messages
        self.vectors = vectors  # (n, d) float32, zeros where not `found` or `built`
        self.found = found      # (n,) bool: the word itself is in the vectors' vocabulary
        self.built = built      # (n,) bool: not found, but built from character n-grams (fastText)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


def pretrained_rows(kv, words: list[str], source: str) -> PretrainedRows:
    """The rows of gensim KeyedVectors `kv` for `words`, in their order."""
    from gensim.models.fasttext import FastTextKeyedVectors

    found = np.array([word in kv.key_to_index for word in words], dtype=bool)
    vectors = np.zeros((len(words), kv.vector_size), dtype=np.float32)
    if found.any():
        vectors[found] = kv[[w for w, f in zip(words, found) if f]]
    built = np.zeros(len(words), dtype=bool)
    if isinstance(kv, FastTextKeyedVectors):  # unseen words from their character n-grams
        missing = [w for w, f in zip(words, found) if not f]
        if missing:
            built[~found] = True
            vectors[~found] = np.stack([kv.get_vector(w) for w in missing])
    return PretrainedRows(source, vectors, found, built)
