"""The training command line checked before Hydra runs it, so that its mistakes are one line and exit status 2.

Hydra reports a bad override (`trainer.max_epoch=1`, `sampler=negatve`, `model=nope`) in
several lines with a hint about HYDRA_FULL_ERROR and exits 1; a `+key=value` that adds a
key no part of the run reads is taken without a word; a run folder under a file or in a
read-only place fails inside Hydra's logging set-up with a traceback. `check_command_line`
composes the same config first (a sweep's first value of each swept option), and turns
each of these into a `UserError`; `compose_checked` is the same composition for `train()`.
"""

import os
import re
from pathlib import Path

from lm_experiments.errors import UserError
from lm_experiments.files import nearest_existing

# flags after which Hydra does something other than run (help, info, printing the config, shell completion)
PASSED_THROUGH = ("-h", "--help", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i", "--resolve",
                  "--package", "-p", "--shell-completion", "-sc", "--config-path", "-cp", "--config-name", "-cn",
                  "--config-dir", "-cd", "--experimental-rerun")


def register_run_suffix() -> None:
    """`${run_suffix:}` in conf/hydra/default.yaml: four random hex digits at the end of a run folder's name.
    Cached per composed config (as Hydra's `${now:...}` is), so a sweep's jobs all see the same sweep folder."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("run_suffix"):
        OmegaConf.register_new_resolver("run_suffix", lambda: os.urandom(2).hex(), use_cache=True)


register_run_suffix()  # before anything composes the config: the check below, Hydra's own run, train()


def one_line(error: BaseException) -> str:
    """Hydra's many-line message as one line: an unknown option with the group's options, else its first line
    with its cause's and Hydra's hint about appending a key."""
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    missing = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if missing and "Available options" in text:
        listed = text.split("Available options", 1)[1].split("Config search path", 1)[0]
        options = [line.strip() for line in listed.splitlines()[1:] if line.strip()]
        group, name = missing.group(1), missing.group(2)
        return f"{group}={name} is none of the {group} options: {', '.join(options)}."
    head = lines[0] if lines else type(error).__name__
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        head = f"{head.rstrip('.')}: {str(cause).strip().splitlines()[0]}"
    hint = next((line for line in lines if line.startswith("To append to your config use")), None)
    if hint:
        head = f"{head.rstrip('.')} ({hint[0].lower()}{hint[1:]})"
    return head


def compose_checked(overrides: list[str], return_hydra_config: bool = False):
    """The config `python train.py <overrides>` composes, or a UserError in one line (an unknown option or
    key, a bad value, a `+key` nothing reads)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    from lm_experiments import CONFIG_DIR

    added = [item for item in overrides if item.startswith("+") and not item.startswith("++")]
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("train", overrides=list(overrides), return_hydra_config=return_hydra_config)
            base = compose("train") if added else None  # the keys a `+key` must be among
    except OverrideParseException as error:
        raise UserError(f"Cannot read the override {error.override!r}: {one_line(error)}") from None
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        raise UserError(one_line(error)) from None
    for item in added:
        key = item[1:].split("=", 1)[0]
        top = key.split(".")[0].split("@")[0].split("/")[0]
        is_group = (CONFIG_DIR / key.split("@")[0]).is_dir()
        if top not in base and top != "hydra" and not is_group:
            raise UserError(f"{item} adds a key that no part of the run reads ({top} is none of the config's "
                            f"groups or keys: {', '.join(sorted(str(k) for k in base))}).")
    return cfg


def first_of_each_sweep(overrides: list[str]) -> list[str]:
    """A multirun's overrides with each sweep (`a=1,2`, `range(3)`, `choice(..)`) replaced by its first value;
    a sweep with no first value (an Optuna `interval`) is left out."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as error:
        raise UserError(f"Cannot read the override {error.override!r}: {one_line(error)}") from None
    chosen = []
    for override in parsed:
        if not override.is_sweep_override():
            chosen.append(override.input_line)
            continue
        try:
            value = next(iter(override.sweep_string_iterator()))
        except Exception:  # noqa: BLE001 -- an interval sweep has no values to list
            continue
        chosen.append(f"{override.get_key_element()}={value}")
    return chosen


def writable_folder(folder: Path, what: str) -> None:
    """A folder a run can be written in: itself or its nearest existing parent is a folder we may write."""
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise UserError(f"Cannot make the {what} {folder}: {existing} is a file, not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write the {what} {folder}: {existing} is read-only (set hydra.run.dir, or "
                        f"paths.log_dir, to a folder you can write).")


def check_command_line(argv: list[str]) -> None:
    """Raise a UserError for a command line Hydra would refuse or run into trouble with; nothing for one it
    runs well, or one with a flag that makes Hydra print instead of run."""
    if any(arg.split("=", 1)[0] in PASSED_THROUGH for arg in argv):
        return
    multirun = any(arg in ("-m", "--multirun") for arg in argv)
    given = [arg for arg in argv if not arg.startswith("-")]
    overrides = first_of_each_sweep(given)  # a preset may set hydra.mode=MULTIRUN: known only once composed
    cfg = compose_checked(overrides, return_hydra_config=True)
    from omegaconf import OmegaConf

    if OmegaConf.select(cfg, "hydra.mode") is not None and str(cfg.hydra.mode).endswith("MULTIRUN"):
        multirun = True
    sweeps = [item for item in given if item not in overrides]
    if sweeps and not multirun:
        raise UserError(f"{sweeps[0]} is a sweep: run it with -m (--multirun), or give one value.")
    try:
        folder = Path(str(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir))
    except Exception as error:  # noqa: BLE001 -- an interpolation in the folder's name that does not resolve
        raise UserError(f"The run folder's name does not resolve: {one_line(error)}") from None
    writable_folder(folder, "sweep folder" if multirun else "run folder")
