"""Vectorised n-gram counting over an id stream, with sentence boundaries as KenLM and SRILM draw them.

Each line (sentence) is read as `<s> w1 ... wm </s>`. The stream has one `<eos>` id
per line end, and its first position is an `<eos>` too (the split starts a new
sentence), so an `<eos>` plays `<s>` when it begins an n-gram and `</s>` when it ends
one. An n-gram never has an `<eos>` inside it: n-grams do not cross sentences.

Order k's table is keyed by (id of the (k-1)-word prefix, last word), so a key is
`prefix_id * V + word`: exact 64-bit integers for any order, found with
`np.searchsorted`, and counted with `np.unique`; no dictionary of Python tuples.
"""

from dataclasses import dataclass

import numpy as np

NOT_AVAILABLE = -2  # the context reaches back past the sentence start
ABSENT = -1         # a possible context that the training text never had


@dataclass
class OrderTable:
    """The distinct k-grams of one order k >= 2, sorted by key."""

    keys: np.ndarray      # (N_k,) prefix_id * V + last word
    counts: np.ndarray    # (N_k,) raw counts
    prefix: np.ndarray    # (N_k,) id of the (k-1)-gram prefix (the context)
    suffix: np.ndarray    # (N_k,) id of the (k-1)-gram suffix (the lower-order n-gram)
    words: np.ndarray     # (N_k,) last word


def with_start(stream: np.ndarray, eos: int) -> np.ndarray:
    """The split with an `<eos>` before it: position 0 is the first sentence's `<s>`."""
    return np.concatenate([[eos], np.asarray(stream, dtype=np.int64)])


def context_lengths(padded: np.ndarray, eos: int) -> np.ndarray:
    """(N+1,) for each position t >= 1: how many tokens before it are in its sentence, `<s>` included."""
    positions = np.arange(padded.size)
    last_eos = np.maximum.accumulate(np.where(padded == eos, positions, 0))
    previous_eos = np.concatenate([[0], last_eos[:-1]])  # last <eos> strictly before t
    return positions - previous_eos


def lookup(table: OrderTable, prefix_ids: np.ndarray, words: np.ndarray, vocab_size: int) -> np.ndarray:
    """Ids of the k-grams (prefix, word) in `table`; ABSENT where not in it, NOT_AVAILABLE where the
    prefix is not available (broadcasts prefix_ids against words)."""
    prefix_ids, words = np.broadcast_arrays(prefix_ids, words)
    result = np.where(prefix_ids == NOT_AVAILABLE, NOT_AVAILABLE, ABSENT).astype(np.int64)
    known = prefix_ids >= 0
    if table.keys.size and known.any():
        keys = prefix_ids[known] * vocab_size + words[known]
        where = np.searchsorted(table.keys, keys).clip(max=table.keys.size - 1)
        result[known] = np.where(table.keys[where] == keys, where, ABSENT)
    return result


class NGramCounts:
    """Raw counts of every order 1..n of a training stream, and the stream-side lookups."""

    def __init__(self, stream: np.ndarray, order: int, vocab_size: int, eos: int):
        self.order, self.vocab_size, self.eos = order, vocab_size, eos
        padded = with_start(stream, eos)
        self.unigram_counts = np.bincount(padded[1:], minlength=vocab_size).astype(np.int64)
        self.tables: dict[int, OrderTable] = {}
        ids = padded.copy()           # ids of the (k-1)-grams ending at each position; start with words
        available = context_lengths(padded, eos)
        for k in range(2, order + 1):
            valid = np.zeros(padded.size, dtype=bool)
            valid[1:] = (available[1:] >= k - 1) & (ids[:-1] >= 0)
            prefix = np.full(padded.size, ABSENT, dtype=np.int64)
            prefix[1:] = ids[:-1]
            keys = prefix[valid] * vocab_size + padded[valid]
            unique, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                                       return_counts=True)
            positions = np.flatnonzero(valid)[first]            # one occurrence of each k-gram
            # the suffix (the k-gram minus its first word) is the (k-1)-gram ending at the same position
            self.tables[k] = OrderTable(keys=unique, counts=counts.astype(np.int64),
                                        prefix=unique // vocab_size, suffix=ids[positions],
                                        words=unique % vocab_size)
            next_ids = np.full(padded.size, ABSENT, dtype=np.int64)
            next_ids[valid] = inverse.reshape(-1)
            ids = next_ids

    def stream_contexts(self, stream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For scoring a split: (targets (N,), contexts (N, n-1)). contexts[:, j-1] is the id of the
        j words before the target in the order-j table (NOT_AVAILABLE past the sentence start,
        ABSENT if unseen)."""
        padded = with_start(stream, self.eos)
        available = context_lengths(padded, self.eos)
        contexts = np.full((padded.size, self.order - 1), NOT_AVAILABLE, dtype=np.int64)
        ids = padded.copy()  # the 1-gram ending at each position
        for j in range(1, self.order):
            # the j-gram ending at t-1 is the context of the token at t
            ok = available[1:] >= j
            contexts[1:, j - 1] = np.where(ok, ids[:-1], NOT_AVAILABLE)
            if j + 1 < self.order:  # the (j+1)-grams ending at each position, for the next round
                nxt = np.full(padded.size, NOT_AVAILABLE, dtype=np.int64)
                nxt[1:] = lookup(self.tables[j + 1], np.where(ok, ids[:-1], NOT_AVAILABLE), padded[1:],
                                 self.vocab_size)
                ids = nxt
        return padded[1:], contexts[1:]

    def history_contexts(self, histories: list[list[int]]) -> np.ndarray:
        """(M, n-1) context ids for the next token after each history (ids; a history is read
        from its last `<eos>`, or as a sentence start if it has none)."""
        contexts = np.full((len(histories), self.order - 1), NOT_AVAILABLE, dtype=np.int64)
        for row, history in enumerate(histories):  # one short history per generated sample
            since = [self.eos] + list(history)
            start = max(i for i, token in enumerate(since) if token == self.eos)
            words = since[start:]
            for j in range(1, min(self.order - 1, len(words)) + 1):
                gram = words[-j:]  # the j words before the next token; a j-gram's id is built from the left
                contexts[row, j - 1] = gram[0] if j == 1 else self._id_of(gram)
        return contexts

    def _id_of(self, gram: list[int]) -> int:
        current = gram[0]
        for k, word in enumerate(gram[1:], start=2):
            if current < 0:
                return ABSENT
            current = int(lookup(self.tables[k], np.array([current]), np.array([word]), self.vocab_size)[0])
        return current

    def tokens_of(self, k: int) -> np.ndarray:
        """(N_k, k) word ids of every k-gram of order k, in table order."""
        if k == 1:
            return np.arange(self.vocab_size)[:, None]
        table = self.tables[k]
        return np.concatenate([self.tokens_of(k - 1)[table.prefix], table.words[:, None]], 1)
