"""gensim's KeyedVectors built from words and rows: the one builder every reader and every task uses."""

import numpy as np


def keyed_vectors(words: list[str], vectors):
    """gensim KeyedVectors of `words` and their (n, d) `vectors` (an array or a tensor), as `vectors.bin` loads:
    the rows are held as float32, without gensim's per-word `add_vectors` bookkeeping."""
    from gensim.models import KeyedVectors

    if not isinstance(vectors, np.ndarray):
        vectors = vectors.detach().float().cpu().numpy()
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=np.float32)
    kv.index_to_key = list(words)
    kv.key_to_index = {word: index for index, word in enumerate(kv.index_to_key)}
    kv.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    kv.expandos = {}
    return kv


def fasttext_keyed_vectors(words: list[str], state: dict):
    """gensim's `FastTextKeyedVectors` holding a fastText model's word rows and n-gram rows (`subword_state()`):
    `kv[word]` works for any word, and gives the vectors our model composes (gensim hashes and averages
    n-grams as ours does: tested)."""
    from gensim.models.fasttext import FastTextKeyedVectors

    if str(state["subword_reduce"]) != "mean":
        raise ValueError("gensim's FastTextKeyedVectors averages n-grams; this run summed them (subword_reduce=sum)")
    kv = FastTextKeyedVectors(int(state["word_rows"].shape[1]), int(state["min_n"]), int(state["max_n"]),
                              int(state["bucket"]))
    kv.add_vectors(words, state["word_rows"])
    kv.vectors_vocab = np.array(state["word_rows"], copy=True)
    kv.vectors_ngrams = np.asarray(state["ngram_rows"])
    kv.recalc_char_ngram_buckets()
    kv.adjust_vectors()
    return kv
