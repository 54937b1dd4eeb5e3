"""Sampled softmax (Jean et al. 2015): a softmax over the target and k sampled words, for big vocabularies."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import number, positive_int
from lm_experiments.objectives.base import Objective
from lm_experiments.objectives.noise import UnigramNoise


class SampledSoftmax(Objective):
    """Training: cross-entropy over [target, k words drawn from q] with logits s(w) - log(k q(w)).

    The log-Q correction makes the sampled softmax's gradient an unbiased-in-the-limit
    estimate of the full softmax's (TensorFlow's `sampled_softmax_loss`). One draw of
    k words serves the whole batch, so the scores are one (P, d) x (d, k) product; a
    drawn word equal to an example's target is masked out for that example (an
    "accidental hit"). Evaluation uses the full, normalized softmax over the same
    weights, so perplexities are exact.
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, num_sampled: int = 1024,
                 ns_exponent: float = 0.75, bias: bool = True):
        super().__init__(vocab, dim, sparse)
        self.num_sampled = positive_int(num_sampled, "sampler.num_sampled")
        ns_exponent = number(ns_exponent, "sampler.ns_exponent")
        self.weight = nn.Parameter(torch.zeros(len(vocab), dim))                    # (V, d)
        self.bias = nn.Parameter(torch.zeros(len(vocab))) if bias else None          # (V,)
        self.noise = UnigramNoise(vocab, ns_exponent, include_specials=True)
        self.noise.check_draws(self.num_sampled, "sampler.num_sampled", usual=0, what="sampled words per batch",
                               advice="sampler=full computes the exact softmax for less, or lower "
                                      "sampler.num_sampled")
        self.register_buffer("log_kq", torch.log(self.num_sampled * self.noise.probs).float(), persistent=False)

    def _scores(self, hidden: torch.Tensor, words: torch.Tensor | None = None) -> torch.Tensor:
        """(P, d) -> (P, V) scores, or (P, k) for the given words (k,)."""
        weight = self.weight if words is None else self.weight[words]
        scores = hidden @ weight.T
        if self.bias is not None:
            scores = scores + (self.bias if words is None else self.bias[words])
        return scores

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        sampled = self.noise.sample((self.num_sampled,), hidden.device)                      # (k,)
        true = (hidden * self.weight[targets]).sum(-1) - self.log_kq[targets]               # (P,)
        if self.bias is not None:
            true = true + self.bias[targets]
        noise = self._scores(hidden, sampled) - self.log_kq[sampled]                        # (P, k)
        noise = noise.masked_fill(sampled[None, :] == targets[:, None], float("-inf"))
        logits = torch.cat([true[:, None], noise], 1)                                       # (P, 1 + k)
        return -F.log_softmax(logits, dim=1)[:, 0]

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self._scores(hidden), targets, reduction="none")

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self._scores(hidden), dim=-1)

    def tie_weights(self, weight: nn.Parameter) -> None:
        self.weight = weight
