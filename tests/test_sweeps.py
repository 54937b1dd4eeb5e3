"""Sweeps: Hydra multirun, W&B sweep files, the Optuna sweeper, the SLURM launcher, and comparing the runs."""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import CONF, ROOT
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args
from wandb_records import read_run

from lm_experiments.cli import compare
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.run.assembly import instantiate_task

SWEEPS = sorted((ROOT / "sweeps").glob("*.yaml"))


def run_train(tmp_path, *args, env_extra=None, timeout=600):
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"), WANDB_MODE="offline", WANDB_SILENT="true",
               **(env_extra or {}))
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True,
                            timeout=timeout, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def compose_with_hydra(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True)


# --- Hydra multirun + compare ------------------------------------------------------------------------


@pytest.mark.slow
def test_multirun_grid_gets_one_folder_per_run_one_wandb_group_and_compares(tmp_path):
    sweep = tmp_path / "sweep"
    run_train(tmp_path, "-m", "data.window=2,5", "sampler.negative=2,3", "trainer.max_epochs=1",
              "model.vector_size=8", "callbacks.progress_bar=null", "callbacks.embedding_map=null", "logger=wandb",
              f"hydra.sweep.dir={sweep}")
    runs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert runs == ["0", "1", "2", "3"]
    overrides = [yaml.safe_load((sweep / r / ".hydra" / "overrides.yaml").read_text()) for r in runs]
    assert overrides == [[f"data.window={w}", f"sampler.negative={n}", *overrides[0][2:]]
                         for w, n in itertools.product((2, 5), (2, 3))]
    groups = {read_run(next((sweep / r / "wandb").glob("offline-run-*/run-*.wandb")))["run"].run_group for r in runs}
    assert groups == {"train-sweep"}, "the runs of one multirun share a W&B group"

    table = subprocess.run([sys.executable, "-m", "lm_experiments.cli.compare", str(sweep), "--sort", "val/ws353",
                            "--plot", "val/ws353", "--x", "data.window"], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if line.startswith("│")]
    ws353 = {r: json.loads((sweep / r / "metrics.json").read_text())["val/ws353"] for r in runs}
    best_first = sorted(runs, key=lambda r: -ws353[r])
    assert [line.split("│")[1].strip() for line in lines] == best_first
    for line in lines:
        cells = [c.strip() for c in line.split("│")[1:-1]]
        run = cells[0]
        assert cells[1:3] == [f"{2 if int(run) < 2 else 5}", f"{2 + int(run) % 2}"]   # data.window, sampler.negative
        assert cells[3] == f"{ws353[run]:.4f}"
    assert (sweep / "compare_val_ws353_vs_data.window.png").stat().st_size > 1000


def write_run(folder, overrides: list[str], metrics: dict):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_compare_sorts_perplexity_up_and_accuracy_down_and_shows_only_what_varies(tmp_path):
    write_run(tmp_path / "0", ["model=lstm", "model.hidden_dim=200"], {"val/ppl": 120.0, "val/analogy": 0.1})
    write_run(tmp_path / "1", ["model=lstm", "model.hidden_dim=650"], {"val/ppl": 95.5, "val/analogy": 0.3})
    write_run(tmp_path / "10", ["model=lstm", "model.hidden_dim=400"], {"val/ppl": float("nan")})
    runs = compare.find_runs([str(tmp_path)])
    assert [r.name for r in runs] == ["0", "1", "10"]                              # 10 after 1, numerically
    assert compare.varying_settings(runs) == ["model.hidden_dim"]
    assert [r.name for r in compare.sort_runs(runs, "val/ppl")] == ["1", "0", "10"]   # lowest first, nan last
    assert [r.name for r in compare.sort_runs(runs, "val/analogy")] == ["1", "0", "10"]  # highest first
    assert [r.name for r in compare.sort_runs(runs, "val/ppl", ascending=False)] == ["0", "1", "10"]
    header, rows = compare.comparison_rows(compare.sort_runs(runs, "val/ppl"), ["val/ppl"])
    assert header == ["run", "model.hidden_dim", "val/ppl"]
    assert rows == [["1", "650", "95.5000"], ["0", "200", "120.0000"], ["10", "400", "-"]]


def test_compare_aggregates_folds_into_mean_and_sample_std(tmp_path, capsys):
    accuracies = {"rand": [0.70, 0.74, 0.78], "static": [0.80, 0.81, 0.82]}
    for job, (mode, fold) in enumerate((m, f) for m in accuracies for f in range(3)):
        write_run(tmp_path / str(job), ["model=textcnn", f"model.embedding={mode}", f"data.fold={fold}"],
                  {"test/acc": accuracies[mode][fold], "val/acc_best": 0.5})
    groups = compare.aggregate(compare.find_runs([str(tmp_path)]), "data.fold")
    assert [(g.settings, g.size) for g in groups] == [({"model.embedding": "rand"}, 3),
                                                       ({"model.embedding": "static"}, 3)]
    assert groups[0].mean("test/acc") == pytest.approx(np.mean(accuracies["rand"]))
    assert groups[0].std("test/acc") == pytest.approx(np.std(accuracies["rand"], ddof=1))
    header, rows = compare.aggregate_rows(groups, ["test/acc"], "test/acc", None)
    assert header == ["model.embedding", "runs", "test/acc"]
    assert rows == [["static", "3", "0.8100 ± 0.0100"], ["rand", "3", "0.7400 ± 0.0400"]]  # best first
    assert compare.main([str(tmp_path), "--aggregate", "data.fold"]) == 0
    assert "6 runs in 2 groups over data.fold" in capsys.readouterr().out
    assert compare.main([str(tmp_path), "--aggregate", "seed"]) == 2


def test_compare_without_hydra_folders_uses_the_config_values_that_differ(tmp_path):
    for name, window in (("a", 2), ("b", 10)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.yaml").write_text(yaml.safe_dump(
            {"data": {"window": window, "min_count": 5}, "callbacks": {"dirpath": str(folder)}}))
        (folder / "metrics.json").write_text(json.dumps({"val/analogy": window / 100}))
    runs = compare.find_runs([str(tmp_path / "a"), str(tmp_path / "b")])
    assert compare.varying_settings(runs) == ["data.window"]                 # not the run's own folder
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b"), "--plot", "val/analogy", "--x", "data.window",
                         "--out", str(tmp_path / "plot.png")]) == 0
    assert (tmp_path / "plot.png").is_file()


@pytest.mark.parametrize("args, message", [
    ([], "no finished run under"),
    (["--sort", "val/nope"], "no run has the metric 'val/nope'"),
    (["--plot", "val/ppl"], "--plot METRIC and --x KEY go together"),
    (["--plot", "val/ppl", "--x", "data.nope"], "no run sets 'data.nope'"),
])
def test_compare_bad_input_is_one_message_and_exit_2(tmp_path, capsys, args, message):
    folder = tmp_path / "runs"
    folder.mkdir()
    if args:
        write_run(folder / "0", ["data.window=2"], {"val/ppl": 3.0})
        write_run(folder / "1", ["data.window=5"], {"val/ppl": 2.0})
    assert compare.main([str(folder), *args]) == 2
    assert message in capsys.readouterr().err


# --- W&B sweep definitions ---------------------------------------------------------------------------


TINY_VOCAB = Vocabulary(["<unk>", "<eos>", "a", "b", "c"], np.array([0, 1, 5, 4, 3]))


def sweep_points(parameters: dict) -> list[dict]:
    """Every grid point; for distributions their two ends."""
    axes = {}
    for name, spec in parameters.items():
        axes[name] = spec["values"] if "values" in spec else [spec["min"], spec["max"]]
    return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]


@pytest.mark.slow
@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_wandb_sweep_commands_compose_into_the_swept_config(path):
    sweep = yaml.safe_load(path.read_text())
    assert sweep["program"] == "train.py" and (ROOT / sweep["program"]).is_file()
    command = sweep["command"]
    assert command[:3] == ["${env}", "${interpreter}", "${program}"] and command[-1] == "${args_no_hyphens}"
    fixed = command[3:-1]
    for point in sweep_points(sweep["parameters"]):
        agent_args = create_sweep_command_args({"args": {k: {"value": v} for k, v in point.items()}})
        cfg = compose_with_hydra(fixed + agent_args["args_no_hyphens"])
        for key, value in point.items():
            assert OmegaConf.select(cfg, key) == value, (path.name, key)
        optimized = cfg.optimized_metric or instantiate_task(cfg, TINY_VOCAB).optimized_metric  # null: the task's
        assert sweep["metric"]["name"] in (optimized, "train/words_per_sec_mean")
        assert "wandb" in cfg.logger


# --- Optuna sweeper and SLURM launcher ---------------------------------------------------------------


def test_optuna_experiment_composes_with_its_search_space():
    cfg = compose_with_hydra(["experiment=lstm_optuna"])
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    assert sweeper.direction == "minimize" and cfg.optimized_metric == "val/ppl"
    assert set(sweeper.params) == {"model.num_layers", "model.hidden_dim", "model.dropout", "optimizer.lr"}


@pytest.mark.slow
def test_optuna_sweep_runs_trials_and_reports_the_best(tmp_path, lm_corpus):
    sweep = tmp_path / "optuna"
    run_train(tmp_path, "experiment=lstm_optuna", "data=file", f"data.path={lm_corpus}", "data.min_count=1",
              "hydra.sweeper.n_trials=2", "model.hidden_dim=choice(8,16)", "model.num_layers=1",
              "model.embedding_dim=8", "trainer.max_epochs=1", "data.batch_size=8", "data.bptt=8", "logger=none",
              "callbacks.progress_bar=null", "callbacks.text_samples=null", f"hydra.sweep.dir={sweep}")
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    trials = {r: json.loads((sweep / r / "metrics.json").read_text())["val/ppl"] for r in ("0", "1")}
    assert results["best_value"] == pytest.approx(min(trials.values()))
    assert results["best_params"]["model.hidden_dim"] in (8, 16)


@pytest.mark.parametrize("launcher", ["slurm", "submitit_slurm"])
def test_slurm_launcher_composes(launcher):
    cfg = compose_with_hydra([f"hydra/launcher={launcher}", "trainer=ddp", "trainer.devices=4"])
    assert cfg.hydra.launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert cfg.hydra.launcher.submitit_folder.endswith(".submitit/%j")
    if launcher == "slurm":
        assert cfg.hydra.launcher.timeout_min == 240 and cfg.hydra.launcher.tasks_per_node == 1


@pytest.mark.parametrize("trainer, strategy", [("ddp", "ddp"), ("ddp_cpu", "ddp"), ("fsdp", None)])
def test_strategy_trainers_compose(trainer, strategy):
    cfg = compose_with_hydra([f"trainer={trainer}", "trainer.devices=4"])
    assert cfg.trainer.devices == 4 and cfg.trainer.use_distributed_sampler is False
    if strategy:
        assert cfg.trainer.strategy == strategy
    else:
        assert cfg.trainer.strategy._target_ == "lightning.pytorch.strategies.FSDPStrategy"
