"""Memory is set by the model, not by the number of steps or the length of the held-out text.

A language-model run of 4x the steps, and an evaluation of 4x the text, must peak at the
same resident memory as the short ones (each measured in its own process). The corpus is
made here: a Zipf-distributed text over 6,000 words, so that the full softmax's (B x T, V)
tensors are the multi-megabyte blocks whose heap a per-step leftover used to fragment."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT

from lm_experiments.callbacks.history import BoundedHistory

MEASURE = """
import json, resource, sys
from lm_experiments.cli.evaluate import main as lm_eval
from lm_experiments.run.api import train
if sys.argv[1] == "train":
    train(sys.argv[3:], output_dir=sys.argv[2])
else:
    assert lm_eval(["--json", sys.argv[2], *sys.argv[3:]]) == 0
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def zipf_text(path, tokens: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    probs = 1.0 / np.arange(1, 10_001)
    words = rng.choice(10_000, size=tokens, p=probs / probs.sum())
    lines = [" ".join(f"w{w}" for w in words[i: i + 20]) for i in range(0, tokens, 20)]
    path.write_text("\n".join(lines) + "\n")


def peak_mb(*args: str) -> float:
    """Peak resident memory (MB) of one training or evaluation in a fresh process."""
    result = subprocess.run([sys.executable, "-c", MEASURE, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return float(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_4x_longer_training_and_a_4x_longer_evaluation_peak_at_the_same_memory(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    zipf_text(corpus / "train.txt", 160_000, seed=0)
    zipf_text(corpus / "valid.txt", 4_000, seed=1)
    zipf_text(corpus / "test.txt", 4_000, seed=2)
    common = ["model=rnn", "data=file", f"data.path={corpus}", "data.tokenizer=whitespace", "data.min_count=1",
              "trainer.max_epochs=1",
              "+trainer.limit_val_batches=2", "+trainer.limit_test_batches=2", "callbacks.progress_bar=null",
              f"paths.cache_dir={tmp_path / 'cache'}"]
    short = peak_mb("train", str(tmp_path / "short"), *common, "+trainer.limit_train_batches=50")
    long = peak_mb("train", str(tmp_path / "long"), *common, "+trainer.limit_train_batches=200")
    assert long < short * 1.08 + 25, f"training: {short:.0f} MB at 50 steps, {long:.0f} MB at 200"

    scored = []
    for name, tokens in (("held_out", 25_000), ("held_out_4x", 100_000)):
        folder = tmp_path / name
        folder.mkdir()
        for split in ("train", "valid"):
            zipf_text(folder / f"{split}.txt", 2_000, seed=5)
        zipf_text(folder / "test.txt", tokens, seed=3)
        scored.append(peak_mb("evaluate", str(tmp_path / "short"), "data=file", f"data.path={folder}",
                              "data.tokenizer=whitespace"))
    assert scored[1] < scored[0] * 1.08 + 25, f"evaluation: {scored[0]:.0f} MB, then {scored[1]:.0f} MB on 4x"


def test_a_bounded_history_keeps_evenly_spaced_points_in_one_buffer():
    history = BoundedHistory(size=8)
    history.add(0, torch.tensor(0.0))
    buffer = history.values.data_ptr()
    for step in range(1, 1000):
        history.add(step, torch.tensor(float(step)))
    steps, values = history.arrays()
    assert history.values.data_ptr() == buffer, "allocated once"
    assert 4 <= len(steps) <= 8 and steps[0] == 0
    assert len(set(np.diff(steps))) == 1, "evenly spaced"
    np.testing.assert_array_equal(values, steps.astype(np.float32))
    assert steps[-1] >= 1000 - (steps[1] - steps[0]), "reaches the end of the run"


def test_a_bounded_history_of_few_steps_keeps_them_all():
    history = BoundedHistory(size=8)
    for step in range(5):
        history.add(step, torch.tensor(step * 2.0))
    steps, values = history.arrays()
    assert steps.tolist() == [0, 1, 2, 3, 4] and values.tolist() == [0, 2, 4, 6, 8]
    assert json.dumps(len(BoundedHistory())) == "0"


def test_malloc_is_tuned_on_glibc_and_the_users_own_settings_win(monkeypatch):
    import platform

    from lm_experiments.run.allocator import tune_malloc

    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert tune_malloc() is glibc
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert tune_malloc() is False, "a threshold the user set is left as it is"
