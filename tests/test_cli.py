"""`python train.py` as a user types it: help, exit codes, messages, nothing half-written."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def run_train(*args, tmp_path, timeout=300):
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)


@pytest.mark.slow
def test_help_lists_the_config_groups(tmp_path):
    result = run_train("--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for group in ("data:", "model:", "sampler:", "optimizer:", "trainer:", "logger:", "callbacks:"):
        assert group in result.stdout
    assert "skipgram" in result.stdout and "text8" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("group, option", [("model", "skipgram"), ("data", "text8")])
def test_unknown_option_names(tmp_path, group, option):
    result = run_train(f"{group}=nope", tmp_path=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{group}=nope is none of the {group} options: " in result.stderr and option in result.stderr


@pytest.mark.parametrize("args, message", [
    (["data.window=0"], "data.window must be a positive integer, got 0"),
    (["data=text8", "data.corpus.url=http://127.0.0.1:9/text8.zip"], "pass data.path="),
    (["data=file", "data.path=missing.txt"], "does not exist"),
])
def test_bad_input_is_one_message_and_exit_2_and_no_run_folder(tmp_path, args, message):
    result = run_train(*args, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_resuming_from_a_checkpoint_of_another_vocabulary(tmp_path):
    first = run_train("trainer.max_epochs=1", "trainer.limit_train_batches=3", "callbacks.embedding_eval=null",
                      "callbacks.progress_bar=null", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    moved = tmp_path / "first.ckpt"
    checkpoint.rename(moved)
    shutil.rmtree(tmp_path / "run")
    (tmp_path / "keep.txt").write_text("a user's file beside the run")
    result = run_train("data.min_count=3", f"ckpt_path={moved}", "callbacks.embedding_eval=null", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "trained with another vocabulary" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
    assert (tmp_path / "keep.txt").exists()


def run_in_default_folder(*args, tmp_path):
    """`python train.py` with Hydra's own run-folder names (no hydra.run.dir), as the README's first command."""
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args, f"paths.log_dir={tmp_path / 'logs'}",
                           "trainer.max_epochs=1", "trainer.limit_train_batches=3", "callbacks.embedding_eval=null",
                           "callbacks.progress_bar=null"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


FOLDER_NAME = r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-\d{6}_[0-9a-f]{4}"


def test_a_run_in_the_default_folder_names_it_itself(tmp_path):
    # the folder's name ends in ${run_suffix:}, which must resolve when the command line is checked, before any
    # module of the run is imported
    result = run_in_default_folder(tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    runs = list((tmp_path / "logs").glob("*/runs/*"))
    assert len(runs) == 1 and re.fullmatch(FOLDER_NAME, runs[0].name), runs
    assert (runs[0] / "metrics.json").is_file()


@pytest.mark.slow
def test_a_sweep_in_the_default_folder_names_it_itself(tmp_path):
    result = run_in_default_folder("-m", "data.window=2,3", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    sweeps = list((tmp_path / "logs").glob("*/multiruns/*"))
    assert len(sweeps) == 1 and re.fullmatch(FOLDER_NAME, sweeps[0].name), sweeps
    assert sorted(member.name for member in sweeps[0].iterdir() if member.is_dir()) == ["0", "1"]
