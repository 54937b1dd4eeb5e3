"""One training run from a composed config: the body of `train.py`, importable by tests."""

import logging
import time
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from lm_experiments.export import export_vectors
from lm_experiments.io import atomic_write
from lm_experiments.summary import print_metrics

log = logging.getLogger(__name__)


def _instantiate_group(node) -> list:
    """Instantiate every entry of a dict-of-configs group (callbacks, logger); None/empty -> []."""
    if not node:
        return []
    return [instantiate(entry) for entry in node.values() if entry is not None and "_target_" in entry]


def build(cfg: DictConfig):
    """Compose the run's objects: datamodule, model (encoder x objective), trainer."""
    view = instantiate(cfg.model.view) if cfg.model.get("view") else None
    datamodule = instantiate(cfg.data, view=view)
    datamodule.setup("fit")
    model_cfg = cfg.model.copy()
    with open_dict(model_cfg):
        model_cfg.pop("view", None)
    model = instantiate(model_cfg, vocab=datamodule.vocab, objective=instantiate(cfg.sampler),
                        optimizer=instantiate(cfg.optimizer),
                        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None)
    loggers = _instantiate_group(cfg.get("logger"))
    trainer = instantiate(cfg.trainer, callbacks=_instantiate_group(cfg.get("callbacks")), logger=loggers or False)
    return datamodule, model, trainer


def _finish_loggers(trainer: L.Trainer, metrics: dict[str, float]) -> None:
    for logger in trainer.loggers:
        if type(logger).__name__ == "WandbLogger":
            import wandb

            logger.experiment.summary.update(metrics)
            wandb.finish()  # a multirun's next job must start a new W&B run, not continue this one


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, evaluate, export; return the final metrics."""
    started = time.perf_counter()
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    datamodule, model, trainer = build(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        _ = logger.experiment  # start it before our files land in the run folder (the CSV logger checks)
        logger.log_hyperparams(resolved)
    if trainer.is_global_zero:
        with atomic_write(out_dir / "config.yaml") as handle:
            handle.write(OmegaConf.to_yaml(cfg, resolve=True))
        datamodule.vocab.save(out_dir / "vocab.tsv")

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    metrics["time/total_sec"] = time.perf_counter() - started
    if trainer.is_global_zero and hasattr(model, "word_vectors"):
        for path in export_vectors(model, out_dir):
            log.info("wrote %s", path)
    _finish_loggers(trainer, metrics)
    if trainer.is_global_zero:
        print_metrics(metrics, title=f"{cfg.get('task_name', 'run')}: final metrics ({out_dir})")
    return metrics
