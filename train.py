"""Train any model of lm_experiments: `python train.py model=skipgram data=text8 ...`.

Thin on purpose: Hydra composes the config, `lm_experiments.run.train` does the work.
"""

import logging
import shutil
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from lm_experiments.errors import user_error_in
from lm_experiments.run import train

log = logging.getLogger("train")

# What a run writes before its first result; a run refused for bad input removes only these.
PRE_RESULT_FILES = (".hydra", "train.log", "config.yaml", "vocab.tsv", "hparams.yaml", "metrics.csv")


def _remove_failed_run(output_dir: str) -> None:
    """Delete the set-up files of a run that stopped on bad input, and its folder if that leaves it empty.

    Only files a run writes itself are touched, so pointing the run at an existing
    folder can never lose anything else.
    """
    folder = Path(output_dir)
    if not folder.is_dir() or (folder / "checkpoints").exists() or (folder / "vectors.bin").exists():
        return
    for name in PRE_RESULT_FILES:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except Exception as error:
        cause = user_error_in(error)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        _remove_failed_run(cfg.paths.output_dir)
        sys.exit(2)
    wanted = cfg.get("optimized_metric")
    if wanted and wanted not in metrics:
        log.warning("optimized_metric=%s is not among this run's metrics (%s): a sweeper gets None", wanted,
                    ", ".join(sorted(metrics)))
    return metrics.get(wanted)


if __name__ == "__main__":
    main()
