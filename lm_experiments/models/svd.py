"""Count-based vectors: PPMI with context-distribution smoothing, then truncated SVD (Levy et al. 2015)."""

import lightning as L
import torch

from lm_experiments.errors import UserError, positive_int
from lm_experiments.models.vocab_checkpoint import VocabularyCheckpoint


def ppmi_matrix(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, size: int,
                cds: float = 0.75) -> torch.Tensor:
    """Sparse (V, V) PPMI: max(0, log(#(w,c) * sum_c' #(c')^cds / (#(w) * #(c)^cds))).

    Raising context counts to `cds` < 1 (context-distribution smoothing) lifts rare
    contexts' probabilities and so damps PMI's bias towards them.
    """
    values = values.double()
    row_sums = torch.zeros(size, dtype=torch.float64).index_add_(0, rows, values)
    col_smoothed = torch.zeros(size, dtype=torch.float64).index_add_(0, cols, values) ** cds
    pmi = torch.log(values * col_smoothed.sum() / (row_sums[rows] * col_smoothed[cols]))
    positive = pmi > 0
    indices = torch.stack([rows[positive], cols[positive]])
    return torch.sparse_coo_tensor(indices, pmi[positive].float(), (size, size), check_invariants=True).coalesce()


class PPMISVD(VocabularyCheckpoint, L.LightningModule):
    """Word vectors U_d S_d^p of the PPMI matrix (`eigenvalue_power` p = 0.5 by default).

    No gradient training: the one "training step" builds the matrix from all cells
    and factorises it with randomized SVD (`torch.svd_lowrank`, on the sparse matrix);
    the run still goes through `train.py`, logs, evaluates and exports like any other.
    """

    distributed_strategies = ()  # one factorisation, no training steps to share out

    def __init__(self, vocab, objective=None, optimizer=None, scheduler=None, vector_size: int = 100,
                 cds: float = 0.75, eigenvalue_power: float = 0.5, niter: int = 4):
        super().__init__()
        self.vocab = vocab
        self.vector_size = positive_int(vector_size, "model.vector_size")
        if not (isinstance(cds, int | float) and 0 < cds <= 1):
            raise UserError(f"model.cds must be in (0, 1], got {cds!r}.")
        self.cds, self.eigenvalue_power, self.niter = float(cds), float(eigenvalue_power), int(niter)
        self.automatic_optimization = False
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])
        self.register_buffer("vectors", torch.zeros(len(vocab), vector_size))

    def training_step(self, batch: dict, batch_idx: int):
        ppmi = ppmi_matrix(batch["rows"], batch["cols"], batch["values"], len(self.vocab), self.cds)
        rank = min(self.vector_size, len(self.vocab))
        left, singular, _ = torch.svd_lowrank(ppmi, q=rank, niter=self.niter)
        self.vectors.zero_()
        self.vectors[:, :rank] = left * singular ** self.eigenvalue_power
        self.log("train/ppmi_nonzero", float(ppmi._nnz()), on_step=False, on_epoch=True, batch_size=1)

    def configure_optimizers(self):
        return None

    def word_vectors(self) -> tuple[list[str], torch.Tensor]:
        return self.vocab.words, self.vectors[self.vocab.num_specials:]
