"""Estimators over n-gram counts: interpolated modified Kneser-Ney, add-k, MLE, stupid backoff.

All of them answer `log_prob(contexts, words)`: natural-log probabilities of words
(M, W) after contexts (M, n-1) as `NGramCounts` builds them, so one code path
scores a whole split, gives a full next-word distribution, and samples text.
"""

import logging

import numpy as np
from numba import njit

from lm_experiments.errors import UserError
from lm_experiments.ngram.counts import NOT_AVAILABLE, NGramCounts, lookup
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)


FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # KenLM's --discount_fallback


def count_of_counts_discounts(adjusted: np.ndarray, order: int, fallback: bool = True) -> np.ndarray:
    """Chen & Goodman's (1998) modified-KN discounts [D1, D2, D3+] from n1..n4 of one order's counts.

    Y = n1 / (n1 + 2 n2); D1 = 1 - 2Y n2/n1; D2 = 2 - 3Y n3/n2; D3+ = 3 - 4Y n4/n3 (as KenLM estimates them).
    Small or artificial corpora can lack n-grams seen 1-4 times, or give discounts outside
    0 < D_c < c; then, like KenLM with --discount_fallback, use 0.5, 1, 1.5 (or refuse, without fallback).
    """
    n = np.array([(adjusted == c).sum() for c in (1, 2, 3, 4)], dtype=np.float64)
    problem = None
    if (n == 0).any():
        problem = f"the order-{order} counts have no n-grams seen c times for some c in 1..4 ({n.astype(int).tolist()})"
    else:
        y = n[0] / (n[0] + 2 * n[1])
        discounts = np.array([1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])
        if not ((discounts > 0) & (discounts < np.array([1, 2, 3]))).all():
            problem = f"the order-{order} discounts {discounts.round(4).tolist()} are outside 0 < D_c < c"
    if problem is None:
        return discounts
    if not fallback:
        raise UserError(f"Cannot estimate Kneser-Ney discounts: {problem}. Is the corpus small or artificial? Set "
                        f"model.discount_fallback=true (KenLM's fallback {list(FALLBACK_DISCOUNTS)}), pass "
                        f"model.discounts, or lower model.order.")
    log.warning("Kneser-Ney: %s; using the fallback discounts %s", problem, list(FALLBACK_DISCOUNTS))
    return np.array(FALLBACK_DISCOUNTS)


@njit(cache=True, nogil=True)
def _order_probabilities(adjusted, contexts, n_contexts, suffix, lower, discounts):
    """One order's interpolated probabilities (N,) and its contexts' back-off weights (C,), in two passes over the
    n-grams and no other array of their size: p = max(a - D(a), 0) / total(h) + gamma(h) p_lower(suffix),
    gamma(h) = sum D(a) / total(h) (1 where h has no n-gram)."""
    total = np.zeros(n_contexts)
    gamma = np.zeros(n_contexts)
    for i in range(len(adjusted)):
        a = adjusted[i]
        total[contexts[i]] += a
        gamma[contexts[i]] += discounts[min(a, 3) - 1] if a > 0 else 0.0
    for c in range(n_contexts):
        gamma[c] = gamma[c] / total[c] if total[c] > 0 else 1.0
    prob = np.empty(len(adjusted))
    for i in range(len(adjusted)):
        a = adjusted[i]
        discount = discounts[min(a, 3) - 1] if a > 0 else 0.0
        prob[i] = max(a - discount, 0.0) / total[contexts[i]] + gamma[contexts[i]] * lower[suffix[i]]
    return prob, gamma


class BackoffModel:
    """A back-off model as an ARPA file holds it: the log probability of every stored n-gram and the log back-off
    weight of every context, over the n-gram tables of `counts` (natural logs). An unseen n-gram backs off through
    the weights of its contexts, down to the unigrams. Kneser-Ney builds one from counts; `ngram/arpa_reading.py`
    reads one from a file."""

    normalized = True

    def __init__(self, counts: NGramCounts, log_probs: dict[int, np.ndarray], log_gammas: dict[int, np.ndarray]):
        self.counts = counts
        self.log_probs = log_probs    # order -> (N_k,) stored log p (order 1: (V,))
        self.log_gammas = log_gammas  # order -> (N_k,) log back-off weight of each k-gram as a context (k < n)

    def log_prob(self, contexts: np.ndarray, words: np.ndarray) -> np.ndarray:
        """contexts (M, n-1), words (M, W) -> (M, W) natural-log probabilities."""
        counts = self.counts
        result = self.log_probs[1][words].astype(np.float64)
        for k in range(2, counts.order + 1):
            context = contexts[:, k - 2: k - 1]                                       # (M, 1)
            ids = lookup(counts.tables[k], context, words, counts.vocab_size)        # (M, W)
            found = ids >= 0
            gamma = np.where(context >= 0, self.log_gammas[k - 1][np.maximum(context, 0)], 0.0)
            result = np.where(found, self.log_probs[k][np.maximum(ids, 0)], result + gamma)
        return result


class KneserNey(BackoffModel):
    """Interpolated modified Kneser-Ney (Chen & Goodman 1998), KenLM's estimator.

    p(w | h) = (a(hw) - D(a(hw))) / sum_x a(hx) + gamma(h) p(w | h'), down to the uniform
    1/V. a() is the raw count at the highest order and the number of distinct
    left extensions below it, except for n-grams that start with `<s>` (they have no
    left extension and keep their raw counts). gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+
    N3+(h.)) / sum_x a(hx). The probability of every seen n-gram is stored, as in an
    ARPA file, and an unseen one backs off through the gammas of its contexts.
    """

    def __init__(self, counts: NGramCounts, discounts: list[list[float]] | list[float] | None = None,
                 discount_fallback: bool = True):
        super().__init__(counts, {}, {})
        self.discount_fallback = discount_fallback
        size, order = counts.vocab_size, counts.order
        self.discounts: dict[int, np.ndarray] = {}
        adjusted = {order: counts.tables[order].counts if order > 1 else counts.unigram_counts}
        for k in range(order - 1, 0, -1):  # distinct left extensions, from the order above
            above = counts.tables[k + 1]
            extensions = np.bincount(above.suffix, minlength=size if k == 1 else counts.tables[k].keys.size)
            if k == 1:
                adjusted[1] = extensions.astype(np.int64)
            else:
                starts_sentence = counts.first_words(k) == counts.eos
                adjusted[k] = np.where(starts_sentence, counts.tables[k].counts, extensions).astype(np.int32)
            del extensions
        for k in range(1, order + 1):
            self.discounts[k] = self._discounts_for(adjusted[k], k, discounts)
        lower = np.full(size, 1.0 / size)  # the uniform distribution under the unigrams
        progress = ProgressLog(log, "estimating Kneser-Ney", order)
        for k in range(1, order + 1):
            if k == 1:
                contexts, n_contexts, suffix = np.zeros(size, dtype=np.int32), 1, np.arange(size, dtype=np.int32)
            else:
                table = counts.tables[k]
                contexts, suffix = table.prefix, table.suffix
                n_contexts = size if k == 2 else counts.tables[k - 1].keys.size
            prob, gamma = _order_probabilities(adjusted.pop(k), contexts, n_contexts, suffix, lower,
                                               self.discounts[k])
            if k > 1:
                self.log_gammas[k - 1] = np.log(gamma, out=gamma)
            if k < order:
                self.log_probs[k], lower = np.log(prob), prob  # the next order interpolates with these
            else:
                self.log_probs[k] = np.log(prob, out=prob)
            progress.advance(1, f"order {k}")
        progress.finish(f"discounts {', '.join(f'{d[0]:.2f}/{d[1]:.2f}/{d[2]:.2f}' for d in self.discounts.values())}")

    def _discounts_for(self, adjusted, k, fixed) -> np.ndarray:
        if fixed is None:
            return count_of_counts_discounts(adjusted, k, self.discount_fallback)
        rows = fixed if isinstance(fixed[0], list | tuple) else [fixed] * self.counts.order
        if len(rows) != self.counts.order or any(len(r) != 3 for r in rows):
            raise UserError(f"model.discounts must be [D1, D2, D3+] or one such triple per order "
                            f"({self.counts.order}); got {fixed}.")
        return np.asarray(rows[k - 1], dtype=np.float64)


class RelativeFrequency:
    """p(w | h) = (c(hw) + k) / (c(h) + k V) with h the whole available context: `mle` (k = 0,
    unseen events get probability 0 and perplexity is infinite) and `add_k` (Lidstone)."""

    normalized = True

    def __init__(self, counts: NGramCounts, k: float = 0.0):
        if k < 0:
            raise UserError(f"model.k must be >= 0, got {k!r}.")
        self.counts, self.k = counts, float(k)
        size = counts.vocab_size
        self.totals = {1: np.array([counts.unigram_counts.sum()], dtype=np.float64)}
        for order in range(2, counts.order + 1):
            table = counts.tables[order]
            n_contexts = size if order == 2 else counts.tables[order - 1].keys.size
            self.totals[order] = np.bincount(table.prefix, weights=table.counts, minlength=n_contexts)

    def log_prob(self, contexts: np.ndarray, words: np.ndarray) -> np.ndarray:
        counts, size = self.counts, self.counts.vocab_size
        numerator = counts.unigram_counts[words].astype(np.float64)
        denominator = np.broadcast_to(self.totals[1][0], words.shape).astype(np.float64)
        for k in range(2, counts.order + 1):
            context = contexts[:, k - 2: k - 1]
            usable = np.broadcast_to(context != NOT_AVAILABLE, words.shape)
            ids = lookup(counts.tables[k], context, words, size)
            count = np.where(ids >= 0, counts.tables[k].counts[np.maximum(ids, 0)], 0).astype(np.float64)
            total = np.where(context >= 0, self.totals[k][np.maximum(context, 0)], 0.0)
            numerator = np.where(usable, count, numerator)
            denominator = np.where(usable, total, denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (numerator + self.k) / (denominator + self.k * size)
        # MLE after a context never seen in training: 0/0, a probability of 0 (perplexity inf, not nan)
        return np.log(np.nan_to_num(ratio, nan=0.0))


class StupidBackoff:
    """Brants et al. 2007: S(w | h) = c(hw) / c(h) if seen, else alpha S(w | h'); S(w) = c(w) / N.
    Cheap and good for ranking, but not a distribution: its "perplexity" is logged as
    `pseudo_ppl` and compares only with other stupid-backoff runs."""

    normalized = False

    def __init__(self, counts: NGramCounts, alpha: float = 0.4):
        if not 0 < alpha <= 1:
            raise UserError(f"model.alpha must be in (0, 1], got {alpha!r}.")
        self.relative = RelativeFrequency(counts, 0.0)
        self.counts, self.log_alpha = counts, np.log(alpha)

    def log_prob(self, contexts: np.ndarray, words: np.ndarray) -> np.ndarray:
        counts, size = self.counts, self.counts.vocab_size
        with np.errstate(divide="ignore"):
            result = np.log(counts.unigram_counts[words] / self.relative.totals[1][0])
        for k in range(2, counts.order + 1):
            context = contexts[:, k - 2: k - 1]
            ids = lookup(counts.tables[k], context, words, size)
            found = ids >= 0
            usable = np.broadcast_to(context != NOT_AVAILABLE, words.shape)
            with np.errstate(divide="ignore"):
                seen = np.log(counts.tables[k].counts[np.maximum(ids, 0)]) \
                    - np.log(self.relative.totals[k][np.maximum(context, 0)])
            result = np.where(found, seen, np.where(usable, result + self.log_alpha, result))
        return result
