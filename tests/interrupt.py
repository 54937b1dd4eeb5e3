"""A callback that kills a run after a number of training batches, as a crash or a lost machine would."""

import lightning as L


class RunKilled(RuntimeError):
    pass


class KillAfter(L.Callback):
    def __init__(self, batches: int):
        self.batches = batches

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.fit_loop.epoch_loop.batch_progress.total.completed >= self.batches:
            raise RunKilled(f"killed after {self.batches} batches")
