"""The sentence-classification task: a sentence encoder (bag of vectors, TextCNN, biRNN, Tree-LSTM) x a label
softmax, trained by Lightning's optimizer loop, scored by accuracy and macro-F1."""

import copy
from pathlib import Path

import torch

from lm_experiments.data.batches import IGNORE
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.evaluation.classification import ClassificationScores, draw_confusion
from lm_experiments.models.base import SentenceEncoder
from lm_experiments.objectives.label_softmax import LabelSoftmax
from lm_experiments.run.folder import CONFUSION_MATRIX_FILE
from lm_experiments.tasks.base import Task


class ClassificationTask(Task):
    """Mean cross-entropy over a batch's scored examples (sentences; every labelled node of a tree with
    `data.phrases=true`).

    Validation and test score whole sentences: `val/acc`, `val/macro_f1` each epoch. With
    `select_best` (the default, as Kim and Tai et al. select on the dev set) the weights
    of the epoch with the best `val/acc` are kept, and the test split is scored with
    them (`val/best_epoch` says which); `select_best=false` tests the last weights.
    The pretrained vectors (`model.pretrained`) are copied in when training is set up,
    and their coverage of the vocabulary is logged (`pretrained/coverage`).
    """

    def __init__(self, vocab: Vocabulary, model: SentenceEncoder, objective, optimizer, scheduler=None,
                 labels: list[str] | None = None, select_best: bool = True):
        super().__init__(vocab, optimizer, scheduler)
        self.check_part(model, SentenceEncoder, "a sentence encoder (model=bow, textcnn, birnn, treelstm)")
        if labels is None:
            raise UserError(f"{type(model).__name__} classifies labelled sentences: pick data=mr, sst or "
                            f"labelled_file.")
        self.model = model
        self.check_objective(objective, LabelSoftmax)
        self.labels = list(labels)
        self.objective = objective(labels=self.labels, dim=model.output_dim)
        self.declare(batch_types=(model.batch_type,),
                     update_rule="the optimizer's steps on the mean cross-entropy per example (autograd)",
                     metrics=("val/acc", "test/acc", "test/macro_f1"), optimized_metric="val/acc",
                     artifact_type="classifier")
        self.select_best = bool(select_best)
        self.scores = torch.nn.ModuleDict({stage: ClassificationScores(len(self.labels)) for stage in ("val", "test")})
        self.best_acc, self.best_epoch, self._best_state = -1.0, -1, None
        self.coverage: dict[str, float] = {}
        self.test_confusion = None

    @property
    def name(self) -> str:
        return type(self.model).__name__

    def setup(self, stage: str) -> None:
        """Copy the pretrained vectors in before training (a resumed run's checkpoint then replaces them)."""
        if stage == "fit" and not self.coverage:
            self.coverage = self.model.embedding.load_pretrained()

    def _scored(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.model(batch)                                                   # (M, d)
        scored = batch.labels != IGNORE
        return hidden[scored], batch.labels[scored]

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        hidden, labels = self._scored(batch)
        loss = self.objective(hidden, labels).mean()
        self.log_train_loss(loss, labels.numel())
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self.objective.constrain()

    def on_train_epoch_start(self) -> None:
        if self.coverage and self.current_epoch == 0:
            self.log_dict(self.coverage, on_step=False, on_epoch=True, batch_size=1)

    def _evaluate(self, batch, stage: str) -> None:
        hidden, labels = self._scored(batch)
        self.scores[stage].update(self.objective.logits(hidden).argmax(dim=-1), labels)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def _log_scores(self, stage: str) -> tuple[float, object]:
        accuracy, macro_f1, confusion = self.scores[stage].compute()
        self.scores[stage].reset()
        self.log(f"{stage}/acc", accuracy, prog_bar=True, batch_size=1)
        self.log(f"{stage}/macro_f1", macro_f1, batch_size=1)
        if stage == "val":
            self.report_epoch(f"val/acc {float(accuracy):.4f}, val/macro_f1 {float(macro_f1):.4f}")
        return accuracy, confusion

    def on_validation_epoch_end(self) -> None:
        accuracy, _ = self._log_scores("val")
        if not self.trainer.sanity_checking and accuracy > self.best_acc:
            self.best_acc, self.best_epoch = accuracy, self.current_epoch
            if self.select_best:
                self._best_state = copy.deepcopy(self.state_dict())
        self.log("val/acc_best", max(self.best_acc, 0.0), batch_size=1)
        self.log("val/best_epoch", float(self.best_epoch), batch_size=1)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """The best epoch so far travels with the checkpoint, so a resumed run still tests the best weights."""
        super().on_save_checkpoint(checkpoint)
        checkpoint["best_validation"] = {"acc": self.best_acc, "epoch": self.best_epoch, "state": self._best_state}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        best = checkpoint.get("best_validation")
        if best is not None:
            self.best_acc, self.best_epoch, self._best_state = best["acc"], best["epoch"], best["state"]

    def on_test_start(self) -> None:
        if self.select_best and self._best_state is not None:
            self.load_state_dict(self._best_state)

    def on_test_epoch_end(self) -> None:
        _, self.test_confusion = self._log_scores("test")

    def export(self, out_dir: Path) -> list[Path]:
        """The test split's confusion matrix (confusion_matrix.png), once it was scored."""
        if self.test_confusion is None:
            return []
        chosen = f"best validation epoch {self.best_epoch}" if self.select_best else "last epoch"
        return [draw_confusion(self.test_confusion, self.labels, Path(out_dir) / CONFUSION_MATRIX_FILE,
                               f"{self.name}: test confusion ({chosen})")]
