"""GloVe (Pennington et al. 2014): weighted least squares on log co-occurrence counts, trained as glove.c does."""

import torch

from lm_experiments.data.batches import CellBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int
from lm_experiments.models.base import AdaGradTables, CountVectorModel

EXPORTS = ("sum", "input")


class GloVe(CountVectorModel):
    """J = sum over cells f(x_ij) (w_i . w~_j + b_i + b~_j - log x_ij)^2 / 2, f(x) = min(1, (x / x_max)^alpha).

    Trained with glove.c's AdaGrad: every cell's gradient g (scaled by `eta`) moves its
    rows by g / sqrt(G) and adds g^2 to G, G starting at 1. A step applies its cells'
    updates together, each with G as it stood before the step and G growing by the sum
    of the cells' squared gradients, which is what keeps it equal to glove.c's
    per-cell updates (summing gradients first and squaring the sum, as a generic
    optimizer would, shrinks frequent words' steps by up to the number of their cells).
    So the optimizer group does not apply. Word and context rows (w, b and w~, b~) live
    in one table of 2V rows and start uniform in [-0.5/d, 0.5/d] as in glove.c.
    Exported vectors are w + w~ (GloVe's `model=2`), or w alone with `export=input`.
    """

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, x_max: float = 100.0, alpha: float = 0.75,
                 eta: float = 0.05, export: str = "sum"):
        super().__init__()
        if export not in EXPORTS:
            raise UserError(f"model.export must be one of {', '.join(EXPORTS)}; got {export!r}.")
        if not (x_max > 0 and alpha > 0 and eta > 0):
            raise UserError(f"model.x_max, model.alpha and model.eta must be positive; got {x_max!r}, {alpha!r}, "
                            f"{eta!r}.")
        self.size = len(vocab)
        self.vector_size = positive_int(vector_size, "model.vector_size")
        self.x_max, self.alpha, self.eta, self.export = float(x_max), float(alpha), float(eta), export

        rows, scale = 2 * self.size, 0.5 / vector_size
        self.register_buffer("weights", (torch.rand(rows, vector_size) * 2 - 1) * scale)  # w then w~
        self.register_buffer("biases", (torch.rand(rows) * 2 - 1) * scale)                 # b then b~
        self.register_buffer("weights_gradsq", torch.ones(rows, vector_size))
        self.register_buffer("biases_gradsq", torch.ones(rows))

    def divergence_advice(self) -> str:
        return f"lower model.eta (now {self.eta:g}; glove.c's default is 0.05)"

    def cell_losses(self, rows, cols, counts) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss per cell (P,), f * diff (P,)) for cells (rows (P,), cols (P,), counts (P,))."""
        context = cols + self.size
        diff = (self.weights[rows] * self.weights[context]).sum(1) + self.biases[rows] + self.biases[context] \
            - torch.log(counts)
        weighted = ((counts / self.x_max) ** self.alpha).clamp(max=1.0) * diff
        return 0.5 * weighted * diff, weighted

    @torch.no_grad()
    def fit(self, cells: CellBatch) -> torch.Tensor:
        """One AdaGrad step over `cells`; returns their losses before the step (P,)."""
        rows, cols, counts = cells.rows, cells.cols, cells.values
        losses, weighted = self.cell_losses(rows, cols, counts)
        context = cols + self.size
        scaled = self.eta * weighted                                          # (P,)
        grad_word = scaled[:, None] * self.weights[context]                   # (P, d)
        grad_context = scaled[:, None] * self.weights[rows]                   # (P, d)
        both = torch.cat([rows, context])
        grads = torch.cat([grad_word, grad_context])
        self.weights.index_add_(0, both, -grads / self.weights_gradsq[both].sqrt())
        self.biases.index_add_(0, both, -scaled.repeat(2) / self.biases_gradsq[both].sqrt())
        self.weights_gradsq.index_add_(0, both, grads * grads)
        self.biases_gradsq.index_add_(0, both, scaled.repeat(2) ** 2)
        return losses

    def adagrad_tables(self) -> AdaGradTables:
        return AdaGradTables(self.weights, self.biases, self.weights_gradsq, self.biases_gradsq, self.size,
                             self.x_max, self.alpha, self.eta)

    def word_vectors(self) -> torch.Tensor:
        words = self.weights[: self.size]
        return words + self.weights[self.size:] if self.export == "sum" else words
