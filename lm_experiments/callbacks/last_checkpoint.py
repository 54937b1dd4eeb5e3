"""`checkpoints/last.ckpt`: the weights `ckpt_path=last` resumes and `test_ckpt=last` / `lm-eval` score."""

from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """Lightning's checkpoint without a monitor, written at every validation and also at the end of every
    epoch whose last batches came after its last validation.

    Written at validation, a long epoch can be resumed from the middle (nltk-en8's ELMo is one
    epoch of about an hour). But with `trainer.val_check_interval` < 1 an epoch's last validation
    can come before its last batch (5,717 batches checked every 1,429: the last check after batch
    5,716), and a plain ModelCheckpoint then keeps weights a few steps older than the ones the
    run tested and exported. Lightning saves either at validation or at epoch end, not both."""

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if not self._should_skip_saving_checkpoint(trainer):   # skipped when this step is already saved
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))
