"""RNN / GRU / LSTM language models (Mikolov et al. 2010; Zaremba et al. 2014; the PyTorch example)."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.language_model import LanguageModel

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class LockedDropout(nn.Module):
    """Variational dropout (Gal & Ghahramani 2016): one mask per sequence, shared by all time steps."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d)
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class RecurrentLM(LanguageModel):
    """embedding -> dropout -> stacked recurrent layers (dropout between) -> dropout -> objective.

    Layers are separate cuDNN modules so the dropout between them can be standard
    (Zaremba et al.: a new mask every step on the non-recurrent connections) or
    variational (`variational=true`: one mask per sequence). `embedding_dropout`
    drops whole word types from the embedding matrix (Gal & Ghahramani; AWD-LSTM's
    dropoute). With `tie_weights` the last layer has `embedding_dim` units so that
    its output lives in the embedding space (as AWD-LSTM does). Every weight starts
    uniform in [-init_range, init_range], as in Zaremba et al.
    """

    carries_state = True

    def __init__(self, vocab, objective, optimizer, scheduler=None, cell: str = "lstm", embedding_dim: int = 200,
                 hidden_dim: int = 200, num_layers: int = 2, dropout: float = 0.0, embedding_dropout: float = 0.0,
                 variational: bool = False, tie_weights: bool = False, init_range: float = 0.1,
                 nonlinearity: str = "tanh"):
        super().__init__(vocab, objective, optimizer, scheduler)
        if cell not in CELLS:
            raise UserError(f"model.cell must be one of {', '.join(CELLS)}; got {cell!r}.")
        if nonlinearity not in ("tanh", "relu"):
            raise UserError(f"model.nonlinearity must be tanh or relu; got {nonlinearity!r}.")
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])
        embedding_dim = positive_int(embedding_dim, "model.embedding_dim")
        hidden_dim = positive_int(hidden_dim, "model.hidden_dim")
        num_layers = positive_int(num_layers, "model.num_layers")
        self.embedding_dropout = probability(embedding_dropout, "model.embedding_dropout")
        dropout = probability(dropout, "model.dropout")
        self.embedding = nn.Embedding(len(vocab), embedding_dim)
        sizes = [embedding_dim] + [hidden_dim] * (num_layers - 1) + [embedding_dim if tie_weights else hidden_dim]
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = nn.ModuleList(CELLS[cell](sizes[i], sizes[i + 1], batch_first=True, **extra)
                                 for i in range(num_layers))
        self.drop = LockedDropout(dropout) if variational else nn.Dropout(dropout)
        self.objective = self.build_objective(sizes[-1])
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -init_range, init_range)
        if tie_weights:
            self.tie_output_to(self.embedding)

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, T, e), dropping whole word types while training."""
        weight = self.embedding.weight
        if self.training and self.embedding_dropout > 0:
            keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - self.embedding_dropout)
            weight = weight * keep / (1 - self.embedding_dropout)
        return F.embedding(inputs, weight)

    def encode(self, inputs: torch.Tensor, state=None):
        """inputs (B, T) -> hidden (B, T, d), and the per-layer states to carry on."""
        x = self.drop(self.embed(inputs))
        states = []
        for index, layer in enumerate(self.rnn):
            x, layer_state = layer(x, None if state is None else state[index])
            states.append(layer_state)
            x = self.drop(x)
        return x, states
