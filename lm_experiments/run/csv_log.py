"""The run's `metrics.csv`: Lightning's CSV logger, writing into a run folder that already holds our files.

Lightning's writer warns "directory exists and is not empty" whenever its folder holds
anything, and the run folder always does (Hydra's `.hydra/`, `train.log`, our
`config.yaml`): a warning on every run about files that are meant to be there. Ours
looks only at `metrics.csv`: a fresh run replaces an old one (saying so in the log,
as it only happens when a folder is reused), and a resumed run (`resume_from`, the
run's `ckpt_path`) keeps the rows already there and appends after them (the header
widened if new metrics appear), where Lightning's would delete the earlier epochs.
"""

import csv
import logging
import os

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

log = logging.getLogger(__name__)


class _FreshWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            log.info("replacing %s left by an earlier run in this folder", self.metrics_file_path)
            os.remove(self.metrics_file_path)


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as handle:
                self.metrics_keys = list(csv.DictReader(handle).fieldnames or [])


class RunCSVLogger(CSVLogger):
    def __init__(self, save_dir: str, name: str = "", version: str = "", resume_from: str | None = None, **kwargs):
        super().__init__(save_dir, name=name, version=version, **kwargs)
        self.resuming = resume_from is not None

    @property
    @rank_zero_experiment  # other DDP ranks get Lightning's dummy writer
    def experiment(self):
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            writer = _AppendingWriter if self.resuming else _FreshWriter
            self._experiment = writer(log_dir=self.log_dir)
        return self._experiment
