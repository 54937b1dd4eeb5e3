"""The co-occurrence matrix as batches of cells, for count models (GloVe, PPMI+SVD)."""

import torch
from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.batches import CellBatch
from lm_experiments.data.cooccurrence import WEIGHTINGS, load_cooccurrences
from lm_experiments.data.views.base import LoaderSettings, View, ViewOptions, batches_loader
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


class CellBatches(Dataset):
    """Co-occurrence cells, shuffled once (seeded, as GloVe's `shuffle` does), in batches of `batch_cells`."""

    def __init__(self, counts, batch_cells: int | None, seed: int):
        order = torch.randperm(len(counts.values), generator=torch.Generator().manual_seed(seed))
        self.rows, self.cols, self.values = counts.rows[order], counts.cols[order], counts.values[order].float()
        self.batch_cells = batch_cells or max(len(self.values), 1)

    def __len__(self) -> int:
        return -(-len(self.values) // self.batch_cells)

    def __getitem__(self, index: int) -> CellBatch:
        part = slice(index * self.batch_cells, (index + 1) * self.batch_cells)
        return CellBatch(self.rows[part], self.cols[part], self.values[part])


class CooccurrenceView(View):
    """The examples are the cells of the word x word co-occurrence matrix within `data.window`.

    The matrix is counted once per corpus, window and `weighting` (`harmonic`: GloVe's
    1/distance; `none`: plain counts) and cached beside the encoded stream;
    `batch_cells=None` hands the whole matrix over as one batch.
    """

    batch_type = CellBatch

    def __init__(self, vocab: Vocabulary, options: ViewOptions, weighting: str = "harmonic",
                 batch_cells: int | None = 100_000):
        super().__init__(vocab, options)
        if weighting not in WEIGHTINGS:
            raise UserError(f"data.view.weighting must be one of {', '.join(WEIGHTINGS)}; got {weighting!r}.")
        self.weighting = weighting
        self.batch_cells = None if batch_cells is None else positive_int(batch_cells, "data.view.batch_cells")

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        counts = load_cooccurrences(stream, self.vocab, settings.cache_dir, self.options.window, self.weighting)
        if len(counts.values) == 0:
            raise UserError("No word pairs co-occur within data.window: the corpus is too small for a count model.")
        return batches_loader(CellBatches(counts, self.batch_cells, self.options.seed), settings)
