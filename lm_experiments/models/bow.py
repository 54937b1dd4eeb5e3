"""Bag of vectors: a sentence is the mean (or sum) of its word vectors, optionally through one hidden layer."""

import torch
from torch import nn

from lm_experiments.data.batches import SentenceBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, non_negative_int
from lm_experiments.models.base import BidirectionalLMEncoder, SentenceEncoder
from lm_experiments.models.sentence_embedding import SentenceEmbedding, masked_embeddings
from lm_experiments.vectors.pretrained import PretrainedRows

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class BagOfVectors(SentenceEncoder):
    """(B, T) padded ids -> (B, d): padding never counts (the mean divides by each sentence's length)."""

    batch_type = SentenceBatch

    def __init__(self, vocab: Vocabulary, embedding_dim: int = 300, embedding: str = "rand",
                 pretrained: str | None = None, init_range: float = 0.25, elmo_dropout: float = 0.5,
                 elmo: str | None = None, bilm: BidirectionalLMEncoder | None = None,
                 pretrained_rows: PretrainedRows | None = None,
                 reduce: str = "mean", hidden_dim: int = 0, activation: str = "tanh"):
        super().__init__()
        if reduce not in ("mean", "sum"):
            raise UserError(f"model.reduce must be mean or sum; got {reduce!r}.")
        if activation not in ACTIVATIONS:
            raise UserError(f"model.activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}.")
        self.embedding = SentenceEmbedding(vocab, embedding_dim, embedding, pretrained, init_range, elmo_dropout,
                                           elmo, bilm, pretrained_rows)
        self.reduce = reduce
        hidden = non_negative_int(hidden_dim, "model.hidden_dim", " (0: no hidden layer)")
        self.hidden = (nn.Sequential(nn.Linear(self.embedding.output_dim, hidden), ACTIVATIONS[activation]())
                       if hidden else nn.Identity())
        self.output_dim = hidden or self.embedding.output_dim

    def forward(self, batch: SentenceBatch) -> torch.Tensor:
        total = masked_embeddings(self.embedding, batch.tokens, batch.mask).sum(dim=1)      # (B, d)
        if self.reduce == "mean":
            total = total / batch.lengths[:, None].to(total.dtype)
        return self.hidden(total)
