"""Full softmax: exact cross-entropy over the whole vocabulary (the reference every sampler approximates)."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.objectives.base import Objective


class FullSoftmax(Objective):
    """loss = -log softmax(W h + b)_t. Dense gradients over all V rows: exact but O(V d) per example."""

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, bias: bool = True):
        super().__init__(vocab, dim, sparse)
        self.output = nn.Linear(dim, len(vocab), bias=bias)
        nn.init.zeros_(self.output.weight)
        if bias:
            nn.init.zeros_(self.output.bias)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        return F.cross_entropy(self.output(hidden), targets, reduction="none")

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log p(target | h) per example (P,): the training loss is already exact."""
        return self.forward(hidden, targets)

    def tie_weights(self, weight: nn.Parameter) -> None:
        """Share the (V, d) output matrix with the input embedding (Press & Wolf 2017)."""
        self.output.weight = weight

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(P, d) -> (P, V) normalized log-probabilities."""
        return F.log_softmax(self.output(hidden), dim=-1)
