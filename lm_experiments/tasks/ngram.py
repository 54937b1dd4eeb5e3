"""The counting language-model task: an n-gram model fitted in one pass, scored like the neural ones."""

from pathlib import Path

import numpy as np
import torch

from lm_experiments.data.batches import TokenChunk
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.models.ngram import NGramModel
from lm_experiments.run.folder import ARPA_FILE, KENLM_BINARY_FILE
from lm_experiments.tasks.base import Restores
from lm_experiments.tasks.next_token import NextTokenTask


class NGramTask(NextTokenTask):
    """The one "training step" counts every order of the whole training split (numpy, on the CPU) and
    builds the estimator; validation and test score their splits with the same perplexity code as
    the neural models. Kneser-Ney runs export `model.arpa`, which KenLM reads."""

    def __init__(self, vocab: Vocabulary, model: NGramModel, objective=None, optimizer=None, scheduler=None):
        self.check_part(model, NGramModel, "a counting n-gram model (model=ngram)")  # (its kind names the metric)
        super().__init__(vocab, perplexity_name="ppl" if model.normalized else "pseudo_ppl")
        self.model = model
        self.check_no_objective(objective, optimizer)
        self.automatic_optimization = False
        self.declare(batch_types=(TokenChunk,),
                     update_rule="counts every order once over the whole training split (more epochs change nothing)",
                     distributed_strategies=(),  # counting, no gradients to share
                     restores_from=Restores.EXPORTED_FILES)  # no optimizer step, so Lightning writes no checkpoint

    @property
    def name(self) -> str:
        return f"{self.model.order}-gram ({self.model.smoothing})"

    def on_fit_start(self) -> None:
        self.model.check_can_fit()

    def restore(self, folder: Path, training_split) -> None:
        """A finished run's model: Kneser-Ney's from its `model.arpa` (no counting), the other smoothings (which no
        ARPA file holds) counted again from the run's training split (`training_split()`, its id stream)."""
        arpa = Path(folder) / ARPA_FILE
        if self.model.writes_arpa and arpa.is_file():
            self.model.load(arpa)
        else:
            self.model.fit(training_split())

    def training_step(self, batch: TokenChunk, batch_idx: int):
        if not self.model.fitted:  # counts do not change with more epochs
            self.model.fit(self._stream(batch))
            for k, size in enumerate(self.model.table_sizes(), start=1):
                self.log(f"train/{k}grams", float(size), on_step=False, on_epoch=True, batch_size=1)

    def token_nll(self, batch: TokenChunk, stage: str) -> torch.Tensor:
        if not self.model.fitted:
            raise RuntimeError("the n-gram model is scored before it has counted its training text")
        return torch.from_numpy(-self.model.stream_log_probs(self._stream(batch)))

    @staticmethod
    def _stream(batch: TokenChunk) -> np.ndarray:
        """The split's ids as their (memory-mapped) array where the view hands it over: read in blocks."""
        return batch.source if batch.source is not None else batch.ids.cpu().numpy()

    @torch.no_grad()
    def next_token_log_probs(self, tokens: torch.Tensor, state=None):
        """(B, t) histories -> (B, V) log p(next word)."""
        log_probs = torch.from_numpy(self.model.next_word_log_probs(tokens.cpu().tolist())).float()
        if not self.model.normalized:  # scores, not probabilities: normalise to sample
            log_probs = torch.log_softmax(log_probs, -1)
        return log_probs.to(tokens.device), None

    def export(self, out_dir: Path) -> list[Path]:
        arpa = self.model.write_arpa(Path(out_dir) / ARPA_FILE)
        if arpa is None:
            return []
        binary = self.model.write_binary(arpa, Path(out_dir) / KENLM_BINARY_FILE)
        return [arpa] if binary is None else [arpa, binary]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["ngram_training_stream"] = self.model.training_stream if self.model.fitted else None

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        stream = checkpoint.get("ngram_training_stream")  # counting again takes seconds
        if stream is not None:
            self.model.fit(np.asarray(stream))
