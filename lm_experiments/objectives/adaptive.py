"""Adaptive softmax (Grave et al. 2017): frequent words in a small head, rare ones in smaller-dim clusters."""

import numpy as np
import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.objectives.base import Objective


def coverage_cutoffs(counts: np.ndarray, coverage: list[float]) -> list[int]:
    """Cluster boundaries: the number of most frequent entries that cover each fraction of the tokens.

    The vocabulary is frequency ordered (after the two specials), so "the head" is a
    prefix; the specials fall in the head, since every model predicts `<eos>`.
    """
    mass = np.cumsum(np.sort(counts)[::-1]) / max(counts.sum(), 1)
    cutoffs = sorted({int(np.searchsorted(mass, q) + 1) for q in coverage})
    return [c for c in cutoffs if 0 < c < len(counts) - 1]


class AdaptiveSoftmax(Objective):
    """`nn.AdaptiveLogSoftmaxWithLoss` over the vocabulary: exact, normalized log-probabilities
    at a fraction of the full softmax's cost. `cutoffs` null = from the counts (`coverage`)."""

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, cutoffs: list[int] | None = None,
                 coverage: tuple[float, ...] = (0.8, 0.95), div_value: float = 4.0, head_bias: bool = True):
        super().__init__(vocab, dim, sparse)
        size = len(vocab)
        if cutoffs is None:
            cutoffs = coverage_cutoffs(vocab.counts, list(coverage))
        cutoffs = [int(c) for c in cutoffs]
        if not cutoffs or cutoffs != sorted(set(cutoffs)) or cutoffs[0] <= 0 or cutoffs[-1] >= size - 1:
            raise UserError(f"sampler.cutoffs must be increasing integers between 1 and {size - 2} (the vocabulary "
                            f"has {size} entries); got {cutoffs}.")
        self.cutoffs = cutoffs
        self.softmax = nn.AdaptiveLogSoftmaxWithLoss(dim, size, cutoffs, div_value=div_value, head_bias=head_bias)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> -log p(target) per example (P,)."""
        return -self.softmax(hidden, targets).output

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.forward(hidden, targets)

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.softmax.log_prob(hidden)
