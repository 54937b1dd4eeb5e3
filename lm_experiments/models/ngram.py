"""Counting n-gram language models (`model=ngram`): Kneser-Ney, add-k, MLE or stupid backoff over one count pass."""

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lm_experiments.data.array_files import release
from lm_experiments.data.sorted_runs import memory_budget
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, positive_number
from lm_experiments.files import atomic_write, scratch_folder
from lm_experiments.ngram.arpa import END, START, write_arpa
from lm_experiments.ngram.arpa_reading import read_arpa
from lm_experiments.ngram.counts import NGramCounts
from lm_experiments.ngram.kenlm_backend import (
    KenLMEstimator,
    build_binary,
    find_build_binary,
    find_lmplz,
    kenlm_names,
)
from lm_experiments.ngram.smoothing import KneserNey, RelativeFrequency, StupidBackoff

SMOOTHINGS = ("kneser_ney", "add_k", "mle", "stupid_backoff")
BACKENDS = ("ours", "kenlm")


def checked_discounts(discounts, order: int) -> list[list[float]] | None:
    """Fixed Kneser-Ney discounts as one [D1, D2, D3+] triple per order, each within 0 < D_c < c (the rule the
    estimated ones obey: a discount at or above the count it is taken from gives negative or unnormalised
    probabilities), or None to estimate them from the counts."""
    if discounts is None:
        return None
    nested = len(discounts) > 0 and isinstance(discounts[0], Sequence) and not isinstance(discounts[0], str)
    rows = [list(row) for row in discounts] if nested else [list(discounts)] * order
    if len(rows) != order or any(len(row) != 3 for row in rows):
        raise UserError(f"model.discounts must be [D1, D2, D3+] or one such triple per order ({order}); got "
                        f"{list(discounts)}.")
    for row in rows:
        for count, value in enumerate(row, start=1):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < count:
                raise UserError(f"model.discounts: D{count}{'+' if count == 3 else ''} must be above 0 and below "
                                f"{count}, the count it is taken from; got {value!r} (in {list(discounts)}).")
    return rows


class NGramModel:
    """Counts of every order up to `order` over a training stream (numpy, on the CPU) and the smoothed
    estimator over them. Not a neural module: `fit` counts, `log_prob` scores."""

    def __init__(self, vocab: Vocabulary, order: int = 3, smoothing: str = "kneser_ney", discounts: list | None = None,
                 discount_fallback: bool = True, k: float = 1.0, alpha: float = 0.4, memory: float = 0.25,
                 backend: str = "ours", lmplz: str | None = None, build_binary: str | bool | None = "auto"):
        self.vocab = vocab
        reserved = {word: int(vocab.counts[vocab.stoi[word]]) for word in (START, END) if word in vocab.stoi}
        if reserved:
            found = " and ".join(f"{word} {count:,} times" for word, count in reserved.items())
            raise UserError(f"The training text holds the literal tokens {found}: ARPA files and KenLM reserve them "
                            f"for sentence boundaries (counted as words, they would be listed twice, and KenLM's "
                            f"probabilities would not sum to one). Replace them in the text, e.g. "
                            f"sed -E 's#</?s>#<unk>#g'.")
        self.memory_bytes = memory_budget(memory, "model.memory", "n-gram counting (its sorted runs and merges)")
        self.order = positive_int(order, "model.order")
        if smoothing not in SMOOTHINGS:
            raise UserError(f"model.smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}.")
        self.fixed_discounts = checked_discounts(discounts, self.order)
        self.smoothing, self.k, self.alpha = smoothing, positive_number(k, "model.k"), alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
            raise UserError(f"model.alpha is stupid backoff's factor for a shorter context, in (0, 1]; got {alpha!r}.")
        self.discount_fallback = discount_fallback
        if backend not in BACKENDS:
            raise UserError(f"model.backend must be one of {', '.join(BACKENDS)}; got {backend!r}.")
        self.backend = backend
        if backend == "kenlm" and (smoothing != "kneser_ney" or discounts is not None):
            raise UserError("model.backend=kenlm estimates interpolated modified Kneser-Ney with discounts from the "
                            "counts (lmplz): leave model.smoothing=kneser_ney and model.discounts=null.")
        self.binary_tool = find_build_binary(build_binary)
        self.lmplz_setting = lmplz  # found when the model is fitted (`check_can_fit`): a finished run loads without it
        self.estimator = None
        self.training_stream: np.ndarray | None = None

    @property
    def normalized(self) -> bool:
        """Whether the scores are probabilities (stupid backoff's are not, so its "perplexity" is a pseudo one)."""
        return self.smoothing != "stupid_backoff"

    @property
    def fitted(self) -> bool:
        return self.estimator is not None

    @property
    def counts(self) -> NGramCounts:
        return self.estimator.counts

    def fit(self, stream: np.ndarray) -> None:
        """Count `stream` (any integer array; a memory-mapped one is read in chunks, not loaded)."""
        # an int32 memory map stays one (np.asarray would drop the map, whose pages the counting hands back)
        self.training_stream = stream if isinstance(stream, np.ndarray) and stream.dtype == np.int32 else \
            np.asarray(stream, dtype=np.int32)
        if self.backend == "kenlm":
            self.queried_by_kenlm = True
            self._workdir = scratch_folder("kenlm-model")  # the ARPA file lives as the model
            self.estimator = KenLMEstimator(self.training_stream, self.vocab.itos, self.vocab.eos_index, self.order,
                                            find_lmplz(self.lmplz_setting), self.memory_bytes, self.discount_fallback,
                                            Path(self._workdir.name))
            return
        self.queried_by_kenlm = False
        counts = NGramCounts(self.training_stream, self.order, len(self.vocab), self.vocab.eos_index,
                             memory_bytes=self.memory_bytes)
        if self.smoothing == "kneser_ney":
            self.estimator = KneserNey(counts, self.fixed_discounts, self.discount_fallback)
        elif self.smoothing == "stupid_backoff":
            self.estimator = StupidBackoff(counts, self.alpha)
        else:
            self.estimator = RelativeFrequency(counts, self.k if self.smoothing == "add_k" else 0.0)

    def check_can_fit(self) -> None:
        """Refuse at the start of training, not after the training text is written out, what cannot estimate."""
        if self.backend == "kenlm":
            find_lmplz(self.lmplz_setting)

    def load(self, arpa: Path) -> None:
        """A finished run's model from its ARPA file (what Kneser-Ney exports; lmplz's under model.backend=kenlm),
        scored by our code without counting again (`ngram/arpa_reading.py`)."""
        names = kenlm_names(self.vocab.itos) if self.backend == "kenlm" else self.vocab.itos
        self.estimator = read_arpa(arpa, names, self.vocab.eos_index)
        self.queried_by_kenlm, self.training_stream = False, None

    @property
    def writes_arpa(self) -> bool:
        """Kneser-Ney is a back-off model an ARPA file holds; add-k, MLE and stupid backoff are not."""
        return self.smoothing == "kneser_ney"

    def table_sizes(self) -> list[int]:
        """Distinct n-grams of each order 1..order (the unigram table is the vocabulary)."""
        if self.queried_by_kenlm:
            return self.estimator.sizes
        return [len(self.vocab)] + [self.counts.tables[k].keys.size for k in range(2, self.order + 1)]

    def stream_log_probs(self, tokens: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
        """(N,) natural-log probability of every token of a split, read as sentences, `chunk` tokens at a time:
        each piece is scored after the order - 1 tokens before it (all its contexts can reach), so memory is the
        piece's, even for a corpus that is one long line."""
        if self.queried_by_kenlm:
            return self.estimator.stream_log_probs(np.asarray(tokens))
        result = np.empty(len(tokens), dtype=np.float64)
        before = self.order - 1
        for start in range(0, len(tokens), chunk):
            first = max(start - before, 0)  # the split's start is a sentence start; a piece's prefix reads as one
            piece = np.array(tokens[first: start + chunk], dtype=np.int64)
            release(tokens)
            targets, contexts = self.counts.stream_contexts(piece)
            scored = self.estimator.log_prob(contexts, targets[:, None])[:, 0]
            result[start: start + chunk] = scored[start - first:]
        return result

    def next_word_log_probs(self, histories: list[list[int]]) -> np.ndarray:
        """(B, V) log-scores of every next word after each history."""
        if self.queried_by_kenlm:
            return self.estimator.next_word_log_probs(histories)
        contexts = self.counts.history_contexts(histories)
        words = np.broadcast_to(np.arange(len(self.vocab)), (len(contexts), len(self.vocab)))
        return self.estimator.log_prob(contexts, words)

    def write_binary(self, arpa: Path, path: Path) -> Path | None:
        """KenLM's binary model of the written `arpa` file where build_binary is there (`model.build_binary`)."""
        return None if self.binary_tool is None else build_binary(self.binary_tool, Path(arpa), Path(path))

    def write_arpa(self, path):
        """The ARPA back-off file (Kneser-Ney only); None for the other smoothings."""
        if not self.writes_arpa:
            return None
        if self.queried_by_kenlm:
            with atomic_write(path, "wb", encoding=None) as out, open(self.estimator.arpa, "rb") as arpa:
                shutil.copyfileobj(arpa, out)
            return Path(path)
        return write_arpa(self.estimator, self.vocab.itos, path)
