"""Token embedders: vocabulary ids -> vectors, the input side every word2vec-family encoder reads."""

import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import positive_int
from lm_experiments.models.base import InputRows, TokenEmbedder


class WordLookup(TokenEmbedder):
    """One vector per vocabulary entry (word2vec's syn0), uniform in [-0.5/d, 0.5/d), sparse gradients
    (an SGD step touches only the rows its examples used)."""

    def __init__(self, vocab: Vocabulary, dim: int):
        super().__init__()
        self.output_dim = positive_int(dim, "model.vector_size")
        self.embedding = nn.Embedding(len(vocab), dim, sparse=True)
        nn.init.uniform_(self.embedding.weight, -0.5 / dim, 0.5 / dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (...,) -> (..., d)
        return self.embedding(ids)

    def word_vectors(self) -> torch.Tensor:
        return self.embedding.weight

    def input_rows(self) -> InputRows:
        size = self.embedding.num_embeddings
        rows = torch.arange(size, device=self.embedding.weight.device)[:, None]  # (V, 1): each word its own row
        return InputRows(self.embedding.weight, rows, torch.ones_like(rows[:, 0]), mean=False)
