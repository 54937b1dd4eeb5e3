"""Hydra callbacks (`conf/hydra/default.yaml`): a sweep runs every member and says at the end which failed.

A failed member of a multirun prints its one-line error, appends it to `failed.tsv` in the
sweep folder (each job's process may be another: the joblib and submitit launchers) and
returns NaN to the sweeper (Optuna marks the trial failed and goes on); the sweep goes on
with the next member. At the end `SweepSummary` lists the failed members with their errors
and exits with status 2 if any failed.
"""

import sys
from pathlib import Path

from hydra.experimental.callback import Callback

FAILED_FILE = "failed.tsv"


def record_failure(sweep_dir: str | Path, job: int, overrides: list[str], message: str) -> None:
    """One line per failed member: its number, its overrides, its error (tabs and newlines flattened)."""
    line = "\t".join([str(job), " ".join(overrides), " ".join(message.split())])
    path = Path(sweep_dir) / FAILED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:  # one short append per failure: atomic enough across jobs
        handle.write(line + "\n")


class SweepSummary(Callback):
    def on_multirun_start(self, config, **kwargs) -> None:
        (Path(config.hydra.sweep.dir) / FAILED_FILE).unlink(missing_ok=True)

    def on_multirun_end(self, config, **kwargs) -> None:
        path = Path(config.hydra.sweep.dir) / FAILED_FILE
        if not path.is_file():
            return
        failed = [line.split("\t", 2) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not failed:
            return
        print(f"error: {len(failed)} member(s) of the sweep failed (the others ran; {path}):", file=sys.stderr)
        for job, overrides, message in failed:
            print(f"  #{job} {overrides}: {message}", file=sys.stderr)
        sys.exit(2)
