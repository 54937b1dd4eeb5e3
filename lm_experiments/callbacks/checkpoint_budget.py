"""Checkpoints whose writing takes a bounded share of the training time.

A checkpoint at the end of every epoch is what a long run needs to resume after a crash,
and on a large corpus an epoch is minutes to hours. On a small one it can cost more than
the epoch: fastText's 2M-bucket table is 1.6 GB, about 3 s a write, where an epoch of
text8-head trains in 3 s. Here an epoch's checkpoint is skipped while the last one written
took more than `max_time_share` of the time since it was written (and more than a second:
a small model's epochs are all kept, however fast they run). The final epoch's weights are
always written; the best checkpoint is the best of the epochs written.

The run's checkpoint callbacks share one clock, so the best checkpoint and `last.ckpt`
skip the same epochs (`last.ckpt` written at the same step as the best is a hard link,
free, and never skipped: `last_checkpoint.py`).
"""

import time
import weakref

from lightning.pytorch.callbacks import ModelCheckpoint

from lm_experiments.errors import require

FREE_WRITE_SECONDS = 1.0  # a write shorter than this is never a reason to skip one
now = time.perf_counter   # the clock (a test replaces it)


class WriteClock:
    """When the run's last checkpoint was written and how long the write took."""

    def __init__(self):
        self.written_at = now()
        self.took = 0.0

    def over_budget(self, share: float) -> bool:
        return self.took > FREE_WRITE_SECONDS and self.took > share * (now() - self.written_at)


_clocks: "weakref.WeakKeyDictionary[object, WriteClock]" = weakref.WeakKeyDictionary()


def clock_of(trainer) -> WriteClock:
    if trainer not in _clocks:
        _clocks[trainer] = WriteClock()
    return _clocks[trainer]


class BudgetedCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, skipping epochs while writing would exceed `max_time_share` of the training
    time (None: every epoch its `every_n_epochs` asks for)."""

    config_key = "callbacks.model_checkpoint"

    def __init__(self, *args, max_time_share: float | None = 0.1, **kwargs):
        if max_time_share is not None:
            require(isinstance(max_time_share, int | float) and not isinstance(max_time_share, bool)
                    and 0 < max_time_share <= 1,
                    f"{self.config_key}.max_time_share must be in (0, 1] or null (every epoch), got "
                    f"{max_time_share!r}.")
        self.max_time_share = max_time_share
        super().__init__(*args, **kwargs)

    @property
    def state_key(self) -> str:
        """Lightning's key for the best checkpoint's state (`ModelCheckpoint{...}`), the key earlier runs' checkpoints
        hold it under and `run/folder.best_checkpoint` reads; a subclass keeps its own name."""
        key = super().state_key
        if type(self) is BudgetedCheckpoint:
            return ModelCheckpoint.__qualname__ + key[len(BudgetedCheckpoint.__qualname__):]
        return key

    def on_fit_start(self, trainer, pl_module) -> None:
        _clocks[trainer] = WriteClock()  # the time before training (data, compiling) is not training time
        super().on_fit_start(trainer, pl_module)

    def skipped_for_time(self, trainer) -> bool:
        return (self.max_time_share is not None and not final_epoch(trainer)
                and clock_of(trainer).over_budget(self.max_time_share))

    def _should_skip_saving_checkpoint(self, trainer) -> bool:
        return super()._should_skip_saving_checkpoint(trainer) or self.skipped_for_time(trainer)

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        started = now()
        super()._save_checkpoint(trainer, filepath)
        clock = clock_of(trainer)
        clock.written_at = now()
        clock.took = clock.written_at - started


def final_epoch(trainer) -> bool:
    """Whether the epoch ending now is the run's last (by max_epochs, max_steps or a stop request)."""
    return bool(trainer.should_stop
                or (trainer.max_epochs not in (None, -1) and trainer.current_epoch + 1 >= trainer.max_epochs)
                or (trainer.max_steps not in (None, -1) and trainer.global_step >= trainer.max_steps))
