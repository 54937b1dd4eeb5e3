"""RNN / GRU / LSTM language models (Mikolov et al. 2010; Zaremba et al. 2014; the PyTorch example)."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.batches import BPTTBlock
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import LanguageModelEncoder

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Variational dropout (Gal & Ghahramani 2016): one mask per sequence, shared by all time steps. (T, B, d)"""
    if not training or p == 0:
        return x
    mask = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * mask


class RecurrentStack(nn.ModuleList):
    """Stacked single-layer recurrent modules with dropout after each: (T, B, sizes[0]) -> (T, B, sizes[-1]).

    Layers are separate cuDNN modules so the dropout between them can be standard
    (Zaremba et al.: a new mask every step on the non-recurrent connections) or
    `variational` (one mask per sequence). Time-major, as PyTorch's recurrent kernels
    run: batch-first layers each transpose their input and output, a copy each way that
    cost 7% of an LSTM language model's step on the CPU. A plain module: a language
    model's encoder puts an embedding before it, and any other encoder can reuse it on
    its own inputs.
    """

    def __init__(self, cell: str, sizes: list[int], dropout: float = 0.0, variational: bool = False,
                 nonlinearity: str = "tanh"):
        if cell not in CELLS:
            raise UserError(f"model.cell must be one of {', '.join(CELLS)}; got {cell!r}.")
        if nonlinearity not in ("tanh", "relu"):
            raise UserError(f"model.nonlinearity must be tanh or relu; got {nonlinearity!r}.")
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        super().__init__(CELLS[cell](sizes[i], sizes[i + 1], **extra)
                         for i in range(len(sizes) - 1))
        self.dropout, self.variational = dropout, variational

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        if self.variational:
            return locked_dropout(x, self.dropout, self.training)
        return F.dropout(x, self.dropout, self.training)

    def forward(self, x: torch.Tensor, state: list | None = None) -> tuple[torch.Tensor, list]:
        """x (T, B, in) -> ((T, B, out), the per-layer states to carry on)."""
        states = []
        for index, layer in enumerate(self):
            x, layer_state = layer(x, None if state is None else state[index])
            states.append(layer_state)
            x = self.drop(x)
        return x, states


class RecurrentEncoder(LanguageModelEncoder):
    """embedding -> dropout -> stacked recurrent layers (dropout between and after) -> hidden states.

    `embedding_dropout` drops whole word types from the embedding matrix (Gal &
    Ghahramani; AWD-LSTM's dropoute). With `tie_weights` the last layer has
    `embedding_dim` units so that its output lives in the embedding space (as AWD-LSTM
    does). Every weight, the output layer's included, starts uniform in
    [-init_range, init_range], as in Zaremba et al.
    """

    batch_type = BPTTBlock
    carries_state = True
    unrolls_in_time = True

    def __init__(self, vocab: Vocabulary, cell: str = "lstm", embedding_dim: int = 200, hidden_dim: int = 200,
                 num_layers: int = 2, dropout: float = 0.0, embedding_dropout: float = 0.0, variational: bool = False,
                 tie_weights: bool = False, init_range: float = 0.1, nonlinearity: str = "tanh"):
        super().__init__()
        embedding_dim = positive_int(embedding_dim, "model.embedding_dim")
        hidden_dim = positive_int(hidden_dim, "model.hidden_dim")
        num_layers = positive_int(num_layers, "model.num_layers")
        self.embedding_dropout = probability(embedding_dropout, "model.embedding_dropout")
        dropout = probability(dropout, "model.dropout")
        self.tie_weights, self.init_range = bool(tie_weights), init_range
        self.embedding = nn.Embedding(len(vocab), embedding_dim)
        sizes = [embedding_dim] + [hidden_dim] * (num_layers - 1) + [embedding_dim if tie_weights else hidden_dim]
        self.rnn = RecurrentStack(cell, sizes, dropout, variational, nonlinearity)
        self.output_dim = sizes[-1]

    def init_weights(self, output: nn.Module) -> None:
        for parameter in [*self.parameters(), *output.parameters()]:
            nn.init.uniform_(parameter, -self.init_range, self.init_range)

    def tied_output_weight(self) -> nn.Parameter | None:
        return self.embedding.weight if self.tie_weights else None

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, T, e), dropping whole word types while training."""
        weight = self.embedding.weight
        if self.training and self.embedding_dropout > 0:
            keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - self.embedding_dropout)
            weight = weight * keep / (1 - self.embedding_dropout)
        return F.embedding(inputs, weight)

    def forward(self, inputs: torch.Tensor, state=None):
        """inputs (B, T) -> hidden (B, T, d) (a view of the time-major (T, B, d)), and the per-layer states."""
        hidden, state = self.rnn(self.rnn.drop(self.embed(inputs.t())), state)       # (T, B, d)
        return hidden.transpose(0, 1), state
