"""Lightning's LearningRateMonitor, for runs with or without a logger."""

from lightning.pytorch.callbacks import LearningRateMonitor


class LearningRates(LearningRateMonitor):
    """Logs the schedule's learning rate as `train/lr` (Lightning's monitor, manual optimization included). Lightning's
    refuses to start a run that has no logger (`logger=none`); this one then does nothing, so the callback can be
    on by default."""

    def on_train_start(self, trainer, *args, **kwargs) -> None:
        self.active = bool(trainer.loggers)
        if self.active:
            super().on_train_start(trainer, *args, **kwargs)

    def on_train_batch_start(self, trainer, *args, **kwargs) -> None:
        if self.active:
            super().on_train_batch_start(trainer, *args, **kwargs)

    def on_train_epoch_start(self, trainer, *args, **kwargs) -> None:
        if self.active:
            super().on_train_epoch_start(trainer, *args, **kwargs)
