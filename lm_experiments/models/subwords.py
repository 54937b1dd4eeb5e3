"""fastText's character n-grams and their hashing (Bojanowski et al. 2017), byte for byte."""

import numpy as np


def char_ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[bytes]:
    """The UTF-8 n-grams of "<word>" with min_n..max_n characters, as fastText's computeSubwords
    makes them: never splitting a character, never the lone boundary marks."""
    data = f"<{word}>".encode()
    grams = []
    for start in range(len(data)):
        if data[start] & 0xC0 == 0x80:
            continue  # a UTF-8 continuation byte: n-grams start at characters
        end, n = start, 1
        while end < len(data) and n <= max_n:
            end += 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
            if n >= min_n and not (n == 1 and (start == 0 or end == len(data))):
                grams.append(data[start:end])
            n += 1
    return grams


def fnv1a(data: bytes) -> int:
    """fastText's 32-bit FNV-1a, including its sign extension of bytes >= 128 (it hashes int8_t)."""
    value = 2166136261
    for byte in data:
        value = ((value ^ ((byte - 256 if byte > 127 else byte) & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return value


def subword_table(words: list[str], word_ids: list[int | None], min_n: int, max_n: int, bucket: int,
                  offset: int, pad: int) -> np.ndarray:
    """(len(words), S) row ids: the word's own row (if it has one) then `offset + hash % bucket` for
    each n-gram, padded with `pad`. Built once per vocabulary, not in a training step."""
    rows = []
    for word, word_id in zip(words, word_ids):
        ids = [] if word_id is None else [word_id]
        ids += [offset + fnv1a(gram) % bucket for gram in char_ngrams(word, min_n, max_n)] if bucket else []
        rows.append(ids or [pad])
    table = np.full((len(rows), max(len(r) for r in rows)), pad, dtype=np.int64)
    for i, ids in enumerate(rows):
        table[i, : len(ids)] = ids
    return table
