"""GloVe (Pennington et al. 2014): weighted least squares on log co-occurrence counts."""

import torch
from torch import nn

from lm_experiments.errors import UserError, positive_int
from lm_experiments.models.embedding import EmbeddingModel

EXPORTS = ("sum", "input")


class GloVe(EmbeddingModel):
    """J = sum over cells f(x_ij) (w_i . w~_j + b_i + b~_j - log x_ij)^2 / 2, f(x) = min(1, (x / x_max)^alpha).

    Word (w, b) and context (w~, b~) parameters start uniform in [-0.5/d, 0.5/d] as in
    glove.c; the sampler group does not apply. Exported vectors are w + w~ (GloVe's
    `model=2`), or w alone with `export=input`. Use AdaGrad as GloVe does
    (`experiment=glove` sets it up).
    """

    def __init__(self, vocab, objective=None, optimizer=None, scheduler=None, vector_size: int = 100,
                 x_max: float = 100.0, alpha: float = 0.75, export: str = "sum", examples_per_step: int = 4096):
        if export not in EXPORTS:
            raise UserError(f"model.export must be one of {', '.join(EXPORTS)}; got {export!r}.")
        if not (x_max > 0 and alpha > 0):
            raise UserError(f"model.x_max and model.alpha must be positive, got {x_max!r} and {alpha!r}.")
        super().__init__(vocab, None, optimizer, scheduler, positive_int(vector_size, "model.vector_size"),
                         examples_per_step)
        self.x_max, self.alpha, self.export = float(x_max), float(alpha), export
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])
        scale = 0.5 / vector_size
        self.context = nn.Embedding(len(vocab), vector_size, sparse=True)
        self.bias = nn.Embedding(len(vocab), 1, sparse=True)
        self.context_bias = nn.Embedding(len(vocab), 1, sparse=True)
        for table in (self.input, self.context, self.bias, self.context_bias):
            nn.init.uniform_(table.weight, -scale, scale)

    def build_input(self) -> nn.Module:
        return nn.Embedding(len(self.vocab), self.vector_size, sparse=True)  # initialised in __init__

    def weight(self, counts: torch.Tensor) -> torch.Tensor:
        return ((counts / self.x_max) ** self.alpha).clamp(max=1.0)

    def pair_losses(self, batch):
        rows, cols, counts = batch["rows"], batch["cols"], batch["values"]           # (P,) each
        prediction = (self.input(rows) * self.context(cols)).sum(1) \
            + self.bias(rows).squeeze(1) + self.context_bias(cols).squeeze(1)        # (P,)
        return 0.5 * self.weight(counts) * (prediction - torch.log(counts)) ** 2

    def input_vectors(self):
        return self.input.weight + self.context.weight if self.export == "sum" else self.input.weight
