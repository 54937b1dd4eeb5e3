"""One training run from a composed config: the body of `train.py`, importable by tests."""

import logging
import math
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf, open_dict

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.data.views.base import VIEW_OPTIONS
from lm_experiments.errors import UserError
from lm_experiments.run import folder as run_folder
from lm_experiments.run.allocator import tune_malloc
from lm_experiments.run.assembly import check_options, instantiate_task, instantiated
from lm_experiments.run.checkpoint_io import AtomicCheckpointIO
from lm_experiments.run.console import quiet_third_party_noise
from lm_experiments.run.metric_direction import register_resolvers
from lm_experiments.run.relaunch import launches_as_this_job
from lm_experiments.run.summary import print_metrics
from lm_experiments.run.tracking import fill_wandb_defaults, log_files_artifact
from lm_experiments.run.trainer_options import check_trainer_options
from lm_experiments.tasks.base import Task

log = logging.getLogger(__name__)
register_resolvers()  # ${metric_mode:...} in the callback configs
# The datamodule offers validation data to every task; embedding tasks evaluate in callbacks instead.
warnings.filterwarnings("ignore", message=".*You passed in a `val_dataloader` but have no `validation_step`.*")


def _instantiate_group(node, group: str) -> list:
    """Instantiate every entry of a dict-of-configs group (callbacks, logger); None/empty -> []."""
    if not node:
        return []
    return [instantiated(entry, f"{group}.{key}") for key, entry in node.items()
            if entry is not None and "_target_" in entry]


def callbacks_for(task: Task, callbacks: list) -> list:
    """The callbacks that apply to `task`: Lightning's own, and ours whose requirement the task provides."""
    kept = [c for c in callbacks if not isinstance(c, TaskCallback) or c.requires in task.provides]
    for dropped in (c for c in callbacks if c not in kept):
        log.debug("%s does not apply to %s (needs %s)", type(dropped).__name__, task.name, dropped.requires.value)
    return kept


STRATEGY_NAMES = {"DDPStrategy": "ddp", "FSDPStrategy": "fsdp"}


def check_strategy(task: Task, trainer: L.Trainer) -> None:
    """Refuse, before any process is launched, a multi-process strategy the task cannot train under."""
    if trainer.world_size <= 1:
        return
    kinds = [STRATEGY_NAMES[cls.__name__] for cls in type(trainer.strategy).__mro__ if cls.__name__ in STRATEGY_NAMES]
    allowed = task.distributed_strategies
    if not kinds or kinds[0] not in allowed:
        hint = f"use trainer={allowed[0]}" if allowed else "train it on one device (drop trainer=ddp/fsdp)"
        raise UserError(f"{task.name} cannot train with {type(trainer.strategy).__name__} over {trainer.world_size} "
                        f"processes: {hint}.")


def build(cfg: DictConfig, resumed_from: str | None = None):
    """Compose the run's objects: datamodule (corpus, vocabulary, view), task (model x objective), trainer."""
    check_options(cfg.data, "data")
    check_trainer_options(cfg.trainer)
    check_options(cfg.data.get("view"), "data.view", given=("vocab", "options"),
                  hint=f" The options every view may read are data.{', data.'.join(VIEW_OPTIONS)}.")
    datamodule = instantiated(cfg.data, "data")
    datamodule.setup("fit")
    task = instantiate_task(cfg, datamodule.vocab, labels=datamodule.labels)
    task.check_view(datamodule.view)
    if cfg.get("optimized_metric") is None:  # before the callbacks: the checkpoint monitors it
        with open_dict(cfg):
            cfg.optimized_metric = task.optimized_metric
    fill_wandb_defaults(cfg, resumed_from)
    loggers = _instantiate_group(cfg.get("logger"), "logger")
    callbacks = callbacks_for(task, _instantiate_group(cfg.get("callbacks"), "callbacks"))
    trainer = instantiated(cfg.trainer, "trainer", callbacks=callbacks, logger=loggers or False,
                           plugins=[AtomicCheckpointIO()])
    check_strategy(task, trainer)
    return datamodule, task, trainer


def _finish_loggers(trainer: L.Trainer, metrics: dict[str, float], exported: list[Path], task: Task, cfg) -> None:
    """W&B: final metrics into the run summary, exported pictures as images, exported files as an artifact,
    then close the run."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            import wandb

            if trainer.is_global_zero:
                experiment = logger.experiment
                experiment.summary.update(metrics)
                pictures = {path.stem: wandb.Image(str(path)) for path in exported if path.suffix == ".png"}
                if pictures:  # a classifier's confusion matrix
                    experiment.log(pictures)
                if exported:
                    log_files_artifact(experiment, f"{cfg.get('task_name', 'run')}-{experiment.id}",
                                       task.artifact_type, exported,
                                       {k: v for k, v in metrics.items() if math.isfinite(v)})
            wandb.finish()  # a multirun's next job must start a new W&B run, not continue this one


def _scalar_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}


def check_trained(trainer: L.Trainer) -> None:
    """Refuse to evaluate and export a run that trained on no batch: its files would be the initial weights."""
    if trainer.fit_loop.epoch_loop.batch_progress.total.completed == 0 and not trainer.interrupted:
        raise UserError(f"The run trained on no batch (trainer.max_epochs={trainer.max_epochs}, "
                        f"trainer.limit_train_batches={trainer.limit_train_batches}): nothing was evaluated or "
                        f"exported. Train for at least one batch.")


def tested_checkpoint(test_ckpt: str, trainer: L.Trainer) -> str | None:
    """`test_ckpt=last` -> None (the weights in memory at the end, as the papers report); `best` -> Lightning's
    "best" (the checkpoint callback's best epoch by optimized_metric), checked before training starts."""
    if test_ckpt == "last":
        return None
    if test_ckpt != "best":
        raise UserError(f"test_ckpt must be last or best, got {test_ckpt!r}.")
    checkpoint = trainer.checkpoint_callback
    if checkpoint is None or checkpoint.monitor is None:
        raise UserError("test_ckpt=best tests the best epoch that callbacks.model_checkpoint keeps, but this run "
                        "keeps none (callbacks.model_checkpoint is null or monitors nothing): set test_ckpt=last.")
    return "best"


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, evaluate, export; return the final metrics. `cfg.optimized_metric` left null becomes the task's."""
    started = time.perf_counter()
    if cfg.get("tune_malloc", True):
        tune_malloc()
    quiet_third_party_noise()
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = run_folder.resume_checkpoint(cfg.get("ckpt_path"), out_dir)
    datamodule, task, trainer = build(cfg, resumed_from=checkpoint)
    test_checkpoint = tested_checkpoint(cfg.get("test_ckpt", "last"), trainer)
    log.info("%s", task.describe())
    resolved = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        logger.log_hyperparams(resolved)
        if isinstance(logger, WandbLogger) and trainer.is_global_zero:
            run_folder.write_wandb_id(logger.experiment.id, out_dir)
    if trainer.is_global_zero:
        run_folder.write_config(cfg, out_dir, resuming=checkpoint is not None)
        datamodule.vocab.save(out_dir / run_folder.VOCAB_FILE)
        if datamodule.labels is not None:
            run_folder.write_labels(datamodule.labels, out_dir)

    with launches_as_this_job(trainer.world_size > 1):  # DDP's extra processes join this multirun job only
        trainer.fit(task, datamodule=datamodule, ckpt_path=checkpoint)
        check_trained(trainer)
        metrics = _scalar_metrics(trainer)
        if datamodule.has_split("test") and not trainer.fast_dev_run:
            trainer.test(task, datamodule=datamodule, verbose=False, ckpt_path=test_checkpoint)
            metrics.update(_scalar_metrics(trainer))
    metrics["time/total_sec"] = time.perf_counter() - started
    if trainer.is_global_zero:
        run_folder.write_metrics(metrics, out_dir)  # first: the numbers are safe before any export or picture
    exported = task.export(out_dir) if trainer.is_global_zero else []
    for path in exported:
        log.info("wrote %s", path)
    _finish_loggers(trainer, metrics, exported, task, cfg)
    if trainer.is_global_zero:
        print_metrics(metrics, title=f"{cfg.get('task_name', 'run')}: final metrics ({out_dir})",
                      headline=task.metrics)
    return metrics
