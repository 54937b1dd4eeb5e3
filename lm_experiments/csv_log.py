"""The run's `metrics.csv`: Lightning's CSV logger, except that a resumed run appends to the history.

Lightning's logger deletes an existing `metrics.csv` when it starts, so resuming a run
in its own folder lost every earlier epoch's rows. With `resume_from` set (the run's
`ckpt_path`), the rows already there are kept and the new ones follow them (the header
widened if new metrics appear); a fresh run still starts a fresh file.
"""

import csv
import os

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.utilities.rank_zero import rank_zero_only


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
    def experiment(self):
        if self._experiment is None and self.resuming and rank_zero_only.rank == 0:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return super().experiment
