"""One training run from a composed config: the body of `train.py`, importable by tests."""

import json
import logging
import math
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.utilities.model_helpers import is_overridden
from omegaconf import DictConfig, OmegaConf, open_dict

from lm_experiments.compare import METRICS_FILE
from lm_experiments.errors import UserError
from lm_experiments.export import export_artifacts
from lm_experiments.io import atomic_write
from lm_experiments.relaunch import launches_as_this_job
from lm_experiments.summary import print_metrics
from lm_experiments.tracking import fill_wandb_defaults, log_files_artifact

log = logging.getLogger(__name__)
# The datamodule offers validation data to every model; embedding models evaluate in callbacks instead.
warnings.filterwarnings("ignore", message=".*You passed in a `val_dataloader` but have no `validation_step`.*")


def _instantiate_group(node) -> list:
    """Instantiate every entry of a dict-of-configs group (callbacks, logger); None/empty -> []."""
    if not node:
        return []
    return [instantiate(entry) for entry in node.values() if entry is not None and "_target_" in entry]


# Keys of a model config that configure something else: its data view, the trainer's and sweeps' defaults.
NOT_MODEL_ARGUMENTS = ("view", "gradient_clip_val", "max_epochs", "optimized_metric")


def _instantiate_optional(node):
    """A partial from a group such as `sampler`, or None for its `none` option (an empty node)."""
    return instantiate(node) if node and "_target_" in node else None


def instantiate_model(cfg: DictConfig, vocab, for_training: bool = True):
    """The model (encoder x objective) of a config over `vocab`; without its optimizer and schedule
    when it is only rebuilt to be used (generation)."""
    model_cfg = cfg.model.copy()
    with open_dict(model_cfg):
        for key in NOT_MODEL_ARGUMENTS:
            model_cfg.pop(key, None)
    optimizer = _instantiate_optional(cfg.get("optimizer")) if for_training else None
    scheduler = _instantiate_optional(cfg.get("scheduler")) if for_training else None
    return instantiate(model_cfg, vocab=vocab, objective=_instantiate_optional(cfg.get("sampler")),
                       optimizer=optimizer, scheduler=scheduler)


STRATEGY_NAMES = {"DDPStrategy": "ddp", "FSDPStrategy": "fsdp"}


def check_strategy(model, trainer: L.Trainer) -> None:
    """Refuse, before any process is launched, a multi-process strategy the model cannot train under."""
    if trainer.world_size <= 1:
        return
    kinds = [STRATEGY_NAMES[cls.__name__] for cls in type(trainer.strategy).__mro__ if cls.__name__ in STRATEGY_NAMES]
    allowed = getattr(model, "distributed_strategies", ("ddp", "fsdp"))
    if not kinds or kinds[0] not in allowed:
        name = type(model).__name__
        hint = f"use trainer={allowed[0]}" if allowed else "train it on one device (drop trainer=ddp/fsdp)"
        raise UserError(f"{name} cannot train with {type(trainer.strategy).__name__} over {trainer.world_size} "
                        f"processes: {hint}.")


def build(cfg: DictConfig):
    """Compose the run's objects: datamodule, model (encoder x objective), trainer."""
    view = instantiate(cfg.model.view) if cfg.model.get("view") else None
    datamodule = instantiate(cfg.data, view=view)
    datamodule.setup("fit")
    model = instantiate_model(cfg, datamodule.vocab)
    fill_wandb_defaults(cfg)
    loggers = _instantiate_group(cfg.get("logger"))
    trainer = instantiate(cfg.trainer, callbacks=_instantiate_group(cfg.get("callbacks")), logger=loggers or False)
    check_strategy(model, trainer)
    return datamodule, model, trainer


def _finish_loggers(trainer: L.Trainer, metrics: dict[str, float], exported: list[Path], model, cfg) -> None:
    """W&B: final metrics into the run summary, exported files as an artifact, then close the run."""
    for logger in trainer.loggers:
        if type(logger).__name__ == "WandbLogger":
            import wandb

            if trainer.is_global_zero:
                experiment = logger.experiment
                experiment.summary.update(metrics)
                if exported:
                    kind = "embeddings" if hasattr(model, "word_vectors") else "language-model"
                    log_files_artifact(experiment, f"{cfg.get('task_name', 'run')}-{experiment.id}", kind, exported,
                                       {k: v for k, v in metrics.items() if math.isfinite(v)})
            wandb.finish()  # a multirun's next job must start a new W&B run, not continue this one


def save_final_metrics(metrics: dict[str, float], out_dir: Path) -> Path:
    """`metrics.json`: the final metrics of the run, what `python -m lm_experiments.compare` reads."""
    path = out_dir / METRICS_FILE
    with atomic_write(path) as handle:
        json.dump({k: (v if math.isfinite(v) else str(v)) for k, v in sorted(metrics.items())}, handle, indent=1)
    return path


def _scalar_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}


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

    with launches_as_this_job(trainer.world_size > 1):  # DDP's extra processes join this multirun job only
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        metrics = _scalar_metrics(trainer)
        if is_overridden("test_step", model) and datamodule.has_split("test") and not trainer.fast_dev_run:
            trainer.test(model, datamodule=datamodule, verbose=False)  # the last weights, as the papers report
            metrics.update(_scalar_metrics(trainer))
    metrics["time/total_sec"] = time.perf_counter() - started
    exported = export_artifacts(model, out_dir) if trainer.is_global_zero else []
    for path in exported:
        log.info("wrote %s", path)
    if trainer.is_global_zero:
        save_final_metrics(metrics, out_dir)
    _finish_loggers(trainer, metrics, exported, model, cfg)
    if trainer.is_global_zero:
        print_metrics(metrics, title=f"{cfg.get('task_name', 'run')}: final metrics ({out_dir})")
    return metrics
