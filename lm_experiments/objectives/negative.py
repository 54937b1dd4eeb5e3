"""Negative sampling (Mikolov et al. 2013): k noise words drawn from unigram^alpha."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int
from lm_experiments.objectives.noise import UnigramNoise


class NegativeSampling(nn.Module):
    """loss = -log s(h.w_t) - sum_k log s(-h.w_nk), noise n_k ~ count^ns_exponent.

    Output vectors start at zero as in word2vec (`syn1neg`); a drawn noise word that
    equals the target is skipped, as word2vec does. With `shared=True` one set of k
    noise words serves every example of a step, so the noise scores are one (P, d) x
    (d, k) matrix product instead of P small gathers: the standard trick for GPU speed.
    """

    def __init__(self, vocab: Vocabulary, dim: int, negative: int = 5, ns_exponent: float = 0.75,
                 shared: bool = False):
        super().__init__()
        self.negative = positive_int(negative, "sampler.negative")
        self.shared = bool(shared)
        if not isinstance(ns_exponent, int | float):
            raise UserError(f"sampler.ns_exponent must be a number, got {ns_exponent!r}.")
        self.output = nn.Embedding(len(vocab), dim, sparse=True)
        nn.init.zeros_(self.output.weight)
        self.noise = UnigramNoise(vocab, float(ns_exponent))

    def sample_noise(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return self.noise.sample(shape, device)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        positive = (hidden * self.output(targets)).sum(-1)                            # (P,)
        if self.shared:
            noise = self.sample_noise((self.negative,), hidden.device)                # (k,)
            negative = hidden @ self.output(noise).T                                  # (P, k)
            noise = noise.unsqueeze(0)                                                # (1, k)
        else:
            noise = self.sample_noise((targets.numel(), self.negative), hidden.device)  # (P, k)
            negative = torch.bmm(self.output(noise), hidden.unsqueeze(2)).squeeze(2)    # (P, k)
        not_target = (noise != targets.unsqueeze(1)).to(hidden.dtype)
        return -F.logsigmoid(positive) - (F.logsigmoid(-negative) * not_target).sum(-1)
