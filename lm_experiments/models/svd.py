"""Count-based vectors: PPMI with context-distribution smoothing, then truncated SVD (Levy et al. 2015)."""

import logging

import torch

from lm_experiments.data.batches import CellBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, non_negative_int, number, positive_int
from lm_experiments.models.base import CountVectorModel
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)

BLOCK = 1 << 20  # cells per block: the transient work stays a few tens of MB whatever the matrix


def ppmi_matrix(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, size: int,
                cds: float = 0.75) -> torch.Tensor:
    """Sparse (V, V) PPMI: max(0, log(#(w,c) * sum_c' #(c')^cds / (#(w) * #(c)^cds))).

    Raising context counts to `cds` < 1 (context-distribution smoothing) lifts rare
    contexts' probabilities and so damps PMI's bias towards them. Computed in blocks of
    cells, so beyond the cells themselves it holds only the positive ones (20 bytes each).
    """
    progress = ProgressLog(log, f"PPMI of {len(values):,} cells", 2 * len(values))  # sums, then the PMI
    row_sums = torch.zeros(size, dtype=torch.float64)
    col_sums = torch.zeros(size, dtype=torch.float64)
    for start in range(0, len(values), BLOCK):
        part = slice(start, start + BLOCK)
        row_sums.index_add_(0, rows[part], values[part].double())
        col_sums.index_add_(0, cols[part], values[part].double())
        progress.advance(len(values[part]), "marginals")
    col_smoothed = col_sums ** cds
    total = col_smoothed.sum()
    kept_rows, kept_cols, kept_values = [], [], []
    for start in range(0, len(values), BLOCK):
        part = slice(start, start + BLOCK)
        block_rows, block_cols = rows[part], cols[part]
        pmi = torch.log(values[part].double() * total / (row_sums[block_rows] * col_smoothed[block_cols]))
        positive = pmi > 0
        kept_rows.append(block_rows[positive])
        kept_cols.append(block_cols[positive])
        kept_values.append(pmi[positive].float())
        progress.advance(len(block_rows), "positive PMI kept")
    indices = torch.stack([torch.cat(kept_rows), torch.cat(kept_cols)]) if kept_rows else \
        torch.zeros(2, 0, dtype=torch.long)
    kept = torch.cat(kept_values) if kept_values else torch.zeros(0)
    matrix = torch.sparse_coo_tensor(indices, kept, (size, size), check_invariants=True).coalesce()
    progress.finish(f"{matrix._nnz():,} positive")
    return matrix


def randomized_svd(matrix: torch.Tensor, q: int, niter: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The left singular vectors (V, q) and values (q,) of a sparse square `matrix` by Halko et al.'s algorithm 5.1
    with `niter` power iterations, as `torch.svd_lowrank` computes them (the same draws and steps), with a progress
    line per iteration: at a large vocabulary each one multiplies the whole matrix twice."""
    progress = ProgressLog(log, f"randomized SVD (q={q}, {niter} power iterations)", niter + 2)
    draws = torch.randn(matrix.shape[-1], q, dtype=torch.float32 if matrix.dtype != torch.float64 else torch.float64)
    basis = torch.linalg.qr(torch.sparse.mm(matrix, draws)).Q                     # (V, q)
    progress.advance(1, "range found")
    for step in range(niter):
        basis = torch.linalg.qr(torch.sparse.mm(matrix.t(), basis)).Q
        basis = torch.linalg.qr(torch.sparse.mm(matrix, basis)).Q
        progress.advance(1, f"power iteration {step + 1}")
    small = torch.sparse.mm(matrix.t(), basis).mT                                # (q, V) = basis^T matrix
    left, singular, _ = torch.linalg.svd(small, full_matrices=False)
    progress.finish()
    return basis @ left, singular


class PPMISVD(CountVectorModel):
    """Word vectors U_d S_d^p of the PPMI matrix (`eigenvalue_power` p = 0.5 by default).

    No gradient training: one fit builds the matrix from all cells (the view hands the
    whole matrix over as one batch) and factorises it with randomized SVD
    (`torch.svd_lowrank`, on the sparse matrix), over `vector_size + oversample` random
    directions (`oversample=None`: as many again, q = 2 x rank) with `niter` power
    iterations, of which the top `vector_size` are kept. PPMI's spectrum is flat below its
    first few values, and there q equal to the rank (no oversampling) finds a subspace only
    about 75% aligned with the true one (Lee corpus, rank 20); q = 2 x rank finds 99%
    (tested against scipy's `svds`).
    """

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, cds: float = 0.75, eigenvalue_power: float = 0.5,
                 niter: int = 4, oversample: int | None = None):
        super().__init__()
        self.size = len(vocab)
        self.vector_size = positive_int(vector_size, "model.vector_size")
        if not (isinstance(cds, int | float) and 0 < cds <= 1):
            raise UserError(f"model.cds must be in (0, 1], got {cds!r}.")
        self.cds, self.eigenvalue_power = float(cds), number(eigenvalue_power, "model.eigenvalue_power")
        self.niter = non_negative_int(niter, "model.niter", " (power iterations; 0: none)")
        self.oversample = self.vector_size if oversample is None else non_negative_int(oversample,
                                                                                         "model.oversample")
        self.register_buffer("vectors", torch.zeros(self.size, vector_size))
        self.nonzero = 0

    @torch.no_grad()
    def fit(self, cells: CellBatch) -> None:
        ppmi = ppmi_matrix(cells.rows, cells.cols, cells.values, self.size, self.cds)
        rank = min(self.vector_size, self.size)
        left, singular = randomized_svd(ppmi, q=min(rank + self.oversample, self.size), niter=self.niter)
        self.vectors.zero_()
        self.vectors[:, :rank] = left[:, :rank] * singular[:rank] ** self.eigenvalue_power
        self.nonzero = ppmi._nnz()
        return None

    def fit_statistics(self) -> dict[str, float]:
        return {"ppmi_nonzero": float(self.nonzero)}

    def word_vectors(self) -> torch.Tensor:
        return self.vectors
