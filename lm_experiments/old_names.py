"""Old names that still work: modules that moved, classes that moved, options that were renamed.

- Modules: before the package got its rooms (`cli/`, `run/`, `vectors/`), `python -m
  lm_experiments.evaluate RUN`, `from lm_experiments.embed import ElmoEmbedder` and the
  `_target_`s in older run folders' `config.yaml` (`lm_experiments.csv_log.RunCSVLogger`) named
  them elsewhere. A finder on `sys.meta_path` answers only these names, with the module that
  lives at the new place: `import lm_experiments.evaluate` gives the very module
  `lm_experiments.cli.evaluate` (one set of classes, not a second copy), and `python -m` runs
  the new file as `__main__`. Installed when `lm_experiments` is imported.
- Classes: `_target_`s of older run folders (`MOVED_TARGETS`).
- Options: one name per knob across the autograd and kernel paths (`RENAMED_OPTIONS`): the
  command line's old keys are read as the new ones with a one-line note (`renamed_overrides`),
  and an older run folder's config is read as today's (`read_as_today`).
Nothing else of ours uses the old names (`tests/test_layering.py`).
"""

import importlib
import importlib.abc
import importlib.util
import logging
import sys

from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)

MOVED = {
    "lm_experiments.main": "lm_experiments.cli.train",
    "lm_experiments.evaluate": "lm_experiments.cli.evaluate",
    "lm_experiments.generate": "lm_experiments.cli.generate",
    "lm_experiments.embed": "lm_experiments.cli.embed",
    "lm_experiments.compare": "lm_experiments.cli.compare",
    "lm_experiments.inspect": "lm_experiments.cli.inspect_run",
    "lm_experiments.api": "lm_experiments.run.api",
    "lm_experiments.training": "lm_experiments.run.training",
    "lm_experiments.assembly": "lm_experiments.run.assembly",
    "lm_experiments.run_folder": "lm_experiments.run.folder",
    "lm_experiments.csv_log": "lm_experiments.run.csv_log",
    "lm_experiments.hydra_callbacks": "lm_experiments.run.hydra_callbacks",
    "lm_experiments.export": "lm_experiments.vectors.writing",
    "lm_experiments.vector_files": "lm_experiments.vectors.reading",
    "lm_experiments.data.tokenize": "lm_experiments.data.tokenizers",
}


class _AliasLoader(importlib.abc.Loader):
    """Gives the module at the new place (imported as usual) under the old name; `python -m` asks `get_code`."""

    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        self._spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self._spec  # the import system set the old name's spec on it: the module keeps its own

    def get_code(self, name: str):
        return importlib.util.find_spec(self.new).loader.get_code(self.new)


class _OldNames(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path=None, target=None):
        if name not in MOVED:
            return None
        origin = importlib.util.find_spec(MOVED[name]).origin
        return importlib.util.spec_from_loader(name, _AliasLoader(MOVED[name]), origin=origin)


def install() -> None:
    if not any(isinstance(finder, _OldNames) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldNames())


# Where classes lived before they moved: run folders written then name them in their config.yaml.
MOVED_TARGETS = {
    "lm_experiments.tasks.language_model.LanguageModelTask": "lm_experiments.tasks.neural_lm.NeuralLMTask",
    "lm_experiments.kernels.updater.Auto": "lm_experiments.updaters.auto.Auto",
    "lm_experiments.kernels.updater.FusedCPU": "lm_experiments.updaters.fused.FusedCPU",
    "lm_experiments.kernels.updater.FusedGPU": "lm_experiments.updaters.fused.FusedGPU",
    "lm_experiments.tasks.updaters.AutogradSGD": "lm_experiments.updaters.base.AutogradSGD",
}

# Options renamed so that one knob has one name on both paths: old key -> (new key, how an old value reads now).
RENAMED_OPTIONS = {
    "sampler.shared": ("sampler.noise_sharing", {"true": "step", "false": "auto"}),
    "sampler.shared_pool": ("sampler.noise_pool", None),
    "task.updater.shared_negatives": ("sampler.noise_sharing", None),
    "task.updater.shared_centers": ("sampler.centers_per_draw", None),
    "task.updater.window_draws": ("sampler.window_draws", None),
    "task.examples_per_step": ("task.cells_per_step", None),  # cells, where task.updater.examples_per_step counts
}                                                             # examples


def renamed_overrides(overrides: list[str]) -> tuple[list[str], list[str]]:
    """Command-line overrides with the old option names read as the new ones (a sweep's values each), and a one-line
    note for each one renamed."""
    read, notes = [], []
    for item in overrides:
        prefix = item[: len(item) - len(item.lstrip("+~"))]
        key, equals, value = item[len(prefix):].partition("=")
        if not equals or key not in RENAMED_OPTIONS:
            read.append(item)
            continue
        new_key, values = RENAMED_OPTIONS[key]
        if values:
            value = ",".join(values.get(part.strip().lower(), part) for part in value.split(","))
        read.append(f"{prefix}{new_key}={value}")
        notes.append(f"{key} is now {new_key}: read as {new_key}={value}")
    return read, notes


def read_as_today(cfg: DictConfig) -> list[str]:
    """An older run folder's config read with today's class paths and option names (in place); returns what was
    read differently, for a note. Only what rebuilding the run needs is carried over: the sizes of window sharing
    and of a step's pool where they applied."""
    changed = _follow_moved_targets(cfg)
    sampler, task = cfg.get("sampler"), cfg.get("task")
    updater = task.get("updater") if task else None
    with open_dict(cfg):
        old_kernel = {key: updater.pop(key) for key in ("shared_negatives", "shared_centers", "window_draws")
                      if updater is not None and key in updater}
        if sampler is not None and "shared" in sampler:
            pooled, pool = bool(sampler.pop("shared")), sampler.pop("shared_pool", None)
            sharing = "step" if pooled else old_kernel.get("shared_negatives", "auto")
            sampler.noise_sharing = sharing
            if pooled:
                sampler.noise_pool = pool
            if sharing == "window":
                sampler.centers_per_draw = old_kernel.get("shared_centers")
                sampler.window_draws = old_kernel.get("window_draws")
            changed.append("sampler.shared, sampler.shared_pool")
        if old_kernel:
            changed.append(", ".join(f"task.updater.{key}" for key in old_kernel))
        if task is not None and "examples_per_step" in task and "cells_per_step" not in task:
            task.cells_per_step = task.pop("examples_per_step")
            changed.append("task.examples_per_step")
    if changed:
        log.info("the run's config.yaml names %s as an older version did: read with today's names", "; ".join(changed))
    return changed


def _follow_moved_targets(node) -> list[str]:
    moved = []
    if isinstance(node, DictConfig):
        for key, value in node.items():
            if key == "_target_" and value in MOVED_TARGETS:
                node[key] = MOVED_TARGETS[value]
                moved.append(value)
            else:
                moved += _follow_moved_targets(value)
    return moved
