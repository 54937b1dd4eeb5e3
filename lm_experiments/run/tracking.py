"""What W&B needs to line runs up in a dashboard: a group per sweep, tags per choice, artefacts, summary.

Runs of one Hydra multirun share the multirun folder's name as their `group`, runs
started by a W&B sweep agent the sweep's id, so the dashboard can group and average
them; tags name the model, corpus and objective as the override that chose them
(`model=lstm`), so filtering reads like the command line. Explicit
`logger.wandb.group=...` / `logger.wandb.tags=[...]` win.
"""

import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from lm_experiments.run.folder import read_wandb_id, run_folder_of


def hydra_choices() -> dict[str, str]:
    """The option picked in each config group (`{"model": "lstm", ...}`); empty outside Hydra."""
    if not HydraConfig.initialized():
        return {}
    return {k: v for k, v in HydraConfig.get().runtime.choices.items() if v is not None}


def in_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun (`-m`, or a preset with `hydra.mode: MULTIRUN`)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _module_name(node) -> str | None:
    """`lm_experiments.objectives.negative.NegativeSampling` -> `negative` (the option's file name)."""
    target = node.get("_target_") if node else None
    return target.rsplit(".", 2)[-2] if target else None


def run_tags(cfg: DictConfig) -> list[str]:
    choices = hydra_choices()
    model = choices.get("model") or _module_name(cfg.get("model"))
    data = choices.get("data") or _module_name(cfg.data.get("corpus")) or "data"
    sampler = _module_name(cfg.get("sampler")) or "none"   # `model/skipgram` picks a sampler: name that one
    tags = [f"model={model}", f"data={data}", f"sampler={sampler}"]
    if choices.get("experiment"):
        tags.append(f"experiment={choices['experiment']}")
    return tags


def run_group(cfg: DictConfig) -> str | None:
    """The sweep this run belongs to: a W&B agent's sweep, else a Hydra multirun; None for a lone run."""
    sweep_id = os.environ.get("WANDB_SWEEP_ID")
    if sweep_id:
        return f"sweep-{sweep_id}"
    if in_multirun():
        return f"{cfg.get('task_name', 'train')}-{Path(HydraConfig.get().sweep.dir).name}"
    return None


def fill_wandb_defaults(cfg: DictConfig, resumed_from: str | None = None) -> None:
    """Set `logger.wandb.group` and `.tags` where the user left them null (so the saved config shows them),
    and, for a run resumed from a checkpoint, `.id` to the W&B run of the checkpoint's folder: the resumed
    training continues that W&B run (Lightning's WandbLogger resumes an id with `resume="allow"`)."""
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    if not wandb_cfg:
        return
    with open_dict(wandb_cfg):
        if wandb_cfg.get("id") is None and resumed_from is not None:
            wandb_cfg.id = read_wandb_id(run_folder_of(resumed_from))
        if wandb_cfg.get("group") is None:
            wandb_cfg.group = run_group(cfg)
        if wandb_cfg.get("tags") is None:
            wandb_cfg.tags = run_tags(cfg)


def log_files_artifact(experiment, name: str, kind: str, paths: list[Path], metadata: dict) -> None:
    """The run's exported files (vectors, subword rows, an ARPA model) as one versioned W&B artifact."""
    import wandb

    artifact = wandb.Artifact(name=name, type=kind, metadata=metadata)
    for path in paths:
        artifact.add_file(str(path), name=Path(path).name)
    experiment.log_artifact(artifact)
