"""Train any model of lm_experiments: `python train.py model=skipgram data=text8 ...`.

Thin on purpose: Hydra composes the config, `lm_experiments.run.train` does the work.
"""

import shutil
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from lm_experiments.errors import user_error_in
from lm_experiments.run import train


def _remove_if_empty_run(output_dir: str) -> None:
    """A run that failed before producing anything leaves no folder behind (only Hydra's own files)."""
    folder = Path(output_dir)
    if folder.is_dir() and {p.name for p in folder.iterdir()} <= {".hydra", "train.log"}:
        shutil.rmtree(folder, ignore_errors=True)


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except Exception as error:
        cause = user_error_in(error)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        _remove_if_empty_run(cfg.paths.output_dir)
        sys.exit(2)
    return metrics.get(cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
