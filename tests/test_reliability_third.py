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
    (["callbacks.last_checkpoint.max_time_share=0"], "callbacks.last_checkpoint.max_time_share must be in (0, 1]"),
    (["callbacks.model_checkpoint.max_time_share=1.5"], "callbacks.model_checkpoint.max_time_share must be in (0, 1]"),
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


@pytest.mark.parametrize(("overrides", "says"), [
    (["trainer.max_epochs=1.5"], r"trainer.max_epochs counts whole epochs; it must be an integer >= 0 \(-1: no "
                                 r"limit\), got 1.5"),
    (["+trainer.accumulate_grad_batches=0"], r"trainer.accumulate_grad_batches .* integer >= 1, got 0"),
    (["trainer.limit_train_batches=1.5"], r"trainer.limit_train_batches is a fraction .* got 1.5"),
    (["trainer.limit_val_batches=-2"], r"trainer.limit_val_batches is a fraction .* got -2"),
])
def test_the_trainers_counts_are_checked_where_the_run_starts(make_cfg, overrides, says):
    from lm_experiments.errors import UserError
    from lm_experiments.run.training import build

    with pytest.raises(UserError, match=says):
        build(make_cfg(*overrides))


def test_an_option_the_schedule_does_not_take_is_one_line_where_the_run_is_built(make_cfg):
    """A preset's schedule options stay behind when `scheduler=` replaces its schedule (Hydra merges the preset's
    values after the group); the schedule is built only when training starts, as a TypeError."""
    from lm_experiments.errors import UserError
    from lm_experiments.run.training import build

    with pytest.raises(UserError, match=r"scheduler has no option 'warmup_steps'; .* drop them with ~scheduler"):
        build(make_cfg("+scheduler.warmup_steps=300"))


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


# --- 8: the sizes of noise sharing are bounded by what they mean -------------------------------------------

def test_window_draws_and_centers_per_draw_too_large_to_mean_anything_are_refused():
    import numpy as np

    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.errors import UserError
    from lm_experiments.objectives.negative import NegativeSampling

    vocab = Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(500)], np.arange(502)[::-1].copy())
    with pytest.raises(UserError, match="noise words per window is more than the 499 words they are drawn from"):
        NegativeSampling(vocab, 8, window_draws=10**9)
    with pytest.raises(UserError, match="CBOW's shared step takes at most 4,096 consecutive centers"):
        NegativeSampling(vocab, 8, centers_per_draw=10**9)
    NegativeSampling(vocab, 8, window_draws=3, centers_per_draw=64)


# --- 14: the sentence markers are reserved --------------------------------------------------------------------

def test_a_training_text_holding_the_sentence_markers_is_refused_by_the_ngram_model():
    from test_ngram import vocab_of

    from lm_experiments.errors import UserError
    from lm_experiments.models.ngram import NGramModel

    with pytest.raises(UserError, match="holds the literal tokens <s> .* and </s> .*: ARPA files and KenLM reserve"):
        NGramModel(vocab_of(["the", "<s>", "company", "</s>"]), order=3)


# --- 15: vectors files as other tools write them ------------------------------------------------------------

@pytest.mark.parametrize(("content", "words"), [
    (b"\xef\xbb\xbf2 3\nthe 1 2 3\ncat 4 5 6\n", ["the", "cat"]),           # word2vec text after a byte-order mark
    (b"\xef\xbb\xbfthe 1 2 3\ncat 4 5 6\n", ["the", "cat"]),                # GloVe text after a byte-order mark
    (b"2 3\nthe\t1\t2\t3\ncat  4 5  6\n", ["the", "cat"]),                  # tabs and double spaces
])
def test_text_vectors_with_a_bom_tabs_or_double_spaces_are_read_as_text(tmp_path, content, words):
    import numpy as np

    from lm_experiments.vectors import read_keyed_vectors

    (tmp_path / "v.txt").write_bytes(content)
    kv = read_keyed_vectors(tmp_path / "v.txt", "TARGET")
    assert kv.index_to_key == words
    np.testing.assert_array_equal(kv.vectors, [[1, 2, 3], [4, 5, 6]])


def test_a_header_whose_dimension_is_off_says_so_instead_of_reading_bytes(tmp_path):
    from lm_experiments.errors import UserError
    from lm_experiments.vectors import read_keyed_vectors

    (tmp_path / "v.txt").write_text("2 4\nthe 1 2 3\ncat 4 5 6\n")
    with pytest.raises(UserError, match="its header gives 4 dimensions and its first row has 3 values"):
        read_keyed_vectors(tmp_path / "v.txt", "TARGET")


# --- 16: a cache key holds everything its content depends on -------------------------------------------------

def test_the_shuffled_cells_are_cached_per_seed_and_per_memory_budget_that_changes_their_order(tmp_path):
    import numpy as np

    from lm_experiments.data.cooccurrence import count_cooccurrences, load_shuffled_cells
    from lm_experiments.data.vocab import Vocabulary

    vocab = Vocabulary(["<unk>", "<eos>", "a", "b", "c"], np.array([0, 0, 300, 200, 100]))
    rng = np.random.default_rng(2)
    cells = count_cooccurrences(rng.integers(2, 5, 3000), vocab, window=3, weighting="none")
    key = lambda c: np.asarray(c.rows, np.int64) * 5 + c.cols  # noqa: E731
    small = 48 * 3 / 2**30  # 3 cells a bucket, in GB
    first = key(load_shuffled_cells(cells, tmp_path, 3, "none", seed=5, memory=small))
    roomy = key(load_shuffled_cells(cells, tmp_path, 3, "none", seed=5, memory=2.0))
    again = key(load_shuffled_cells(cells, tmp_path, 3, "none", seed=5, memory=small))
    fresh = key(load_shuffled_cells(cells, tmp_path / "fresh", 3, "none", seed=5, memory=2.0))
    assert not np.array_equal(first, roomy), "another budget, another order"
    assert np.array_equal(first, again) and np.array_equal(roomy, fresh), \
        "the same command gives the same order, whichever run built the cache"


# --- 4: a tiny counting budget is refused, and a long spill never holds more than a few files --------------

def test_a_counting_budget_below_what_a_run_needs_is_refused_in_one_line(make_cfg):
    from test_ngram import vocab_of

    from lm_experiments.errors import UserError
    from lm_experiments.models.ngram import NGramModel
    from lm_experiments.run.training import build

    with pytest.raises(UserError, match=r"data.view.memory .* must be at least 0.0156 \(16 MB\), got 1e-06"):
        build(make_cfg("model=glove", "data.view.memory=1e-6"))
    with pytest.raises(UserError, match=r"model.memory .* must be at least 0.0156 \(16 MB\), got 0.001"):
        NGramModel(vocab_of(["a", "b"]), memory=0.001)


def test_sorted_runs_merge_level_by_level_and_hold_at_most_fan_in_files_a_level(tmp_path):
    import numpy as np

    from lm_experiments.data.sorted_runs import SortedRuns

    rng = np.random.default_rng(0)
    runs, written, most_files = SortedRuns(tmp_path, "t", compact_memory=256, fan_in=4), [], 0
    for _ in range(70):
        keys = np.unique(rng.integers(0, 500, rng.integers(1, 40)))
        values = rng.random(len(keys))
        runs.write(keys, values)
        written.append((keys, values))
        most_files = max(most_files, len(list(tmp_path.iterdir())))
    assert most_files <= 2 * 4 * 4, "at most fan_in runs of two files a level (70 runs: levels 0..3)"
    all_keys = np.concatenate([k for k, _ in written])
    all_values = np.concatenate([v for _, v in written])
    expected_keys = np.unique(all_keys)
    expected = np.bincount(np.searchsorted(expected_keys, all_keys), weights=all_values)
    blocks = list(runs.merged(memory_bytes=512))
    keys = np.concatenate([k for k, _ in blocks])
    values = np.concatenate([v for _, v in blocks])
    assert np.array_equal(keys, expected_keys) and np.allclose(values, expected)
    assert len(runs.runs) <= 4
    runs.remove()
    assert not list(tmp_path.iterdir())


def test_counting_cooccurrences_in_a_small_budget_keeps_its_spill_files_few(tmp_path, monkeypatch):
    import numpy as np

    import lm_experiments.data.sorted_runs as sorted_runs
    from lm_experiments.data.cooccurrence import count_cooccurrences
    from lm_experiments.data.vocab import Vocabulary

    words = [f"w{i}" for i in range(300)]
    vocab = Vocabulary(["<unk>", "<eos>", *words], np.array([0, 0, *range(600, 300, -1)]))
    stream = np.random.default_rng(1).integers(2, 302, 20_000)
    most = []
    original = sorted_runs.SortedRuns.write

    def counting_files(self, keys, values):
        original(self, keys, values)
        most.append(len(list(self.folder.glob("overflow-*"))))

    monkeypatch.setattr(sorted_runs.SortedRuns, "write", counting_files)
    (tmp_path / "tiny").mkdir()
    tiny = count_cooccurrences(stream, vocab, window=5, memory=2e-6, folder=tmp_path / "tiny")
    assert len(most) > 300 and max(most) <= 2 * sorted_runs.FAN_IN * 2, (len(most), max(most))
    roomy = count_cooccurrences(stream, vocab, window=5, memory=1.0)
    assert np.array_equal(np.asarray(tiny.rows), roomy.rows) and np.array_equal(np.asarray(tiny.cols), roomy.cols)
    assert np.allclose(np.asarray(tiny.values), roomy.values)


def test_a_shuffle_that_would_need_too_many_buckets_names_the_memory_it_needs():
    from lm_experiments.data.cooccurrence import MAX_SHUFFLE_BUCKETS, shuffle_buckets
    from lm_experiments.errors import UserError

    assert shuffle_buckets(MAX_SHUFFLE_BUCKETS, 48) == (1, MAX_SHUFFLE_BUCKETS)
    with pytest.raises(UserError, match=r"Shuffling 1,000,000,000 co-occurrence cells .* would take 1,431 "
                                        r"buckets on disk; give data.view.memory at least 0.044"):
        shuffle_buckets(10**9, 2**25)


# --- 6: an lmplz that exits 0 without a model ---------------------------------------------------------------

@pytest.mark.parametrize(("script", "says"), [
    ("exit 0", r"exited 0 but wrote no ARPA file \(.*lmplz.arpa does not exist\)"),
    ("echo 'this is not a model' > \"$arpa\"", r"exited 0 but its output .*lmplz.arpa is not an ARPA file "
                                                 r"\(it begins b'this is not a model"),
    ("printf '\\\\data\\\\\\nngram 1=zz\\n' > \"$arpa\"", r"exited 0 but KenLM cannot read it"),
])
def test_an_lmplz_that_exits_0_without_a_model_is_one_line_saying_what_it_did(tmp_path, script, says):
    pytest.importorskip("kenlm")
    from test_ngram import encode, vocab_of

    from lm_experiments.errors import UserError
    from lm_experiments.models.ngram import NGramModel

    fake = tmp_path / "lmplz"  # takes lmplz's arguments, finds --arpa, and does `script`
    fake.write_text("#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --arpa ] && arpa=$2; shift; done\n"
                    f"echo 'fake lmplz here' >&2\n{script}\n")
    fake.chmod(0o755)
    vocab = vocab_of(["a", "b", "c"])
    model = NGramModel(vocab, order=2, backend="kenlm", lmplz=str(fake))
    with pytest.raises(UserError, match=says) as caught:
        model.fit(encode(["a b c", "b c a"], vocab))
    assert "fake lmplz here" in str(caught.value) and "\n" not in str(caught.value)


# --- 7, 17: a cache root that cannot be written, a damaged entry that cannot be replaced ---------------------

def test_a_cache_root_that_cannot_be_written_is_one_line_saying_where_to_point_it(tmp_path, monkeypatch):
    import errno
    import os

    from lm_experiments.data.corpora import Lee
    from lm_experiments.data.stream import load_encoded
    from lm_experiments.errors import UserError

    root = tmp_path / "readonly"
    real_mkdir = os.mkdir

    def refused(path, *args, **kwargs):  # a folder we cannot write (the tests run as root, so chmod would not do)
        if str(path).startswith(str(root)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", refused)
    with pytest.raises(UserError, match=r"Could not write the tokenized lee into .*readonly/tokens \(Permission "
                                        r"denied\): point paths.cache_dir \(or LM_EXPERIMENTS_CACHE\) at a folder "
                                        r"you can write."):
        load_encoded(Lee(), root, tokenizer="words", lowercase=True, min_count=2)


def test_a_damaged_cache_entry_that_cannot_be_replaced_stops_instead_of_being_read(tmp_path, monkeypatch):
    import shutil

    import lm_experiments.data.cache_entry as cache_entry
    from lm_experiments.errors import UserError

    target = tmp_path / "entry"

    def build(folder):
        (folder / "cells").write_bytes(b"0123456789")

    cache_entry.open_entry(target, build, "cells")
    (target / "cells").write_bytes(b"0123456780")  # damaged, by another user, in a shared cache
    monkeypatch.setattr(shutil, "rmtree", lambda path, ignore_errors=False: None)  # not ours to remove
    with pytest.raises(UserError, match=r"The cached cells in .*entry is damaged \(cells changed since it was "
                                        r"written\) and could not be removed: remove it by hand"):
        cache_entry.open_entry(target, build, "cells")
    assert (target / "cells").read_bytes() == b"0123456780", "left as it was"


def test_a_damaged_entry_another_process_renamed_in_is_verified_before_it_is_read(tmp_path, monkeypatch):
    import os

    import lm_experiments.data.cache_entry as cache_entry
    from lm_experiments.errors import UserError

    target = tmp_path / "entry"
    real_rename = os.rename

    def someone_else_first(source, destination):  # another process places a damaged entry just before ours
        if Path(destination) == target:
            target.mkdir()
            (target / "manifest.json").write_text("{\"cells\": {\"size\": 3, \"blake2b\": \"0\"}}")
            (target / "cells").write_bytes(b"abc")
        return real_rename(source, destination)

    monkeypatch.setattr(os, "rename", someone_else_first)
    with pytest.raises(UserError, match=r"The cached cells in .*entry is damaged \(cells changed since it was "
                                        r"written\) and could not be replaced"):
        cache_entry.open_entry(target, lambda folder: (folder / "cells").write_bytes(b"xyz"), "cells")


# --- 20: scratch a killed run left behind is removed by the next run ------------------------------------------

def test_scratch_and_temporary_files_of_a_dead_run_are_removed_by_the_next_one(tmp_path, monkeypatch):
    import subprocess as sp

    import numpy as np

    from lm_experiments.files import atomic_write, scratch_folder, temporary_prefix
    from lm_experiments.ngram.counts import NGramCounts

    dead = sp.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has ended
    ours = temporary_prefix("x").split(".")[2]
    left = [tmp_path / f".ngram-counts.{ours}.{dead_pid}.abc123", tmp_path / f".model.arpa.{ours}.{dead_pid}.k9.tmp"]
    left[0].mkdir()
    (left[0] / "order-3-0.keys").write_bytes(b"x" * 100)
    left[1].write_text("half an ARPA file")
    alive = tmp_path / f".ngram-counts.{ours}.{os_getpid()}.zzz"  # a live run's scratch stays
    alive.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    NGramCounts(np.array([2, 3, 1, 2, 3, 1]), 3, 4, eos=1)
    assert not left[0].exists() and alive.exists()
    with atomic_write(tmp_path / "model.arpa") as out:
        out.write("ok")
    assert not left[1].exists() and (tmp_path / "model.arpa").read_text() == "ok"
    with scratch_folder("ngram-counts") as folder:
        assert Path(folder).name.startswith(f".ngram-counts.{ours}.")


def os_getpid() -> int:
    import os

    return os.getpid()
