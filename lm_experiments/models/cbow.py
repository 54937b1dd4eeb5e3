"""Continuous bag of words (Mikolov et al. 2013): the context's mean (or sum) predicts the center word."""

import torch

from lm_experiments.errors import UserError
from lm_experiments.models.embedding import EmbeddingModel

REDUCTIONS = ("mean", "sum")


def context_vector(vectors: torch.Tensor, mask: torch.Tensor, reduce: str) -> torch.Tensor:
    """vectors (P, C, d), mask (P, C) -> (P, d): the masked sum or mean of the context vectors.

    For the mean, the forward value is sum / count but the gradient reaching each
    context vector is the hidden layer's gradient itself, not divided by the count:
    that is what word2vec and gensim apply (`neu1e` added to every context word).
    """
    weights = mask.unsqueeze(2).to(vectors.dtype)
    total = (vectors * weights).sum(1)                          # (P, d)
    if reduce == "sum":
        return total
    count = weights.sum(1).clamp(min=1.0)                       # (P, 1)
    return total / count + (total - total.detach()) * (1.0 - 1.0 / count)


class CBOW(EmbeddingModel):
    """Encoder = reduce(lookup of the context words); any objective scores the center word.

    `context_reduce` is gensim's `cbow_mean` (mean = 1, sum = 0).
    """

    def __init__(self, vocab, objective, optimizer, scheduler=None, vector_size: int = 100,
                 context_reduce: str = "mean", examples_per_step: int = 1024):
        if context_reduce not in REDUCTIONS:
            raise UserError(f"model.context_reduce must be one of {', '.join(REDUCTIONS)}; got {context_reduce!r}.")
        super().__init__(vocab, objective, optimizer, scheduler, vector_size, examples_per_step)
        self.context_reduce = context_reduce
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])

    def pair_losses(self, batch):
        hidden = context_vector(self.input(batch["contexts"]), batch["context_mask"], self.context_reduce)
        return self.objective(hidden, batch["centers"])   # (P,)
