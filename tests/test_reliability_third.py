"""Reliability, third round: a finished run is never overwritten, and every knob of the newest surfaces fails in
one line (a test per case of the third reliability issue, each failing before its fix)."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

FAST_CLI = ["trainer.max_epochs=1", "trainer.limit_train_batches=5", "callbacks.progress_bar=null",
            "model.vector_size=16", "task.updater.threads=1", "callbacks.embedding_map=null",
            "callbacks.embedding_eval=null", "logger=none"]


def cli(*args, cache: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "train.py", *map(str, args), f"paths.cache_dir={cache}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha1(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != ".lock"}


# --- 1: a finished run is never overwritten ---------------------------------------------------------------

@pytest.mark.slow
def test_a_second_run_into_a_finished_runs_folder_is_refused_and_a_resume_is_not(tmp_path, shared_cache):
    folder = tmp_path / "run"
    assert cli(*FAST_CLI, f"hydra.run.dir={folder}", cache=shared_cache).returncode == 0
    before = snapshot(folder)
    again = cli(*FAST_CLI, f"hydra.run.dir={folder}", "seed=7", cache=shared_cache)
    assert again.returncode == 2
    assert "holds an earlier run (checkpoints, config.yaml" in one_error_line(again.stderr)
    assert "ckpt_path=last" in again.stderr
    assert snapshot(folder) == before, "nothing of the first run changed"
    resumed = cli(*FAST_CLI[1:], "trainer.max_epochs=2", f"hydra.run.dir={folder}", "ckpt_path=last",
                  cache=shared_cache)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (folder / "config.resume-1.yaml").is_file()


# --- 3: a diverging count model stops in one line ---------------------------------------------------------

@pytest.mark.parametrize("updater", ["auto", "fit"])
def test_glove_diverging_in_the_kernel_or_the_reference_stops_in_one_line(make_cfg, updater):
    from lm_experiments.errors import user_error_in
    from lm_experiments.run.training import train

    with pytest.raises(Exception) as error:
        train(make_cfg("model=glove", "model.eta=5000", f"task/updater={updater}", "callbacks.embedding_map=null"))
    cause = user_error_in(error.value)
    assert cause is not None, error.value
    assert "training diverged: train/loss is nan" in str(cause) and "lower model.eta (now 5000" in str(cause).lower()


# --- 5, 13: Kneser-Ney's fixed discounts and the other n-gram numbers --------------------------------------

@pytest.mark.parametrize(("options", "says"), [
    ({"discounts": [-1, -1, -1]}, "D1 must be above 0 and below 1"),
    ({"discounts": [3, 3, 3]}, "D1 must be above 0 and below 1"),
    ({"discounts": [0.5, 2.0, 1.5]}, "D2 must be above 0 and below 2"),
    ({"discounts": [0.5, 1.0]}, "[D1, D2, D3+] or one such triple per order (3)"),
    ({"discounts": [[0.5, 1, 1.5]] * 2}, "one such triple per order (3)"),
    ({"smoothing": "add_k", "k": 0}, "model.k must be a positive number"),
    ({"smoothing": "stupid_backoff", "alpha": 2}, "model.alpha is stupid backoff's factor"),
])
def test_an_ngram_models_numbers_are_refused_where_the_run_starts(options, says):
    from test_ngram import vocab_of

    from lm_experiments.errors import UserError
    from lm_experiments.models.ngram import NGramModel

    with pytest.raises(UserError, match=re.escape(says)):
        NGramModel(vocab_of(["a", "b", "c"]), order=3, **options)


def test_discounts_within_their_counts_are_taken_as_given():
    from test_ngram import vocab_of

    from lm_experiments.models.ngram import NGramModel

    model = NGramModel(vocab_of(["a", "b", "c"]), order=2, discounts=[[0.5, 1.0, 1.5], [0.7, 1.2, 1.8]])
    assert model.fixed_discounts == [[0.5, 1.0, 1.5], [0.7, 1.2, 1.8]]


# --- 18: a huge noise exponent is the most frequent word, not silently uniform ------------------------------

def test_an_extreme_noise_exponent_concentrates_the_noise_and_a_nan_one_is_refused():
    import numpy as np

    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.errors import UserError
    from lm_experiments.objectives.noise import UnigramNoise

    vocab = Vocabulary(["<unk>", "<eos>", "the", "of", "cat"], np.array([0, 30, 1000, 900, 2]))
    for exponent, expected in ((1000, [0, 0, 1, 0, 0]), (-1000, [0, 0, 0, 0, 1]), (0, [0, 0, 1 / 3, 1 / 3, 1 / 3])):
        probs = UnigramNoise(vocab, exponent).probs.numpy()
        np.testing.assert_allclose(probs, expected, atol=1e-12)
        assert np.isfinite(UnigramNoise(vocab, exponent, include_specials=True).probs.numpy()).all()
    np.testing.assert_allclose(UnigramNoise(vocab, 0.75).probs.numpy()[2:],
                               np.array([1000, 900, 2]) ** 0.75 / (np.array([1000, 900, 2]) ** 0.75).sum())
    for bad in (float("nan"), float("inf"), "x"):
        with pytest.raises(UserError, match="sampler.ns_exponent must be a finite number"):
            UnigramNoise(vocab, bad)


# --- 9, 19: errors raised while the config is built, and the knobs that were silently taken ------------------

@pytest.mark.parametrize(("overrides", "says"), [
    (["callbacks.model_checkpoint.every_n_epochs=-1"], "callbacks.model_checkpoint: Invalid value for every_n_epochs"),
    (["callbacks.last_checkpoint.every_n_epochs=abc"], "callbacks.last_checkpoint.every_n_epochs must be a positive"),
    (["callbacks.last_checkpoint.every_n_epochs=0"], "callbacks.last_checkpoint.every_n_epochs must be a positive"),
    (["model=svd", "model.niter=abc"], "model.niter must be an integer >= 0"),
    (["model=svd", "model.niter=-1"], "model.niter must be an integer >= 0"),
    (["model=svd", "model.eigenvalue_power=nan"], "model.eigenvalue_power must be a finite number"),
    (["trainer.accelerator=tpu0"], "trainer: You selected an invalid accelerator name"),
])
def test_a_value_a_target_refuses_while_the_run_is_built_is_one_line_naming_its_key(make_cfg, overrides, says):
    from lm_experiments.errors import UserError, user_error_in
    from lm_experiments.run.training import train

    with pytest.raises(Exception) as error:
        train(make_cfg(*overrides, "callbacks.embedding_map=null"))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and says in str(cause), error.value
    assert "\n" not in str(cause) and "HYDRA_FULL_ERROR" not in str(cause)


# --- 10: every way a corpus file can be unreadable ---------------------------------------------------------

def _corpus_error(make_cfg, *overrides) -> str:
    from lm_experiments.errors import UserError, user_error_in
    from lm_experiments.run.training import train

    with pytest.raises(Exception) as error:
        train(make_cfg("data=file", *overrides))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError), error.value
    return str(cause)


def test_an_unreadable_corpus_file_is_one_line_naming_it_and_what_is_wrong(make_cfg, tmp_path):
    import gzip

    whole = tmp_path / "text.txt.gz"
    with gzip.open(whole, "wt") as handle:
        handle.write(" ".join(f"w{i % 5000}" for i in range(400_000)))
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert f"{cut} is cut short or damaged (EOFError" in _corpus_error(make_cfg, f"data.path={cut}")
    fake = tmp_path / "fake.txt.gz"
    fake.write_text("plain text with a .gz name\n")
    assert f"{fake} is not a gzip file" in _corpus_error(make_cfg, f"data.path={fake}")
    said = _corpus_error(make_cfg, f"data.path={whole}", "data.corpus.encoding=nosuchcodec")
    assert "'nosuchcodec' is not a text encoding Python knows" in said
    assert "/dev/null is not a regular file" in _corpus_error(make_cfg, "data.path=/dev/null")
    assert "does not exist" in _corpus_error(make_cfg, f"data.path={tmp_path / 'missing.txt'}")


# --- 11: what a picture can show is bounded -------------------------------------------------------------------

@pytest.mark.parametrize(("args", "says"), [
    (["--dim", "1"], "--dim 1: the sinusoidal encoding pairs a sine with a cosine"),
    (["--dim", "7"], "--dim 7: the sinusoidal encoding pairs a sine with a cosine"),
    (["--dim", "64", "--length", "100000"], "--length 100000: positions draws 3 to 4,096 positions"),
    (["--dim", "64", "--length", "2"], "--length 2: positions draws 3 to 4,096 positions"),
])
def test_lm_inspect_positions_refuses_what_no_picture_can_show_in_one_line(tmp_path, capsys, args, says):
    from lm_experiments.cli import inspect_run

    assert inspect_run.main(["positions", *args, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err


# --- 12: train() from two threads ------------------------------------------------------------------------------

def test_a_second_train_call_while_one_runs_is_refused_in_one_line(tmp_path, shared_cache, monkeypatch):
    import threading

    from lm_experiments.errors import UserError
    from lm_experiments.run import api

    started, release = threading.Event(), threading.Event()

    def slow_run(cfg):
        started.set()
        release.wait(30)
        return {"val/analogy": 0.0}

    monkeypatch.setattr("lm_experiments.run.training.train", slow_run)
    first = threading.Thread(target=api.train, args=(["trainer.max_epochs=1", f"paths.cache_dir={shared_cache}"],
                                                       tmp_path / "first"))
    first.start()
    assert started.wait(60)
    try:
        with pytest.raises(UserError, match="runs one run at a time in a process"):
            api.train(["trainer.max_epochs=1"], tmp_path / "second")
    finally:
        release.set()
        first.join(60)
    assert not (tmp_path / "second").exists(), "the refused call wrote nothing"
