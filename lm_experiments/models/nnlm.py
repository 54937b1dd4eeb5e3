"""Bengio et al. 2003, "A Neural Probabilistic Language Model": the feed-forward n-gram network."""

import torch
from torch import nn

from lm_experiments.data.batches import ContextWindows
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import LanguageModelEncoder


class NNLM(LanguageModelEncoder):
    """y = b + W x + U tanh(d + H x), x = the n-1 context words' embeddings, concatenated.

    The encoder returns [tanh(d + H x); x] when `direct` is on, so the objective's
    output layer over it is exactly [U W] (the paper's direct input->output
    connections) and works with any sampler; with `direct=false` it returns the
    tanh layer alone.
    """

    batch_type = ContextWindows

    def __init__(self, vocab: Vocabulary, order: int = 5, embedding_dim: int = 60, hidden_dim: int = 50,
                 direct: bool = False, dropout: float = 0.0, init_range: float = 0.1):
        super().__init__()
        self.order = positive_int(order, "model.order")
        if self.order < 2:
            raise UserError(f"model.order must be at least 2 (one context word), got {order}.")
        embedding_dim = positive_int(embedding_dim, "model.embedding_dim")
        hidden_dim = positive_int(hidden_dim, "model.hidden_dim")
        dropout = probability(dropout, "model.dropout")
        self.direct, self.init_range, self.eos_index = bool(direct), init_range, vocab.eos_index
        context_dim = (self.order - 1) * embedding_dim
        self.embedding = nn.Embedding(len(vocab), embedding_dim)
        self.hidden = nn.Linear(context_dim, hidden_dim)
        self.drop = nn.Dropout(dropout)
        self.output_dim = hidden_dim + context_dim if self.direct else hidden_dim

    def init_weights(self, output: nn.Module) -> None:
        """Every weight, the output layer's included, uniform in [-init_range, init_range]."""
        for parameter in [*self.parameters(), *output.parameters()]:
            nn.init.uniform_(parameter, -self.init_range, self.init_range)

    def forward(self, inputs: torch.Tensor, state=None):
        """inputs (B, n-1) context ids -> hidden (B, d)."""
        x = self.embedding(inputs).flatten(1)                    # (B, (n-1) m)
        hidden = self.drop(torch.tanh(self.hidden(x)))           # (B, h)
        return (torch.cat([hidden, x], 1) if self.direct else hidden), None

    def generation_context(self, tokens: torch.Tensor) -> torch.Tensor:
        """The last n-1 tokens, left-padded with `<eos>` (a sentence start) when the history is shorter."""
        missing = self.order - 1 - tokens.shape[1]
        if missing > 0:
            tokens = torch.cat([tokens.new_full((tokens.shape[0], missing), self.eos_index), tokens], 1)
        return tokens[:, -(self.order - 1):]
