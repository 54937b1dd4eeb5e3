"""A run's life in its folder, the one wrapper `train.py`, `lm-train` and `train()` share: claim the folder, write
Hydra's `.hydra/` files, train, and after a failure remove only what this run created.

The claim (`claim.py`) stops a second run in the same folder before it writes anything; the
`.hydra/` files are written once the folder is held (Hydra's own writing is switched off,
`hydra.output_subdir: null`), by the first process only (a DDP launcher's extra processes
write in the folder their first process claimed). Every failure, ours or not, Ctrl-C and
SIGTERM included, cleans up while the folder is still ours and is raised again for the
caller to report: the command line as one line and an exit status, `train()` as an exception.
"""

import contextlib
from pathlib import Path

from omegaconf import DictConfig

from lm_experiments.run import folder as run_folder
from lm_experiments.run.claim import RunClaim, first_process


def train_in_folder(cfg: DictConfig, overrides: list[str], hydra_config=None,
                    log_to: contextlib.AbstractContextManager | None = None) -> dict[str, float]:
    """Train `cfg` in `cfg.paths.output_dir` and return the final metrics. `overrides` (and `hydra_config`, under
    Hydra) go into `.hydra/`; `log_to` wraps the training where no Hydra job writes the run's `train.log`."""
    from lm_experiments.run.training import train  # Lightning and the models, once the command line is checked

    folder = Path(cfg.paths.output_dir)
    # a folder in use by another run, or holding one this run does not resume: a UserError, and nothing to clean
    with RunClaim(folder, resuming=cfg.get("ckpt_path") is not None) as claim:
        try:
            if first_process():
                run_folder.write_hydra_files(folder, cfg, list(overrides), hydra_config)
            with log_to if log_to is not None else contextlib.nullcontext():
                return train(cfg)
        except BaseException:  # every failure, ours or not, Ctrl-C and SIGTERM included
            claim.cleanup()  # while the folder is still ours
            raise
