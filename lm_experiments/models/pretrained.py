"""Word vectors from elsewhere for a classifier's embedding: any of our runs, or any word2vec/GloVe/gensim file.

`read_pretrained(source, words)` returns a row for every word the source has a vector
for: whole words from the vectors' vocabulary, and, for fastText runs and
`FastTextKeyedVectors` files, every other word built from its character n-grams (as
gensim and fastText do). The rest are left to the caller (Kim 2014: uniform, with the
variance of the pretrained rows).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lm_experiments.errors import UserError
from lm_experiments.vector_files import check_vectors, read_keyed_vectors

log = logging.getLogger(__name__)


@dataclass
class PretrainedRows:
    vectors: np.ndarray  # (n, d) float32, zeros where not `found`
    found: np.ndarray    # (n,) bool: the word itself is in the vectors' vocabulary
    built: np.ndarray    # (n,) bool: not found, but built from character n-grams (fastText)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


def load_keyed_vectors(source: Path, what: str = "model.pretrained"):
    """gensim KeyedVectors from a run folder or a file: word2vec text or binary, GloVe text, gensim `.kv`
    (`FastTextKeyedVectors` included), or fastText's own `.bin` model, read by `vector_files` (which tells the
    format from the bytes and checks it). `what` names the option (or argument) that gave `source`."""
    from lm_experiments import run_folder
    from lm_experiments.export import load_fasttext_vectors

    if source.is_dir():
        run_folder.check_run_folder(source)
        if (source / run_folder.FASTTEXT_VECTORS_FILE).is_file() or (source / run_folder.SUBWORDS_FILE).is_file():
            try:
                kv = load_fasttext_vectors(source)
            except ValueError as error:
                raise UserError(f"{what}={source}: {error}.") from error
            check_vectors(kv.index_to_key, kv.vectors, f"{what}={source}")
            return kv
        if not (source / run_folder.VECTORS_BINARY_FILE).is_file():
            raise UserError(f"{what}={source} is a run folder without {run_folder.VECTORS_BINARY_FILE}: pass "
                            f"a finished word-embedding run (skipgram, cbow, fasttext, glove, svd).")
        return read_keyed_vectors(source / run_folder.VECTORS_BINARY_FILE, what)
    if not source.is_file():
        raise UserError(f"{what}={source} does not exist: pass a run folder or a vectors file "
                        f"(word2vec text or binary, GloVe text, gensim .kv, fastText .bin).")
    return read_keyed_vectors(source, what)


def read_pretrained(source: str | Path, words: list[str]) -> PretrainedRows:
    from gensim.models.fasttext import FastTextKeyedVectors

    kv = load_keyed_vectors(Path(source).expanduser())
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
    return PretrainedRows(vectors, found, built)
