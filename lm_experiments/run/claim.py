"""A run claims its folder before it writes anything of its own, and cleans up after a failure only what it made.

- The claim is an exclusive `flock` on `<run>/.lock`, held while the run lives (the system
  drops it when the process ends, however it ends, so a killed run never blocks a resume).
  A second run in the same folder stops at once with one line naming the first's pid,
  before it has touched the first's config, metrics or checkpoints.
- A folder that holds an earlier run's record (its config, metrics or checkpoints, finished
  or killed) is claimed only to resume that run (`ckpt_path=`); any other run stops in one
  line before it writes, so a finished run is never overwritten.
- What the folder held when the claim was taken is remembered; after a failure only the
  set-up files this run created are removed, and the folder itself only when the run
  found it new (nothing in it but the empty log Hydra had just opened). A folder from
  another run, killed before its first checkpoint, keeps every file.

Only the first process of a run claims (a DDP launcher's extra processes, started with
LOCAL_RANK or RANK set above 0, write in the folder their first process claimed).
"""

import contextlib
import os
import shutil
from pathlib import Path

from lm_experiments.errors import UserError
from lm_experiments.files import write_failed
from lm_experiments.run import folder as run_folder

LOCK_FILE = ".lock"
# what every run writes once it starts (and its results): a folder holding any of them is another run's record
RECORD = {run_folder.CONFIG_FILE, run_folder.METRICS_FILE, run_folder.CSV_METRICS_FILE, run_folder.CHECKPOINTS_DIR,
          run_folder.VECTORS_BINARY_FILE, run_folder.ARPA_FILE}


def first_process() -> bool:
    """Not one of the extra processes a distributed launcher started for this run."""
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in ("LOCAL_RANK", "RANK", "NODE_RANK"))


class RunClaim:
    """`with RunClaim(folder):` around a run; `cleanup()` after a failure (the claim stays until exit)."""

    def __init__(self, folder: str | Path, resuming: bool = False):
        self.folder = Path(folder)
        self.resuming = resuming
        self.handle = None
        self.found_new = False
        self.found: set[str] = set()

    def __enter__(self) -> "RunClaim":
        if not first_process():
            return self
        import fcntl

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            names = {path.name for path in self.folder.iterdir()} - {LOCK_FILE}
            log = self.folder / run_folder.LOG_FILE
            self.found_new = names <= {run_folder.LOG_FILE} and (not log.exists() or log.stat().st_size == 0)
            self.found = names
            self.handle = open(self.folder / LOCK_FILE, "a+", encoding="utf-8")
        except OSError as error:
            raise write_failed(self.folder, error) from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "unknown"
            self.handle.close()
            self.handle = None
            raise UserError(f"{self.folder} is in use by another run (pid {holder}): wait for it to finish, or give "
                            f"this run a folder of its own (hydra.run.dir=...).") from None
        earlier = sorted(names & RECORD)
        if earlier and not self.resuming:
            self.handle.close()
            self.handle = None
            raise UserError(f"{self.folder} holds an earlier run ({', '.join(earlier)}): resume it with "
                            f"ckpt_path=last, or give this run a folder of its own (hydra.run.dir=...); nothing in it "
                            f"was changed.")
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()
        return self

    def cleanup(self) -> None:
        """After a failure: the whole folder if this run found it new, else only the set-up files it created."""
        if self.handle is None:
            return
        if any((self.folder / name).exists() for name in (run_folder.CHECKPOINTS_DIR, run_folder.VECTORS_BINARY_FILE)):
            return  # results are kept, whoever wrote them
        if self.found_new:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        for name in run_folder.SET_UP_FILES:
            path = self.folder / name
            if name in self.found or not path.exists():
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
