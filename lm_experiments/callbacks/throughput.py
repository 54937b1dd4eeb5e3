"""Words per second, the speed figure word2vec and gensim users compare."""

import time

import torch

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.tasks.base import Provides


class WordsPerSecond(TaskCallback):
    """Logs `train/words_per_sec`: corpus words consumed per second of training (before
    subsampling, as word2vec counts them), shown in the progress bar. Under DDP it is the
    speed of all processes together (this process's words x the number of processes: the
    shards are equal), so runs on 1 and on 4 devices compare directly. For tasks whose batches count
    their corpus words. The clock stops while the model is validated: Lightning runs the
    epoch's validation before `on_train_epoch_end`, and a language model's pass over its
    validation split is not training (the PyTorch example and nanoGPT time their steps alone)."""

    requires = Provides.THROUGHPUT

    def __init__(self):
        self.words = 0
        self.seconds = 0.0
        self._started = None
        self._validating_since = None
        self._validated = 0.0  # seconds of validation inside this epoch

    def on_train_epoch_start(self, trainer, pl_module):
        self._started = time.perf_counter()
        self._epoch_words = 0
        self._validated = 0.0

    def on_validation_start(self, trainer, pl_module):
        if self._started is not None and not trainer.sanity_checking:
            synchronize(pl_module.device)
            self._validating_since = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        if self._validating_since is not None:
            synchronize(pl_module.device)
            self._validated += time.perf_counter() - self._validating_since
            self._validating_since = None

    def _training_seconds(self) -> float:
        return time.perf_counter() - self._started - self._validated

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._epoch_words += batch.n_words * trainer.world_size
        if batch_idx % max(trainer.log_every_n_steps, 1):
            return  # a log call costs about a millisecond: at the trainer's logging interval only
        synchronize(pl_module.device)
        elapsed = self._training_seconds()
        if elapsed > 0 and self._epoch_words:
            pl_module.log("train/words_per_sec", self._epoch_words / elapsed, on_step=True, on_epoch=False,
                          prog_bar=True, batch_size=1)

    def on_train_epoch_end(self, trainer, pl_module):
        synchronize(pl_module.device)
        self.words += self._epoch_words
        self.seconds += self._training_seconds()
        if self.seconds > 0 and self.words:
            pl_module.log("train/words_per_sec_mean", self.words / self.seconds, on_epoch=True, batch_size=1)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work: GPU kernels run asynchronously, and the clock must see them end."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
