"""The classification head: dropout, a linear map to the classes, softmax cross-entropy (the `sampler` of
sentence classifiers), with Kim's (2014) max-norm constraint on the class weight vectors."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.errors import UserError, probability


class LabelSoftmax(nn.Module):
    """hidden (M, d) -> class scores (M, C); `forward` gives the loss per example (M,).

    `max_norm`: after every optimizer step each class's weight vector is scaled back to
    L2 norm `max_norm` if it grew beyond (Kim's s = 3); null leaves the weights alone.
    """

    def __init__(self, labels: list[str], dim: int, dropout: float = 0.5, max_norm: float | None = None):
        super().__init__()
        if max_norm is not None and not (isinstance(max_norm, int | float) and max_norm > 0):
            raise UserError(f"sampler.max_norm must be a number > 0 or null (no constraint); got {max_norm!r}.")
        self.labels = list(labels)
        self.dropout = nn.Dropout(probability(dropout, "sampler.dropout"))
        self.output = nn.Linear(dim, len(labels))
        self.max_norm = max_norm

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(hidden))

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(hidden), targets, reduction="none")

    @torch.no_grad()
    def constrain(self) -> None:
        """Apply the max-norm constraint (called after each optimizer step)."""
        if self.max_norm is not None:
            self.output.weight.copy_(torch.renorm(self.output.weight, p=2, dim=0, maxnorm=self.max_norm))
