"""Counting n-gram language models (`model=ngram`): Kneser-Ney, add-k, MLE or stupid backoff over one count pass."""

import numpy as np
import torch

from lm_experiments.errors import UserError, positive_int
from lm_experiments.models.language_model import LanguageModel
from lm_experiments.ngram.arpa import write_arpa
from lm_experiments.ngram.counts import NGramCounts
from lm_experiments.ngram.smoothing import KneserNey, RelativeFrequency, StupidBackoff

SMOOTHINGS = ("kneser_ney", "add_k", "mle", "stupid_backoff")


class NGramLM(LanguageModel):
    """The one "training step" counts every order of the whole training split (numpy, on the CPU)
    and builds the estimator; validation and test score their splits with the same
    perplexity code as the neural models. `kneser_ney` runs export `model.arpa`."""

    distributed_strategies = ()  # counting, no gradients to share

    def __init__(self, vocab, objective=None, optimizer=None, scheduler=None, order: int = 3,
                 smoothing: str = "kneser_ney", discounts: list | None = None, discount_fallback: bool = True,
                 k: float = 1.0, alpha: float = 0.4):
        super().__init__(vocab, objective=None, optimizer=None, scheduler=None)
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])
        self.order = positive_int(order, "model.order")
        if smoothing not in SMOOTHINGS:
            raise UserError(f"model.smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}.")
        self.smoothing, self.fixed_discounts, self.k, self.alpha = smoothing, discounts, k, alpha
        self.discount_fallback = discount_fallback
        self.automatic_optimization = False
        self.estimator = None
        if smoothing == "stupid_backoff":
            self.perplexity_name = "pseudo_ppl"

    @property
    def counts(self) -> NGramCounts:
        return self.estimator.counts

    def fit_counts(self, stream: np.ndarray) -> None:
        self._training_stream = np.asarray(stream, dtype=np.int32)
        counts = NGramCounts(np.asarray(stream, dtype=np.int64), self.order, len(self.vocab), self.vocab.eos_index)
        if self.smoothing == "kneser_ney":
            self.estimator = KneserNey(counts, self.fixed_discounts, self.discount_fallback)
        elif self.smoothing == "stupid_backoff":
            self.estimator = StupidBackoff(counts, self.alpha)
        else:
            self.estimator = RelativeFrequency(counts, self.k if self.smoothing == "add_k" else 0.0)

    def training_step(self, batch: dict, batch_idx: int):
        if self.estimator is None:  # counts do not change with more epochs
            self.fit_counts(batch["tokens"].cpu().numpy())
            sizes = [len(self.vocab)] + [self.counts.tables[k].keys.size for k in range(2, self.order + 1)]
            for k, size in enumerate(sizes, start=1):
                self.log(f"train/{k}grams", float(size), on_step=False, on_epoch=True, batch_size=1)

    def configure_optimizers(self):
        return None

    def stream_log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """(N,) natural-log probability of every token of a split, read as sentences."""
        targets, contexts = self.counts.stream_contexts(tokens)
        return self.estimator.log_prob(contexts, targets[:, None])[:, 0]

    def _eval_step(self, batch: dict, stage: str) -> None:
        if self.estimator is None:
            raise RuntimeError("the n-gram model is scored before it has counted its training text")
        log_probs = self.stream_log_probs(batch["tokens"].cpu().numpy())
        self._nll[stage].update(torch.from_numpy(-log_probs))

    @torch.no_grad()
    def next_token_log_probs(self, tokens: torch.Tensor, state=None):
        """(B, t) histories -> (B, V) log p(next word)."""
        contexts = self.counts.history_contexts(tokens.cpu().tolist())
        words = np.broadcast_to(np.arange(len(self.vocab)), (len(contexts), len(self.vocab)))
        log_probs = torch.from_numpy(self.estimator.log_prob(contexts, words)).float()
        if self.smoothing == "stupid_backoff":  # scores, not probabilities: normalise to sample
            log_probs = torch.log_softmax(log_probs, -1)
        return log_probs.to(tokens.device), None

    def write_arpa(self, path):
        if self.smoothing != "kneser_ney":
            return None
        return write_arpa(self.estimator, self.vocab.itos, path)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["ngram_training_stream"] = None if self.estimator is None else self._training_stream

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        stream = checkpoint.get("ngram_training_stream")  # counting again takes seconds
        if stream is not None:
            self.fit_counts(stream)
