"""What the picture callbacks share: held-out text to draw on, and the loggers that show images (W&B's
`log_image`, TensorBoard's `add_image`)."""

from pathlib import Path

from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger


def log_picture(trainer, key: str, path: Path) -> None:
    """Log the PNG at `path` under `key` to every W&B and TensorBoard logger of the run."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[str(path)])
        elif isinstance(logger, TensorBoardLogger):
            from matplotlib.image import imread

            logger.experiment.add_image(key, imread(str(path))[..., :3], global_step=trainer.global_step,
                                        dataformats="HWC")


def held_out_tokens(trainer):
    """The token ids of the run's validation split (its training split where it holds none out)."""
    splits = trainer.datamodule.splits
    return splits["valid"] if "valid" in splits else splits["train"]
