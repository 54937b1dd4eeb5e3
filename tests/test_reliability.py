"""Faults a careful user runs into: divergence, held-out text for one file, bad sizes, checkpoint faults, a
damaged or half-built cache."""

import subprocess
import sys

import pytest
from conftest import ROOT

from lm_experiments.callbacks.divergence import TrainingDiverged
from lm_experiments.errors import user_error_in
from lm_experiments.run.claim import RunClaim
from lm_experiments.run.training import train


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


@pytest.mark.slow
def test_train_py_exits_2_with_one_line_on_divergence(tmp_path):
    result = subprocess.run([sys.executable, "train.py", "optimizer.lr=1e6", "trainer.max_epochs=1",
                             "callbacks.progress_bar=null", "logger=none", f"hydra.run.dir={tmp_path / 'run'}",
                             f"paths.cache_dir={tmp_path / 'cache'}"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: training diverged: train/loss is nan" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "vectors.bin").exists()


@pytest.mark.parametrize("overrides, message", [
    (["sampler=negative", "sampler.negative=100000"], "sampler.negative=100000 noise words per example is more "
                                                      "than the"),
    (["sampler=nce", "sampler.negative=100000"], "sampler.negative=100000 noise words per example is more than"),
    (["sampler=negative", "sampler.noise_sharing=step", "sampler.noise_pool=1000000"],
     "sampler.noise_pool=1000000 noise words per step is more than the"),
    (["model=lstm", "sampler=sampled", "sampler.num_sampled=100000"],
     "sampler.num_sampled=100000 sampled words per batch is more than the"),
])
def test_more_noise_words_than_the_vocabulary_is_refused_before_training(make_cfg, tmp_path, overrides, message):
    with pytest.raises(Exception) as error:
        train(make_cfg(*[o for o in overrides if "model=" in o] or ["model=skipgram"],
                       *[o for o in overrides if "model=" not in o], fast="model=lstm" not in overrides))
    cause = user_error_in(error.value)
    assert cause is not None and message in str(cause), str(error.value)[-300:]
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("fault, message", [
    ("last_in_a_fresh_folder", "has no checkpoints/last.ckpt"),
    ("missing_file", "is not a file"),
    ("not_a_checkpoint", "is not a PyTorch checkpoint"),
    ("truncated", "is not a PyTorch checkpoint, or it was cut short"),
    ("another_model", "The checkpoint is of a SkipGram run and this run trains CBOW"),
    ("another_size", "The checkpoint's model.embedder.embedding.weight is ("),
])
def test_checkpoint_faults_are_one_line_and_leave_no_run_folder(make_cfg, tmp_path, skipgram_run, fault, message):
    ckpt, extra = "last", []
    if fault == "missing_file":
        ckpt = str(tmp_path / "nowhere.ckpt")
    elif fault == "not_a_checkpoint":
        (tmp_path / "notes.ckpt").write_text("not a checkpoint")
        ckpt = str(tmp_path / "notes.ckpt")
    elif fault != "last_in_a_fresh_folder":
        written = skipgram_run / "checkpoints" / "last.ckpt"  # a skip-gram of dim 16, as make_cfg's runs
        ckpt = str(written)
        if fault == "truncated":
            data = written.read_bytes()
            (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 2])
            ckpt = str(tmp_path / "cut.ckpt")
        extra = {"another_model": ["model=cbow", "model.vector_size=16"],
                 "another_size": ["model=skipgram", "model.vector_size=32"]}.get(fault, [])
    with RunClaim(tmp_path / "run") as claim, pytest.raises(Exception) as error:  # as train.py runs it
        try:
            train(make_cfg(*extra, f"ckpt_path={ckpt}", "callbacks.embedding_eval=null"))
        finally:
            claim.cleanup()  # what train.py does on a failure
    cause = user_error_in(error.value)
    assert cause is not None and message in str(cause), error.value
    assert not (tmp_path / "run").exists()


def test_resuming_a_checkpoint_of_the_same_run_still_works(make_cfg, skipgram_run):
    written = skipgram_run / "checkpoints" / "last.ckpt"
    metrics = train(make_cfg("model=skipgram", "model.vector_size=16", f"ckpt_path={written}",
                             "trainer.max_epochs=2", "trainer.limit_train_batches=2", "callbacks.embedding_eval=null",
                             "callbacks.embedding_map=null"))
    assert "time/total_sec" in metrics


@pytest.mark.parametrize("override", ["trainer.max_epochs=0", "trainer.limit_train_batches=0"])
def test_a_run_that_trains_on_no_batch_says_so_and_exports_nothing(make_cfg, tmp_path, override):
    with pytest.raises(Exception) as error:
        train(make_cfg("model=skipgram", override))
    cause = user_error_in(error.value)
    assert cause is not None and "trained on no batch" in str(cause)
    assert not (tmp_path / "run" / "vectors.bin").exists()


@pytest.mark.parametrize("value", [-1, True, 1.5])
def test_non_negative_sizes_refuse_negatives_bools_and_fractions(value):
    import numpy as np

    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.errors import UserError
    from lm_experiments.models.fasttext import SubwordBag
    from lm_experiments.updaters.fused import FusedCPU

    with pytest.raises(UserError, match=r"task.updater.hot_rows must be an integer >= 0 \(0: no per-thread copies\)"):
        FusedCPU(hot_rows=value)
    vocab = Vocabulary(["<unk>", "<eos>", "word"], np.array([0, 0, 5]))
    with pytest.raises(UserError, match=r"model.bucket must be an integer >= 0 \(0: no n-grams\)"):
        SubwordBag(vocab, 4, bucket=value)


# --- the cache: damage is detected, reported in one line and rebuilt ---------------------------------------

def _zero_middle(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {
    "tokens/train.npy zeroed in the middle": ("tokens", "train.npy", _zero_middle),
    "tokens/train.npy cut short": ("tokens", "train.npy", _truncate),
    "tokens/counts.npy missing": ("tokens", "counts.npy", lambda p: p.unlink()),
    "tokens/words.txt emptied": ("tokens", "words.txt", lambda p: p.write_text("")),
    "encoding/train.npy zeroed in the middle": ("vocab", "train.npy", _zero_middle),
    "encoding/vocab.tsv cut short": ("vocab", "vocab.tsv", _truncate),
    "encoding/test.npy missing": ("vocab", "test.npy", lambda p: p.unlink()),
    "manifest missing": ("vocab", "manifest.json", lambda p: p.unlink()),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_cache_entry_is_reported_and_rebuilt(tmp_path, caplog, case):
    import numpy as np

    from lm_experiments.data.corpora import Lee
    from lm_experiments.data.stream import load_encoded

    first = load_encoded(Lee(), tmp_path / "cache", tokenizer="words", lowercase=True, min_count=2)
    expected = {split: np.array(ids) for split, ids in first.splits.items()}
    level, name, damage = DAMAGE[case]
    folder = first.cache_dir if level == "vocab" else first.cache_dir.parent
    damage(folder / name)
    with caplog.at_level("WARNING"):
        again = load_encoded(Lee(), tmp_path / "cache", tokenizer="words", lowercase=True, min_count=2)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "is damaged" in warnings[0] and "rebuilding it" in warnings[0], warnings
    assert name in warnings[0] or "manifest" in warnings[0]
    assert again.vocab.itos == first.vocab.itos
    for split, ids in expected.items():
        assert np.array_equal(again.splits[split], ids)


def test_damaged_cooccurrence_counts_are_rebuilt(tmp_path, caplog):
    import numpy as np
    import torch

    from lm_experiments.data.cooccurrence import load_cooccurrences
    from lm_experiments.data.vocab import Vocabulary

    vocab = Vocabulary(["<unk>", "<eos>", "a", "b", "c"], np.array([0, 2, 5, 4, 3]))
    stream = np.array([2, 3, 4, 1, 2, 4, 3, 1, 3, 2], dtype=np.int32)
    first = load_cooccurrences(stream, vocab, tmp_path, 2, "harmonic").dense()  # (read before the damage)
    _truncate(tmp_path / "cooccurrence-w2-harmonic" / "values")
    with caplog.at_level("WARNING"):
        again = load_cooccurrences(stream, vocab, tmp_path, 2, "harmonic")
    assert any("co-occurrence counts (window 2, harmonic)" in r.getMessage() and "values is" in r.getMessage()
               for r in caplog.records)
    assert torch.equal(first, again.dense())


def test_a_run_killed_while_tokenizing_leaves_a_folder_the_next_run_removes(tmp_path):
    """The dead builder's temporary folder goes; a live builder's (a concurrent run) stays."""
    from lm_experiments.data.cache_entry import temporary_prefix
    from lm_experiments.data.corpora import Lee
    from lm_experiments.data.stream import load_encoded

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tokens = tmp_path / "cache" / "tokens"
    tokens.mkdir(parents=True)
    prefix = temporary_prefix("lee-0123456789abcdef")                     # ".<name>.<host>.<this pid>."
    left = tokens / (prefix.rsplit(".", 2)[0] + f".{dead.stdout.strip()}.abc123")
    live = tokens / (prefix + "xyz789")  # this process's: still building
    for folder in (left, live):
        folder.mkdir()
        (folder / "train.npy").write_bytes(b"partial")
    load_encoded(Lee(), tmp_path / "cache", tokenizer="words", lowercase=True, min_count=2)
    assert not left.exists() and live.exists()


def test_two_runs_building_the_same_cache_entry_at_once_both_succeed(tmp_path):
    script = ("import sys; from lm_experiments.data.corpora import Lee; from lm_experiments.data.stream import "
              "load_encoded; e = load_encoded(Lee(), sys.argv[1], tokenizer='words', lowercase=True, min_count=2); "
              "print(len(e.vocab), int(e.splits['train'].sum()))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "cache")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err[-500:] for _, err in outputs]
    assert outputs[0][0] == outputs[1][0]
    entries = [p for p in (tmp_path / "cache" / "tokens").iterdir()]
    assert len(entries) == 1 and not entries[0].name.startswith(".")


@pytest.mark.slow
def test_a_run_failing_with_an_error_not_ours_leaves_no_stub_folder(tmp_path):
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "train.py", "trainer.precision=foo", "logger=none",
                             f"hydra.run.dir={run}", f"paths.cache_dir={tmp_path / 'cache'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "precision" in result.stderr
    assert not run.exists(), sorted(p.name for p in run.iterdir())


# --- resuming: the same numbers as a run that was never stopped --------------------------------------------

def _killed_and_resumed(make, overrides: list[str], kill_after: int):
    """An uninterrupted run, and a run killed mid-epoch then resumed (`ckpt_path=last`) in its own folder."""
    from interrupt import RunKilled

    whole = train(make(*overrides, run="whole"))
    with pytest.raises(RunKilled):
        train(make(*overrides, f"+callbacks.kill={{_target_: interrupt.KillAfter, batches: {kill_after}}}",
                   run="resumed"))
    resumed = train(make(*overrides, "ckpt_path=last", run="resumed"))
    return whole, resumed


def test_a_killed_and_resumed_skipgram_run_ends_as_the_uninterrupted_one(make_cfg, tmp_path):
    whole, resumed = _killed_and_resumed(make_cfg, ["trainer.max_epochs=3", "callbacks.embedding_map=null",
                                                    "task.updater.threads=1"], 45)  # Hogwild threads race
    assert (tmp_path / "whole" / "vectors.bin").read_bytes() == (tmp_path / "resumed" / "vectors.bin").read_bytes()
    assert resumed["val/analogy"] == whole["val/analogy"] and resumed["train/loss"] == whole["train/loss"]
    # the resumed run's metrics.csv holds every epoch, the first (trained before the kill) included
    import csv

    rows = list(csv.DictReader((tmp_path / "resumed" / "metrics.csv").open()))
    assert {r["epoch"] for r in rows if r.get("train/loss_epoch")} == {"0", "1", "2"}
    # the original config stays; the resume's is beside it
    assert "kill" in (tmp_path / "resumed" / "config.yaml").read_text()
    assert "ckpt_path: last" in (tmp_path / "resumed" / "config.resume-1.yaml").read_text()


def test_a_killed_and_resumed_lstm_run_ends_as_the_uninterrupted_one(make_lm_cfg, tmp_path):
    whole, resumed = _killed_and_resumed(make_lm_cfg, ["lstm", "trainer.max_epochs=3", "logger=csv",
                                                       "trainer.limit_train_batches=20"], 30)
    for metric in ("val/ppl", "test/ppl", "train/loss"):
        assert resumed[metric] == whole[metric], metric
