"""The training command: `python train.py model=... data=...`, or `lm-train ...` once the package is installed.

Both find the same configs: `conf/` at the top of a checkout, or the copy a wheel ships
(`lm_experiments.CONFIG_DIR`). Before Hydra runs, the command line is composed once and
checked (`run/command_line.py`), so a bad option is one line and exit status 2. The run
itself is `run/lifecycle.py`'s, as `train()`'s is: it claims its folder, writes Hydra's
`.hydra/` files once it holds it, and after a failure removes only what it created. Here a
failure becomes one line and an exit status; SIGTERM is handled as Ctrl-C. In a sweep a
failed member is reported and the sweep goes on (`run/hydra_callbacks.py`).
"""

import logging
import math
import signal
import sys

import hydra
from omegaconf import DictConfig

from lm_experiments import CONFIG_DIR
from lm_experiments.cli.process_exit import exit_now, exit_status_of
from lm_experiments.errors import UserError, exit_status, user_error_in
from lm_experiments.old_names import renamed_overrides
from lm_experiments.run.command_line import check_command_line
from lm_experiments.run.hydra_callbacks import record_failure

log = logging.getLogger("train")
TERMINATED = 143  # 128 + SIGTERM, the status a shell reports for a terminated process


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so a terminated run shuts down and cleans up as an interrupted one."""


_terminated = False  # SIGTERM arrived (Lightning turns an interrupt inside fit into SystemExit(1))


def _terminate(signum, frame):
    global _terminated
    _terminated = True
    raise Terminated()


def _message(error: BaseException) -> str:
    cause = user_error_in(error)
    if cause is not None:
        return str(cause)
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "interrupted"
    return f"{type(error).__name__}: {error}"


def run_or_exit(cfg: DictConfig) -> float | None:
    """Train in a claimed folder and return the optimized metric. On failure remove what this run created, then
    exit with one line (status 2 for bad input); in a sweep, report the member, return NaN and let the sweep go
    on."""
    from hydra.core.hydra_config import HydraConfig

    from lm_experiments.run.lifecycle import train_in_folder
    from lm_experiments.run.tracking import in_multirun

    sweeping = in_multirun()
    try:
        hydra_cfg = HydraConfig.get()
        metrics = train_in_folder(cfg, list(hydra_cfg.overrides.task), hydra_cfg)
    except BaseException as error:
        return _fail(error, sweeping)
    wanted = cfg.get("optimized_metric")  # the task's own unless the config names one
    if wanted not in metrics:
        log.warning("optimized_metric=%s is not among this run's metrics (%s): a sweeper gets None", wanted,
                    ", ".join(sorted(metrics)))
    return metrics.get(wanted)


def _fail(error: BaseException, sweeping: bool) -> float:
    if sweeping and not isinstance(error, KeyboardInterrupt):
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get()
        message = _message(error)
        print(f"error: {message}", file=sys.stderr)
        record_failure(hydra_cfg.sweep.dir, hydra_cfg.job.num, list(hydra_cfg.overrides.task), message)
        return math.nan
    if isinstance(error, Terminated) or (isinstance(error, SystemExit) and _terminated):
        print("error: terminated (SIGTERM); the run's own set-up files were removed", file=sys.stderr)
        sys.exit(TERMINATED)
    if isinstance(error, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(exit_status(error))


@hydra.main(config_path=str(CONFIG_DIR), config_name="train", version_base="1.3")
def hydra_main(cfg: DictConfig) -> float | None:
    return run_or_exit(cfg)


def main() -> None:
    """Read old option names as today's (a note each), check the command line, then hand it to Hydra."""
    sys.argv[1:], notes = renamed_overrides(sys.argv[1:])
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    try:
        check_command_line(sys.argv[1:])
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _terminate)
    import lm_experiments.run.training  # noqa: F401 -- Lightning imported before Hydra sets up logging keeps its own
    try:                            # console handler, as the console's one-line-per-epoch layout expects
        hydra_main()
    except SystemExit as stop:
        status = exit_status_of(stop)
        if status is None:
            raise
    else:
        status = 0
    exit_now(status)  # skips the interpreter's second of module teardown (cli/process_exit.py)


if __name__ == "__main__":
    main()
