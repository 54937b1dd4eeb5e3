"""Older run folders, checkpoints and command lines still work.

The fixture trains runs with today's code and ages their folders into what the version
before the package got its rooms wrote: module and class paths that moved (`_target_`s in
`config.yaml` and `.hydra/hydra.yaml`), and options that were renamed (noise sharing on the
autograd and kernel paths, the count task's cells per step). `load_run`, `lm-eval` and a resume
from the aged checkpoint (`ckpt_path=`) must read them as they read today's, and the old names
on a command line must train, with a note. Nothing is checked in: the folders are made here.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import FAST, ROOT, compose_config

from lm_experiments.old_names import MOVED, RENAMED_OPTIONS, read_as_today, renamed_overrides
from lm_experiments.run import folder as run_folder

OLD_MODULE = {new: old for old, new in MOVED.items()}


def old_target(target: str) -> str:
    """A `_target_` as the older version spelled it (the module it lived in then)."""
    module, _, name = target.rpartition(".")
    return f"{OLD_MODULE.get(module, module)}.{name}"


def age_targets(node) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str):
                node[key] = old_target(value)
            else:
                age_targets(value)
    elif isinstance(node, list):
        for item in node:
            age_targets(item)


def age_options(cfg: dict) -> None:
    """Today's option names back to the older ones (their old defaults where the new config leaves them null)."""
    sampler, task = cfg.get("sampler") or {}, cfg["task"]
    if "noise_sharing" in sampler:
        sharing = sampler.pop("noise_sharing")
        pool, draws, centers = (sampler.pop(key) for key in ("noise_pool", "window_draws", "centers_per_draw"))
        sampler["shared"], sampler["shared_pool"] = sharing == "step", pool or 1024
        task["updater"].update(shared_negatives="auto" if sharing == "step" else sharing,
                               shared_centers=centers or 8, window_draws=draws or 3)
    if "cells_per_step" in task:
        task["examples_per_step"] = task.pop("cells_per_step")


def age(folder: Path) -> None:
    """Rewrite a run folder written today as the older version wrote it."""
    config = yaml.safe_load((folder / run_folder.CONFIG_FILE).read_text())
    age_targets(config)
    age_options(config)
    (folder / run_folder.CONFIG_FILE).write_text(yaml.safe_dump(config))
    hydra_file = folder / run_folder.HYDRA_DIR / "hydra.yaml"
    if hydra_file.is_file():
        hydra = yaml.safe_load(hydra_file.read_text())
        age_targets(hydra)
        hydra_file.write_text(yaml.safe_dump(hydra))


@pytest.fixture(scope="module")
def old_runs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """(today's folder, its aged copy) for a skip-gram run and a GloVe run, trained once for this module."""
    from lm_experiments.run.training import train

    root = tmp_path_factory.mktemp("old_runs")
    runs = {}
    for name, overrides in (("skipgram", ["task.updater.threads=1", "logger=csv"]),
                            ("glove", ["model=glove", "logger=csv", "callbacks.embedding_map=null"])):
        today = root / name
        train(compose_config(FAST + ["callbacks.embedding_map=null", *overrides], today, root / "cache"))
        aged = root / f"{name}-aged"
        shutil.copytree(today, aged)
        age(aged)
        runs[name] = today, aged
    return runs


def test_the_aged_folders_name_what_the_older_version_named(old_runs):
    config = yaml.safe_load((old_runs["skipgram"][1] / run_folder.CONFIG_FILE).read_text())
    assert config["logger"]["csv"]["_target_"] == "lm_experiments.csv_log.RunCSVLogger"
    assert config["sampler"]["shared"] is False and config["task"]["updater"]["shared_negatives"] == "auto"
    assert "examples_per_step" in yaml.safe_load((old_runs["glove"][1] / run_folder.CONFIG_FILE).read_text())["task"]


def test_load_run_reads_an_older_run_folder_as_todays(old_runs):
    from lm_experiments import load_run

    today, aged = (load_run(folder) for folder in old_runs["skipgram"])
    assert aged.vectors.index_to_key == today.vectors.index_to_key
    np.testing.assert_array_equal(aged.vectors.vectors, today.vectors.vectors)
    assert type(aged.task) is type(today.task)
    assert aged.config.sampler.noise_sharing == "auto" and "shared" not in aged.config.sampler


def test_an_older_count_runs_config_builds_todays_task(old_runs):
    """(A count run writes no checkpoint to load: its config and vocabulary are what an older folder could break.)"""
    from omegaconf import OmegaConf

    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.run.assembly import instantiate_task

    aged = old_runs["glove"][1]
    cfg = OmegaConf.load(aged / run_folder.CONFIG_FILE)
    assert read_as_today(cfg) == ["task.examples_per_step"]
    task = instantiate_task(cfg, Vocabulary.load(aged / run_folder.VOCAB_FILE), for_training=False)
    assert task.cells_per_step == yaml.safe_load((old_runs["glove"][0] / run_folder.CONFIG_FILE).read_text())[
        "task"]["cells_per_step"]


def test_lm_eval_scores_an_older_run_folder_with_the_runs_own_numbers(old_runs):
    from lm_experiments.cli.evaluate import evaluate

    today, aged = old_runs["skipgram"]
    recorded = json.loads((today / run_folder.METRICS_FILE).read_text())
    scored = evaluate(aged).metrics
    for metric in ("analogy", "ws353", "simlex"):
        assert scored[metric] == pytest.approx(recorded[f"val/{metric}"], abs=1e-6), metric


def test_a_run_resumes_from_an_older_run_folders_checkpoint(old_runs, tmp_path):
    from lm_experiments import load_run
    from lm_experiments.run.training import train

    aged = old_runs["skipgram"][1]
    checkpoint = aged / run_folder.CHECKPOINTS_DIR / "last.ckpt"
    metrics = train(compose_config([*FAST, "trainer.max_epochs=2", "task.updater.threads=1", "logger=none",
                                    "callbacks.embedding_map=null", f"ckpt_path={checkpoint}"],
                                   tmp_path / "resumed", tmp_path / "cache"))
    assert np.isfinite(metrics["train/loss"])
    assert not np.array_equal(load_run(tmp_path / "resumed").vectors.vectors, load_run(aged).vectors.vectors), \
        "the resumed run trained a second epoch from the older checkpoint"


def test_older_option_names_read_as_todays_with_a_note():
    read, notes = renamed_overrides(["task.updater.shared_negatives=none", "sampler.shared=true,false",
                                     "+task.examples_per_step=16", "model=cbow", "task.updater.threads=1"])
    assert read == ["sampler.noise_sharing=none", "sampler.noise_sharing=step,auto", "+task.cells_per_step=16",
                    "model=cbow", "task.updater.threads=1"]
    assert len(notes) == 3 and notes[0].startswith("task.updater.shared_negatives is now sampler.noise_sharing")
    assert {new for new, _ in RENAMED_OPTIONS.values()} <= {"sampler.noise_sharing", "sampler.noise_pool",
                                                            "sampler.window_draws", "sampler.centers_per_draw",
                                                            "task.cells_per_step"}


def test_an_older_config_with_window_sharing_keeps_its_sizes():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"sampler": {"_target_": "lm_experiments.objectives.negative.NegativeSampling",
                                        "shared": False, "shared_pool": 1024, "negative": 5},
                            "task": {"updater": {"_target_": "lm_experiments.kernels.updater.Auto",
                                                 "shared_negatives": "window", "shared_centers": 4,
                                                 "window_draws": 2}}})
    assert read_as_today(cfg)
    assert OmegaConf.to_container(cfg) == {
        "sampler": {"_target_": "lm_experiments.objectives.negative.NegativeSampling", "negative": 5,
                    "noise_sharing": "window", "centers_per_draw": 4, "window_draws": 2},
        "task": {"updater": {"_target_": "lm_experiments.updaters.auto.Auto"}}}


@pytest.mark.slow
def test_the_older_command_line_names_train_with_a_note(tmp_path):
    result = subprocess.run([sys.executable, "train.py", "task.updater.shared_negatives=none",
                             "task.updater.threads=1", "trainer.max_epochs=1", "logger=none",
                             "callbacks.embedding_map=null", f"hydra.run.dir={tmp_path / 'run'}",
                             f"paths.cache_dir={tmp_path / 'cache'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "note: task.updater.shared_negatives is now sampler.noise_sharing" in result.stderr
    saved = yaml.safe_load((tmp_path / "run" / run_folder.CONFIG_FILE).read_text())
    assert saved["sampler"]["noise_sharing"] == "none"
    assert "sampler.noise_sharing=none" in (tmp_path / "run" / run_folder.HYDRA_DIR / "overrides.yaml").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("old, new", [("lm_experiments.inspect", "lm-inspect"), ("lm_experiments.evaluate", "lm-eval"),
                                      ("lm_experiments.compare", "lm-compare"), ("lm_experiments.embed", "lm-embed"),
                                      ("lm_experiments.generate", "lm-generate")])
def test_the_older_python_m_commands_run_the_commands(old, new):
    result = subprocess.run([sys.executable, "-m", old, "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith(f"usage: {new}"), result.stderr[-2000:]


def test_an_older_import_gives_the_module_at_its_new_place():
    import lm_experiments.evaluate
    import lm_experiments.export

    import lm_experiments.cli.evaluate
    import lm_experiments.vectors.writing

    assert lm_experiments.evaluate is lm_experiments.cli.evaluate
    assert lm_experiments.export is lm_experiments.vectors.writing
    assert lm_experiments.cli.evaluate.__spec__.name == "lm_experiments.cli.evaluate"
    from lm_experiments.embed import ElmoEmbedder

    from lm_experiments.run.api import ElmoEmbedder as today

    assert ElmoEmbedder is today
