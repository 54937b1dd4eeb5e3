"""Vectorised n-gram counting over an id stream, with sentence boundaries as KenLM and SRILM draw them.

Each line (sentence) is read as `<s> w1 ... wm </s>`. The stream has one `<eos>` id
per line end, and its first position is an `<eos>` too (the split starts a new
sentence), so an `<eos>` plays `<s>` when it begins an n-gram and `</s>` when it ends
one. An n-gram never has an `<eos>` inside it: n-grams do not cross sentences.

Order k's table is keyed by (id of the (k-1)-word prefix, last word), so a key is
`prefix_id * V + word`: exact 64-bit integers for any order, found with
`np.searchsorted`, and counted with `np.unique`; no dictionary of Python tuples.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lm_experiments.data.array_files import blocks
from lm_experiments.data.sorted_runs import SortedRuns
from lm_experiments.files import scratch_folder
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)

NOT_AVAILABLE = -2  # the context reaches back past the sentence start
ABSENT = -1         # a possible context that the training text never had


@dataclass
class OrderTable:
    """The distinct k-grams of one order k >= 2, sorted by key."""

    keys: np.ndarray      # (N_k,) int64 prefix_id * V + last word
    counts: np.ndarray    # (N_k,) int32 raw counts
    prefix: np.ndarray    # (N_k,) int32 id of the (k-1)-gram prefix (the context)
    suffix: np.ndarray    # (N_k,) int32 id of the (k-1)-gram suffix (the lower-order n-gram)
    vocab_size: int

    def last_words(self, ids: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The last word of the k-grams `ids` (all of them by default): computed from the keys, not stored."""
        return self.keys[ids] % self.vocab_size


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
    """Raw counts of every order 1..n of a training stream, and the stream-side lookups.

    Counted order by order in chunks of the stream (memory-mapped is fine): a chunk's k-gram
    keys are sorted and summed into a run on disk, the runs are merged into the order's
    table (`data/sorted_runs.py`), and a second pass writes each position's k-gram id to a
    scratch file for the next order. Memory is set by the distinct n-grams, `chunk` and
    `memory_bytes`, never by the corpus length.
    """

    def __init__(self, stream: np.ndarray, order: int, vocab_size: int, eos: int, memory_bytes: int = 1 << 30,
                 chunk: int = 1 << 20, scratch: Path | None = None):
        self.order, self.vocab_size, self.eos = order, vocab_size, eos
        self.unigram_counts = np.zeros(vocab_size, dtype=np.int64)
        for _, block in blocks(stream, chunk):
            self.unigram_counts += np.bincount(block, minlength=vocab_size)
        self.tables: dict[int, OrderTable] = {}
        with scratch_folder("ngram-counts", scratch) as folder:
            previous = None  # the (k-1)-gram ids of every position 0..N (a file); None: the words themselves
            for k in range(2, order + 1):
                progress = ProgressLog(log, f"counting {k}-grams", 2 * len(stream))  # two passes over the stream
                self.tables[k] = self._count_order(stream, k, previous, Path(folder), memory_bytes, chunk, progress)
                ids = self._write_ids(stream, k, previous, Path(folder), chunk, progress)
                progress.finish(f"{self.tables[k].keys.size:,} distinct")
                if k == order:
                    ids.unlink()  # written for the suffixes only
                    break
                if previous is not None:
                    previous.unlink()
                previous = ids

    @classmethod
    def of_tables(cls, tables: dict[int, OrderTable], order: int, vocab_size: int, eos: int) -> "NGramCounts":
        """The tables of a model read back from a file (`ngram/arpa_reading.py`): what scoring needs, no counts."""
        counts = cls.__new__(cls)
        counts.order, counts.vocab_size, counts.eos, counts.tables = order, vocab_size, eos, tables
        counts.unigram_counts = np.zeros(vocab_size, dtype=np.int64)
        return counts

    def _positions(self, stream, previous: Path | None, chunk: int):
        """Chunks of positions t = a..b-1 (t >= 1; position 0 is the `<s>` before the split): (a, the words at t,
        the ids of the (k-1)-grams ending at t - 1, the tokens available before t in t's sentence)."""
        carry = 0  # the last <eos> position before the chunk's first previous position (position 0 is one)
        last_word = self.eos
        for start, block in blocks(stream, chunk):
            a, b = start + 1, start + 1 + len(block)
            words = block.astype(np.int64)
            before = np.concatenate([[last_word], words[:-1]])             # the token at t - 1
            last_word = int(words[-1])
            places = np.arange(a - 1, b - 1, dtype=np.int64)
            last_eos = np.maximum.accumulate(np.where(before == self.eos, places, carry))
            carry = int(last_eos[-1])
            available = np.arange(a, b, dtype=np.int64) - last_eos
            if previous is None:
                previous_ids = before
            else:
                previous_ids = np.fromfile(previous, np.int32, b - a, offset=(a - 1) * 4).astype(np.int64)
            yield a, words, previous_ids, available

    def _count_order(self, stream, k: int, previous: Path | None, folder: Path, memory_bytes: int,
                     chunk: int, progress: ProgressLog) -> OrderTable:
        runs = SortedRuns(folder, f"order-{k}", compact_memory=memory_bytes)
        for _, words, previous_ids, available in self._positions(stream, previous, chunk):
            valid = (available >= k - 1) & (previous_ids >= 0)
            keys, counts = np.unique(previous_ids[valid] * self.vocab_size + words[valid], return_counts=True)
            runs.write(keys, counts.astype(np.float64))
            progress.advance(len(words), f"{runs.entries:,} in {len(runs.runs)} sorted runs")
        with open(folder / "keys", "wb") as key_file, open(folder / "counts", "wb") as count_file:
            for keys, counts in runs.merged(memory_bytes):  # through a file: the table is allocated once
                keys.tofile(key_file)
                counts.astype(np.int32).tofile(count_file)
        runs.remove()
        keys, counts = np.fromfile(folder / "keys", np.int64), np.fromfile(folder / "counts", np.int32)
        return OrderTable(keys=keys, counts=counts, prefix=(keys // self.vocab_size).astype(np.int32),
                          suffix=np.full(keys.size, ABSENT, np.int32), vocab_size=self.vocab_size)

    def _write_ids(self, stream, k: int, previous: Path | None, folder: Path, chunk: int,
                   progress: ProgressLog) -> Path:
        """Each position's order-k id (ABSENT where no k-gram ends there) into a file, and the table's suffixes:
        the (k-1)-gram ending at the same position as a k-gram."""
        table = self.tables[k]
        path = folder / f"ids-{k}"
        with open(path, "wb") as out:
            np.array([ABSENT], np.int32).tofile(out)  # position 0, the <s> before the split
            for a, words, previous_ids, available in self._positions(stream, previous, chunk):
                valid = (available >= k - 1) & (previous_ids >= 0)
                ids = np.full(words.size, ABSENT, np.int64)
                if table.keys.size and valid.any():  # each distinct key looked up once, in sorted order: fast
                    keys, inverse = np.unique(previous_ids[valid] * self.vocab_size + words[valid],
                                              return_inverse=True)
                    ids[valid] = np.searchsorted(table.keys, keys)[inverse]
                ids.astype(np.int32).tofile(out)
                ending_here = words if previous is None else \
                    np.fromfile(previous, np.int32, words.size, offset=a * 4).astype(np.int64)
                table.suffix[ids[valid]] = ending_here[valid]
                progress.advance(len(words), "each position's n-gram id")
        return path
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

    def first_words(self, k: int) -> np.ndarray:
        """(N_k,) the first word of every k-gram of order k, in table order."""
        if k == 1:
            return np.arange(self.vocab_size)
        return self.first_words(k - 1)[self.tables[k].prefix]

    def tokens_of(self, k: int) -> np.ndarray:
        """(N_k, k) word ids of every k-gram of order k, in table order."""
        if k == 1:
            return np.arange(self.vocab_size)[:, None]
        table = self.tables[k]
        return np.concatenate([self.tokens_of(k - 1)[table.prefix], table.last_words()[:, None]], 1)
