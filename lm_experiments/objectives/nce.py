"""Noise-contrastive estimation (Gutmann & Hyvarinen 2010; Mnih & Teh 2012) for word prediction."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import number, positive_int
from lm_experiments.objectives.base import Objective
from lm_experiments.objectives.noise import UnigramNoise


class NoiseContrastiveEstimation(Objective):
    """Logistic regression of data against k noise words, on the logit s(w) - log(k q(w)).

    With s(w) = h . u_w + b_w, the model learns self-normalised scores: at the
    optimum exp(s(w)) approaches p(w | h). Unlike negative sampling, the log(k q(w))
    correction makes this a consistent estimator of the softmax.
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, negative: int = 20,
                 ns_exponent: float = 0.75):
        super().__init__(vocab, dim, sparse)
        self.negative = positive_int(negative, "sampler.negative")
        ns_exponent = number(ns_exponent, "sampler.ns_exponent")
        self.output = nn.Embedding(len(vocab), dim, sparse=sparse)
        self.bias = nn.Embedding(len(vocab), 1, sparse=sparse)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.bias.weight)
        self.noise = UnigramNoise(vocab, ns_exponent)
        self.noise.check_draws(self.negative, "sampler.negative")
        self.register_buffer("log_kq", torch.log(self.negative * self.noise.probs).float(), persistent=False)

    def sample_noise(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return self.noise.sample(shape, device)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        noise = self.sample_noise((targets.numel(), self.negative), hidden.device)       # (P, k)
        words = torch.cat([targets.unsqueeze(1), noise], 1)                              # (P, 1 + k)
        scores = torch.bmm(self.output(words), hidden.unsqueeze(2)).squeeze(2) + self.bias(words).squeeze(2)
        logits = scores - self.log_kq[words]                                             # (P, 1 + k)
        return -F.logsigmoid(logits[:, 0]) - F.logsigmoid(-logits[:, 1:]).sum(1)

    def _scores(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.output.weight.T + self.bias.weight.T                       # (P, V)

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(P, d) -> (P, V): softmax over s(w), normalized exactly (evaluation never trusts self-normalization)."""
        return F.log_softmax(self._scores(hidden), dim=-1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self._scores(hidden), targets, reduction="none")

    def tie_weights(self, weight: nn.Parameter) -> None:
        self.output.weight = weight
