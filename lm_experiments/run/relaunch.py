"""Let Lightning's DDP launcher start the extra processes of each job of a Hydra multirun.

`trainer=ddp` with several devices re-runs the script once per extra device with the
same command line plus `hydra.run.dir=<run dir>`, and leaves `LOCAL_RANK`, `WORLD_SIZE`
and the rendezvous address in the environment. Inside a multirun that command line is
the whole sweep (`-m data.window=2,5,10`), `run.dir` is not the job's folder, and the
next job would read the leftover variables as "my processes were started for me" and
wait for peers that never come. So around a multirun job the command line becomes the
job's own overrides, the run folder the job's folder, and afterwards the environment,
the command line and the process group are put back as they were.
"""

import os
import sys
from contextlib import contextmanager

import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write

from lm_experiments.run.tracking import in_multirun

LAUNCH_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


@contextmanager
def launches_as_this_job(distributed: bool):
    """Around a multirun job's fit and test on several processes; a no-op otherwise."""
    if not (distributed and in_multirun()):
        yield
        return
    hydra_cfg = HydraConfig.get()
    saved_argv, saved_env = sys.argv, {k: os.environ.get(k) for k in LAUNCH_VARIABLES}
    sys.argv = [sys.argv[0], *hydra_cfg.overrides.task, "hydra.mode=RUN"]  # a preset may set MULTIRUN
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        saved_run_dir, hydra_cfg.run.dir = hydra_cfg.run.dir, hydra_cfg.runtime.output_dir
    try:
        yield
    finally:
        sys.argv = saved_argv
        with read_write(hydra_cfg), open_dict(hydra_cfg):
            hydra_cfg.run.dir = saved_run_dir
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()  # the next job starts its own processes and group
