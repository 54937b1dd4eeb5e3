"""Continuous bag of words (Mikolov et al. 2013): the context's mean (or sum) predicts the center word."""

import torch

from lm_experiments.data.batches import ContextBatch, WordWindows
from lm_experiments.data.views.word_windows import cbow_contexts
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.base import TokenEmbedder, WordEmbeddingEncoder
from lm_experiments.models.embedders import WordLookup

REDUCTIONS = ("mean", "sum")


def check_reduction(value: str, name: str) -> str:
    if value not in REDUCTIONS:
        raise UserError(f"{name} must be one of {', '.join(REDUCTIONS)}; got {value!r}.")
    return value


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


class CBOW(WordEmbeddingEncoder):
    """Encoder = reduce(lookup of the context words); any objective scores the center word.

    `context_reduce` is gensim's `cbow_mean` (mean = 1, sum = 0).
    """

    example_type = ContextBatch

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, context_reduce: str = "mean",
                 embedder: TokenEmbedder | None = None):
        super().__init__()
        self.context_reduce = check_reduction(context_reduce, "model.context_reduce")
        self.embedder = embedder if embedder is not None else WordLookup(vocab, vector_size)
        self.output_dim = self.embedder.output_dim

    def examples(self, windows: WordWindows) -> ContextBatch:
        return cbow_contexts(windows)

    def forward(self, batch: ContextBatch) -> torch.Tensor:
        return context_vector(self.embedder(batch.contexts), batch.mask, self.context_reduce)  # (P, d)

    def targets(self, batch: ContextBatch) -> torch.Tensor:
        return batch.centers
