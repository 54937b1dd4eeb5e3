"""The co-occurrence matrix as batches of cells, for count models (GloVe, PPMI+SVD)."""

from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.batches import CellBatch
from lm_experiments.data.cooccurrence import (
    DEFAULT_MEMORY_GB,
    WEIGHTINGS,
    Cooccurrences,
    check_memory,
    load_cooccurrences,
    load_shuffled_cells,
)
from lm_experiments.data.sorted_runs import MIN_MEMORY_BYTES
from lm_experiments.data.views.base import LoaderSettings, View, ViewOptions, batches_loader
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


class CellBatches(Dataset):
    """Consecutive `batch_cells` cells of a (memory-mapped) cell file, read as they are asked for; `None`: all of
    them in one batch."""

    def __init__(self, cells: Cooccurrences, batch_cells: int | None):
        self.cells = cells
        self.batch_cells = batch_cells or max(len(cells), 1)

    def __len__(self) -> int:
        return -(-len(self.cells) // self.batch_cells)

    def __getitem__(self, index: int) -> CellBatch:
        return self.cells.batch(slice(index * self.batch_cells, (index + 1) * self.batch_cells))


class CooccurrenceView(View):
    """The examples are the cells of the word x word co-occurrence matrix within `data.window`.

    The matrix is counted once per corpus, window and `weighting` (`harmonic`: GloVe's
    1/distance; `none`: plain counts) within `memory` GB and cached beside the encoded
    stream; for training in batches of `batch_cells` the cells are shuffled once per seed
    (glove.c's `shuffle`, cached too), and `batch_cells=None` hands the whole matrix over as
    one batch in (row, column) order.
    """

    batch_type = CellBatch

    def __init__(self, vocab: Vocabulary, options: ViewOptions, weighting: str = "harmonic",
                 batch_cells: int | None = 100_000, memory: float = DEFAULT_MEMORY_GB):
        super().__init__(vocab, options)
        if weighting not in WEIGHTINGS:
            raise UserError(f"data.view.weighting must be one of {', '.join(WEIGHTINGS)}; got {weighting!r}.")
        self.weighting = weighting
        self.batch_cells = None if batch_cells is None else positive_int(batch_cells, "data.view.batch_cells")
        check_memory(memory, MIN_MEMORY_BYTES)
        self.memory = memory

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        counts = load_cooccurrences(stream, self.vocab, settings.cache_dir, self.options.window, self.weighting,
                                    self.memory)
        if len(counts) == 0:
            raise UserError("No word pairs co-occur within data.window: the corpus is too small for a count model.")
        if self.batch_cells is not None:
            counts = load_shuffled_cells(counts, settings.cache_dir, self.options.window, self.weighting,
                                         self.options.seed, self.memory)
        return batches_loader(CellBatches(counts, self.batch_cells), settings)
