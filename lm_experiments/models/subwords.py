"""fastText's character n-grams and their hashing (Bojanowski et al. 2017), byte for byte: gensim's compiled
`ft_ngram_hashes` (the n-grams of "<word>" in UTF-8, never splitting a character, hashed with fastText's
32-bit FNV-1a over signed bytes), so our rows are the ones gensim's and fastText's loaders compute."""

import numpy as np
from gensim.models.fasttext import ft_ngram_hashes


def subword_table(words: list[str], word_ids: list[int | None], min_n: int, max_n: int, bucket: int,
                  offset: int, pad: int) -> np.ndarray:
    """(len(words), S) row ids: the word's own row (if it has one) then `offset + hash % bucket` for
    each n-gram, padded with `pad`. Built once per vocabulary, not in a training step."""
    rows = []
    for word, word_id in zip(words, word_ids):
        ids = [] if word_id is None else [word_id]
        ids += [offset + h for h in ft_ngram_hashes(word, min_n, max_n, bucket)] if bucket else []
        rows.append(ids or [pad])
    table = np.full((len(rows), max(len(r) for r in rows)), pad, dtype=np.int64)
    for i, ids in enumerate(rows):
        table[i, : len(ids)] = ids
    return table
