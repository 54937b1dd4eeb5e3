"""Train any model of lm_experiments: `python train.py model=skipgram data=text8 ...`.

Thin on purpose: Hydra composes the config, `lm_experiments.run.train` does the work.
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

from lm_experiments.errors import user_error_in
from lm_experiments.run import train
from lm_experiments.runs import remove_failed_run

log = logging.getLogger("train")


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except BaseException as error:  # every failure, ours or not, Ctrl-C included, leaves no stub folder behind
        remove_failed_run(cfg.paths.output_dir)  # (a run that wrote checkpoints or results keeps them)
        cause = user_error_in(error)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        sys.exit(2)
    wanted = cfg.get("optimized_metric")  # the task's own unless the config names one
    if wanted not in metrics:
        log.warning("optimized_metric=%s is not among this run's metrics (%s): a sweeper gets None", wanted,
                    ", ".join(sorted(metrics)))
    return metrics.get(wanted)


if __name__ == "__main__":
    main()
