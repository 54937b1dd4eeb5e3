"""The count-vector task: word vectors fitted from co-occurrence cells (PPMI+SVD; GloVe's own AdaGrad)."""

from pathlib import Path

import torch

from lm_experiments.data.batches import CellBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import positive_int
from lm_experiments.models.base import CountVectorModel
from lm_experiments.tasks.base import Provides, Task
from lm_experiments.updaters.base import CELLS, ModelFit, Updater
from lm_experiments.vectors import export_word_vectors, keyed_vectors


class CountVectorsTask(Task):
    """Feeds the co-occurrence cells to a count model through its updater: by default (`task/updater=auto`) the
    fused GloVe kernel's per-cell AdaGrad steps where the model declares AdaGrad tables, else the model's own
    fit (`ModelFit`), `cells_per_step` shuffled cells at a time (GloVe's batched AdaGrad), or a whole batch at
    once with `cells_per_step=null` (PPMI+SVD factorises the whole matrix, which its view hands over as one
    batch). No objective, no gradient optimizer. Its vectors are evaluated and exported like any embedding's."""

    def __init__(self, vocab: Vocabulary, model: CountVectorModel, objective=None, optimizer=None, scheduler=None,
                 cells_per_step: int | None = None, updater: Updater | None = None):
        super().__init__(vocab)
        self.check_part(model, CountVectorModel, "a count model (model=glove, svd)")
        self.model = model
        self.check_no_objective(objective, optimizer)
        self.cells_per_step = None if cells_per_step is None else positive_int(cells_per_step, "task.cells_per_step")
        self.declare(batch_types=(CellBatch,), updates=CELLS)  # (check_updater reads `updates`)
        self.updater = self.check_updater(updater if updater is not None else ModelFit())
        self.automatic_optimization = False
        steps = f"{self.cells_per_step} shuffled cells at a time" if cells_per_step else "on every cell at once"
        self.declare(update_rule=f"{self.updater.description} (the model's own fit: {steps})",
                     metrics=("val/analogy", "val/ws353", "val/simlex"), optimized_metric="val/analogy",
                     provides={Provides.WORD_VECTORS}, artifact_type="embeddings",
                     distributed_strategies=())  # the models' state is not parameters DDP could share

    @property
    def name(self) -> str:
        return type(self.model).__name__

    def on_train_start(self) -> None:
        self.updater.prepare(self)

    def training_step(self, batch: CellBatch, batch_idx: int):
        total, count = self.updater.train_batch(self, batch)
        if count:
            self.log_train_loss(total / count, count)
        for name, value in self.model.fit_statistics().items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, batch_size=1)

    def divergence_advice(self) -> str:
        return self.model.divergence_advice()

    def word_vectors(self) -> tuple[list[str], torch.Tensor]:
        return self.vocab.words, self.model.word_vectors()[self.vocab.num_specials:]

    def keyed_vectors(self):
        return keyed_vectors(*self.word_vectors())

    def export(self, out_dir: Path) -> list[Path]:
        return export_word_vectors(*self.word_vectors(), out_dir)
