"""Faults a careful user runs into: divergence, held-out text for one file, bad sizes."""

import subprocess
import sys

import pytest
from conftest import ROOT

from lm_experiments.callbacks.divergence import TrainingDiverged
from lm_experiments.errors import user_error_in
from lm_experiments.run import train


def diverged(error: BaseException) -> TrainingDiverged:
    cause = user_error_in(error)
    assert isinstance(cause, TrainingDiverged), error
    return cause


@pytest.mark.parametrize("updater", ["auto", "autograd"])
def test_a_diverging_embedding_run_stops_and_exports_nothing(make_cfg, tmp_path, updater):
    with pytest.raises(Exception) as error:
        train(make_cfg("model=skipgram", "optimizer.lr=1e6", f"task/updater={updater}", "trainer.max_epochs=3"))
    message = str(diverged(error.value))
    assert "train/loss is nan" in message and "optimizer.lr (now" in message and "epoch 0" in message
    assert not (tmp_path / "run" / "vectors.bin").exists() and not (tmp_path / "run" / "vectors.txt").exists()


def test_a_diverging_language_model_stops_at_its_gradient_or_loss(make_lm_cfg, tmp_path):
    with pytest.raises(Exception) as error:
        train(make_lm_cfg("lstm", "optimizer.lr=1e12", "trainer.gradient_clip_val=null", "trainer.max_epochs=2",
                          "scheduler=constant"))
    message = str(diverged(error.value))
    assert any(f"{name} is" in message for name in ("train/loss", "grad_norm/total", "val/ppl")), message


def test_without_the_guard_the_diverged_run_goes_on(make_cfg, tmp_path):
    """The guard is what stops it: switched off, the same run finishes (with NaN vectors)."""
    metrics = train(make_cfg("model=skipgram", "optimizer.lr=1e6", "callbacks.divergence_guard=null",
                             "callbacks.embedding_map=null"))
    assert "time/total_sec" in metrics


def test_train_py_exits_2_with_one_line_on_divergence(tmp_path):
    result = subprocess.run([sys.executable, "train.py", "optimizer.lr=1e6", "trainer.max_epochs=1",
                             "callbacks.progress_bar=null", "logger=none", f"paths.output_dir={tmp_path / 'run'}",
                             f"paths.cache_dir={tmp_path / 'cache'}"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: training diverged: train/loss is nan" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "vectors.bin").exists()


@pytest.mark.parametrize("sampler", ["negative", "nce"])
def test_more_noise_words_than_the_vocabulary_is_refused_before_training(make_cfg, tmp_path, sampler):
    with pytest.raises(Exception) as error:
        train(make_cfg("model=skipgram", f"sampler={sampler}", "sampler.negative=100000"))
    cause = user_error_in(error.value)
    assert cause is not None and "sampler.negative=100000 noise words per example is more than the" in str(cause)
    assert not (tmp_path / "run" / "checkpoints").exists()
