"""`checkpoints/last.ckpt`: the weights `ckpt_path=last` resumes and `test_ckpt=last` / `lm-eval` score."""

import os
from weakref import proxy

from lightning.pytorch.callbacks import ModelCheckpoint

from lm_experiments.callbacks.checkpoint_budget import BudgetedCheckpoint, final_epoch
from lm_experiments.errors import positive_int


class LastCheckpoint(BudgetedCheckpoint):
    """Lightning's checkpoint without a monitor, written at every validation and also at the end of every
    epoch whose last batches came after its last validation; a hard link to the best checkpoint where that
    was just written at the same step.

    Written at validation, a long epoch can be resumed from the middle (nltk-en8's ELMo is one
    epoch of about an hour). But with `trainer.val_check_interval` < 1 an epoch's last validation
    can come before its last batch (5,717 batches checked every 1,429: the last check after batch
    5,716), and a plain ModelCheckpoint then keeps weights a few steps older than the ones the
    run tested and exported. Lightning saves either at validation or at epoch end, not both.

    Word vectors improve every epoch, so the best checkpoint is usually written at the same step
    as this one: the same bytes twice, 1.6 GB each for fastText's bucket table. A hard link is
    the same file under a second name (it outlives the best checkpoint's removal, and a later
    `last.ckpt` replaces only this name); where the file system refuses links, it is written.
    `every_n_epochs` (Lightning's) thins the writes out, and `max_time_share` skips epochs while
    writing would take more than that share of the training time (`checkpoint_budget.py`); the
    final epoch's weights are always written."""

    config_key = "callbacks.last_checkpoint"

    def __init__(self, *args, every_n_epochs: int = 1, **kwargs):
        positive_int(every_n_epochs, "callbacks.last_checkpoint.every_n_epochs")  # 0 would write no last.ckpt
        super().__init__(*args, every_n_epochs=every_n_epochs, **kwargs)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        due = self._every_n_epochs >= 1 and ((trainer.current_epoch + 1) % self._every_n_epochs == 0
                                             or final_epoch(trainer))  # every_n_epochs, and the final weights
        if due and not self._should_skip_saving_checkpoint(trainer):   # skipped when this step is already saved
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))

    def skipped_for_time(self, trainer) -> bool:
        return self.saved_at_this_step(trainer) is None and super().skipped_for_time(trainer)  # a link is free

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        twin = self.saved_at_this_step(trainer)
        if twin is None or not (trainer.world_size == 1 and hard_link(twin, filepath)):
            super()._save_checkpoint(trainer, filepath)
            return
        self._last_global_step_saved = trainer.global_step  # what Lightning's _save_checkpoint records
        self._last_checkpoint_saved = filepath
        for logger in trainer.loggers:
            logger.after_save_checkpoint(proxy(self))

    def saved_at_this_step(self, trainer) -> str | None:
        """The file another checkpoint callback of the run wrote at this very step (the same state), if any."""
        for callback in trainer.checkpoint_callbacks:
            if (callback is not self and isinstance(callback, ModelCheckpoint)
                    and callback._last_global_step_saved == trainer.global_step
                    and callback.save_weights_only == self.save_weights_only
                    and os.path.isfile(callback._last_checkpoint_saved or "")):
                return callback._last_checkpoint_saved
        return None


def hard_link(source: str, destination: str) -> bool:
    """`destination` becomes a second name of `source`, replacing what it was in one step; False where links
    are refused (the caller writes the file instead)."""
    temporary = f"{destination}.link-{os.getpid()}"
    try:
        os.link(source, temporary)
    except OSError:
        return False
    try:
        os.replace(temporary, destination)
    except OSError:  # the link goes; the caller's write then says what is wrong with the folder
        os.unlink(temporary)
        return False
    return True
