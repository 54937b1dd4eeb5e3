"""The training command: `python train.py model=... data=...`, or `lm-train ...` once the package is installed.

Both find the same configs: `conf/` at the top of a checkout, or the copy a wheel ships
(`lm_experiments.CONFIG_DIR`).
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

from lm_experiments import CONFIG_DIR
from lm_experiments.errors import exit_status
from lm_experiments.run_folder import remove_failed_run
from lm_experiments.training import train

log = logging.getLogger("train")


def run_or_exit(cfg: DictConfig) -> dict[str, float]:
    """Train; on any failure remove the run's stub folder, and turn bad input into one line and exit 2."""
    try:
        return train(cfg)
    except BaseException as error:  # every failure, ours or not, Ctrl-C included, leaves no stub folder behind
        remove_failed_run(cfg.paths.output_dir)  # (a run that wrote checkpoints or results keeps them)
        sys.exit(exit_status(error))


@hydra.main(config_path=str(CONFIG_DIR), config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    metrics = run_or_exit(cfg)
    wanted = cfg.get("optimized_metric")  # the task's own unless the config names one
    if wanted not in metrics:
        log.warning("optimized_metric=%s is not among this run's metrics (%s): a sweeper gets None", wanted,
                    ", ".join(sorted(metrics)))
    return metrics.get(wanted)


if __name__ == "__main__":
    main()
