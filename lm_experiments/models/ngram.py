"""Counting n-gram language models (`model=ngram`): Kneser-Ney, add-k, MLE or stupid backoff over one count pass."""

import numpy as np

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int
from lm_experiments.ngram.arpa import write_arpa
from lm_experiments.ngram.counts import NGramCounts
from lm_experiments.ngram.smoothing import KneserNey, RelativeFrequency, StupidBackoff

SMOOTHINGS = ("kneser_ney", "add_k", "mle", "stupid_backoff")


class NGramModel:
    """Counts of every order up to `order` over a training stream (numpy, on the CPU) and the smoothed
    estimator over them. Not a neural module: `fit` counts, `log_prob` scores."""

    def __init__(self, vocab: Vocabulary, order: int = 3, smoothing: str = "kneser_ney", discounts: list | None = None,
                 discount_fallback: bool = True, k: float = 1.0, alpha: float = 0.4):
        self.vocab = vocab
        self.order = positive_int(order, "model.order")
        if smoothing not in SMOOTHINGS:
            raise UserError(f"model.smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}.")
        self.smoothing, self.fixed_discounts, self.k, self.alpha = smoothing, discounts, k, alpha
        self.discount_fallback = discount_fallback
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
        self.training_stream = np.asarray(stream, dtype=np.int32)
        counts = NGramCounts(np.asarray(stream, dtype=np.int64), self.order, len(self.vocab), self.vocab.eos_index)
        if self.smoothing == "kneser_ney":
            self.estimator = KneserNey(counts, self.fixed_discounts, self.discount_fallback)
        elif self.smoothing == "stupid_backoff":
            self.estimator = StupidBackoff(counts, self.alpha)
        else:
            self.estimator = RelativeFrequency(counts, self.k if self.smoothing == "add_k" else 0.0)

    def table_sizes(self) -> list[int]:
        """Distinct n-grams of each order 1..order (the unigram table is the vocabulary)."""
        return [len(self.vocab)] + [self.counts.tables[k].keys.size for k in range(2, self.order + 1)]

    def stream_log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """(N,) natural-log probability of every token of a split, read as sentences."""
        targets, contexts = self.counts.stream_contexts(tokens)
        return self.estimator.log_prob(contexts, targets[:, None])[:, 0]

    def next_word_log_probs(self, histories: list[list[int]]) -> np.ndarray:
        """(B, V) log-scores of every next word after each history."""
        contexts = self.counts.history_contexts(histories)
        words = np.broadcast_to(np.arange(len(self.vocab)), (len(contexts), len(self.vocab)))
        return self.estimator.log_prob(contexts, words)

    def write_arpa(self, path):
        """The ARPA back-off file (Kneser-Ney only); None for the other smoothings."""
        if self.smoothing != "kneser_ney":
            return None
        return write_arpa(self.estimator, self.vocab.itos, path)
