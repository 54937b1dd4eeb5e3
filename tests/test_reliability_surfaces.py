"""The newer surfaces under bad input and bad luck (issue 28): vectors files, run folders, sweeps, checkpoints,
writes that fail, lm-embed, and Hydra's own errors. Each case failed before: it hung, lost files, gave wrong
results without a word, or printed a traceback; now each is one line (exit status 2) or the right result."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from lm_experiments.cli.evaluate import main as lm_eval
from lm_experiments.errors import UserError, listed
from lm_experiments.run import folder as run_folder
from lm_experiments.run.claim import RunClaim
from lm_experiments.run.training import train

ROOT = Path(__file__).resolve().parents[1]
FAST_CLI = ["trainer.max_epochs=1", "trainer.limit_train_batches=5", "callbacks.progress_bar=null",
            "model.vector_size=16", "task.updater.threads=1", "callbacks.embedding_map=null",
            "callbacks.embedding_eval=null", "logger=none"]


def cli(*args, cache: Path, timeout: int = 240, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "train.py", *map(str, args), f"paths.cache_dir={cache}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


# --- 1, 11, 12, 14, 15: vector files ------------------------------------------------------------------------

def test_a_cut_vectors_file_is_refused_at_once_by_lm_eval_and_model_pretrained(skipgram_run, tmp_path, capsys):
    from test_sentence_models import VOCAB, pretrained_embedding

    whole = (skipgram_run / "vectors.bin").read_bytes()
    cut = tmp_path / "t.bin"
    cut.write_bytes(whole[: len(whole) // 2])
    started = time.perf_counter()
    assert lm_eval([str(cut)]) == 2
    assert "cut short" in capsys.readouterr().err
    with pytest.raises(UserError, match="cut short"):
        pretrained_embedding(VOCAB, dim=16, mode="non_static", pretrained=str(cut)).load_pretrained()
    assert time.perf_counter() - started < 60, "no hang"


def test_a_run_folder_whose_vectors_are_damaged_is_one_line(skipgram_run, tmp_path):
    from lm_experiments.vectors import load_vectors

    copy = tmp_path / "copy"
    copy.mkdir()
    for name in (run_folder.CONFIG_FILE, run_folder.VOCAB_FILE):
        (copy / name).write_bytes((skipgram_run / name).read_bytes())
    (copy / run_folder.VECTORS_BINARY_FILE).write_bytes((skipgram_run / "vectors.bin").read_bytes()[:-7])
    with pytest.raises(UserError, match="cut short"):
        load_vectors(copy, "model.pretrained")


@pytest.mark.parametrize(("content", "says"), [
    ("3 2\na 1 2\nb nan 1\nc 1 1\n", "NaN or infinite"),
    ("3 2\na 1 2\nb 0 1\na 1 1\n", "more than once"),
    ("", "is empty"),
])
def test_lm_eval_refuses_poisoned_vectors_in_one_line(tmp_path, capsys, content, says):
    path = tmp_path / "v.txt"
    path.write_text(content)
    assert lm_eval([str(path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err


def test_nan_pretrained_vectors_in_a_classifier_are_one_line(tmp_path):
    from test_sentence_models import VOCAB, pretrained_embedding

    (tmp_path / "v.txt").write_text("2 4\nthe 1 2 3 4\nfilm nan 3 2 1\n")
    with pytest.raises(UserError, match="NaN or infinite values \\(the first: 'film'\\)"):
        pretrained_embedding(VOCAB, dim=4, mode="non_static", pretrained=str(tmp_path / "v.txt")).load_pretrained()


# --- 2: the confusion matrix, and metrics first -------------------------------------------------------------

def test_a_thousand_class_confusion_matrix_draws_no_text_per_cell(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    from lm_experiments.evaluation.classification import draw_confusion

    calls = []
    original = Axes.text
    monkeypatch.setattr(Axes, "text", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    labels = [f"class{i}" for i in range(1000)]
    matrix = np.random.default_rng(0).integers(0, 5, (1000, 1000))
    draw_confusion(matrix, labels, tmp_path / "big.png", "1000 classes")
    assert (tmp_path / "big.png").stat().st_size > 0 and len(calls) == 0
    draw_confusion(matrix[:5, :5], labels[:5], tmp_path / "small.png", "5 classes")
    assert len(calls) == 25


def test_metrics_are_written_before_any_export(make_cfg, tmp_path, monkeypatch):
    from lm_experiments.tasks.embedding import WordEmbeddingTask

    def broken_export(self, out_dir):
        raise RuntimeError("the picture failed")

    monkeypatch.setattr(WordEmbeddingTask, "export", broken_export)
    with pytest.raises(RuntimeError, match="the picture failed"):
        train(make_cfg("task.updater.threads=1", "callbacks.embedding_map=null"))
    assert "train/loss" in (tmp_path / "run" / run_folder.METRICS_FILE).read_text()


def test_long_label_lists_are_shortened():
    assert listed([f"l{i}" for i in range(1000)]) == ", ".join(repr(f"l{i}") for i in range(10)) + " and 990 more"
    assert listed(["a", "b"]) == "'a', 'b'"


# --- 3, 4, 6: run folders -----------------------------------------------------------------------------------

def test_a_second_run_in_a_folder_in_use_stops_in_one_line_and_touches_nothing(tmp_path, shared_cache):
    folder = tmp_path / "run"
    with RunClaim(folder):
        (folder / "metrics.csv").write_text("the first run's\n")
        result = cli(*FAST_CLI, f"hydra.run.dir={folder}", cache=shared_cache)
    assert result.returncode == 2
    assert f"is in use by another run (pid {os.getpid()})" in one_error_line(result.stderr)
    assert (folder / "metrics.csv").read_text() == "the first run's\n"
    assert not (folder / ".hydra").exists() and not (folder / "config.yaml").exists()


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path, shared_cache):
    from lm_experiments.run.api import train as api_train

    runs = [api_train(["model=skipgram", f"paths.log_dir={tmp_path}", f"paths.cache_dir={shared_cache}",
                       f"seed={seed}", *FAST_CLI]) for seed in range(3)]
    assert len({run.folder for run in runs}) == 3
    for seed, run in enumerate(runs):
        assert yaml.safe_load((run.folder / run_folder.CONFIG_FILE).read_text())["seed"] == seed


def test_a_failed_rerun_keeps_every_file_of_the_folder_it_found(tmp_path, shared_cache):
    folder = tmp_path / "killed"     # a run killed with SIGKILL before its first checkpoint
    folder.mkdir()
    kept = {"config.yaml": "seed: 1\n", "metrics.csv": "epoch,loss\n0,1.0\n", "train.log": "[...] training\n",
            "vocab.tsv": "the\t10\n"}
    for name, text in kept.items():
        (folder / name).write_text(text)
    result = cli(*FAST_CLI, f"hydra.run.dir={folder}", "ckpt_path=last", cache=shared_cache)
    assert result.returncode == 2 and "has no checkpoints/last.ckpt" in one_error_line(result.stderr)
    for name, text in kept.items():
        assert (folder / name).read_text().startswith(text), name


# --- 5, 7: writes that fail -------------------------------------------------------------------------------

def _refuse_checkpoint_writes(monkeypatch, after: int, error: OSError):
    """Writes of checkpoints fail from the `after`-th on with `error` (a read-only folder, a full disk)."""
    import lm_experiments.run.checkpoint_io as checkpoint_io

    real, count = checkpoint_io.atomic_write, [0]

    class Failing:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(bytes(data)[: len(data) // 3])
            raise error

    from contextlib import contextmanager

    @contextmanager
    def failing(path, *args, **kwargs):
        count[0] += 1
        with real(path, *args, **kwargs) as handle:
            yield Failing(handle) if count[0] > after else handle

    monkeypatch.setattr(checkpoint_io, "atomic_write", failing)


@pytest.mark.parametrize(("error", "says"), [
    (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
    (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
])
def test_a_refused_checkpoint_write_stops_the_run_in_one_line_and_keeps_the_last_good_one(
        make_cfg, tmp_path, monkeypatch, error, says):
    _refuse_checkpoint_writes(monkeypatch, after=1, error=error)  # epoch 0: best, last its link; epoch 1 fails
    with pytest.raises(UserError, match=f"Cannot write .*checkpoints.*{says} \\(.* free on its disk\\)"):
        train(make_cfg("trainer.max_epochs=2", "task.updater.threads=1", "callbacks.embedding_map=null"))
    checkpoints = tmp_path / "run" / "checkpoints"
    assert not list(checkpoints.glob(".*.tmp")), "no temporary file left"
    state = run_folder.load_checkpoint(checkpoints / "last.ckpt")
    assert state["epoch"] == 0, "the previous good checkpoint is intact"


@pytest.mark.parametrize("cut", ["half", "empty", "no-records"])
def test_a_cut_checkpoint_is_one_line_for_lm_eval_load_run_and_the_embedder(skipgram_run, tmp_path, capsys, cut):
    import zipfile

    from lm_experiments import load_run

    folder = tmp_path / "copy"
    (folder / "checkpoints").mkdir(parents=True)
    for name in (run_folder.CONFIG_FILE, run_folder.VOCAB_FILE):
        (folder / name).write_bytes((skipgram_run / name).read_bytes())
    whole = (skipgram_run / "checkpoints" / "last.ckpt").read_bytes()
    target = folder / "checkpoints" / "last.ckpt"
    if cut == "no-records":
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("archive/nothing", b"x")
    else:
        target.write_bytes(whole[: len(whole) // 2] if cut == "half" else b"")
    assert lm_eval([str(folder)]) == 2
    assert "cut short" in capsys.readouterr().err or cut == "no-records"
    with pytest.raises(UserError):
        load_run(folder)


# --- 8: sweeps ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_sweep_runs_every_member_and_lists_the_failed_ones(tmp_path, shared_cache):
    result = cli("-m", "data.window=0,2", *FAST_CLI, f"hydra.sweep.dir={tmp_path / 'sweep'}", cache=shared_cache,
                 timeout=400)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "1 member(s) of the sweep failed" in result.stderr and "#0 data.window=0" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "sweep" / "1" / "metrics.json").is_file(), "the member after the failed one ran"
    assert not (tmp_path / "sweep" / "0").exists(), "the failed member's set-up files are gone"


# --- 13, 15: options and Hydra's errors -------------------------------------------------------------------

def test_holdout_is_bounded_as_its_message_says(tmp_path):
    from lm_experiments.data.labelled import LabelledFile

    path = tmp_path / "l.tsv"
    path.write_text("".join(f"{'pos' if i % 2 else 'neg'}\tword{i} w\n" for i in range(300)))
    with pytest.raises(UserError, match="data.holdout=0.6 must be above 0 and at most 0.5"):
        LabelledFile(path, holdout=0.6).splits(tmp_path)


@pytest.mark.parametrize(("args", "says"), [
    (["trainer.max_epoch=1"], "Could not override 'trainer.max_epoch'"),
    (["sampler=negatve"], "sampler=negatve is none of the sampler options: adaptive, full"),
    (["+foo=bar"], "+foo=bar adds a key that no part of the run reads"),
    (["data.window=[1"], "Cannot read the override 'data.window=[1'"),
    (["hydra.run.dir=/dev/null/run"], "/dev/null is a file, not a folder"),
])
def test_hydras_errors_are_one_line_and_exit_status_2(tmp_path, args, says):
    result = cli(*args, cache=tmp_path)
    assert result.returncode == 2 and says in one_error_line(result.stderr), result.stderr


def test_the_api_raises_user_error_for_an_unknown_option(tmp_path):
    from lm_experiments.run.api import train as api_train

    with pytest.raises(UserError, match="model=nope is none of the model options"):
        api_train(["model=nope", f"paths.log_dir={tmp_path}"])


@pytest.mark.slow
def test_sigterm_is_handled_as_ctrl_c(tmp_path, shared_cache):
    folder = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "train.py", "trainer.max_epochs=100000", "callbacks.progress_bar=null",
                                "callbacks.model_checkpoint=null", "callbacks.last_checkpoint=null",
                                "+trainer.enable_checkpointing=false",
                                "callbacks.embedding_eval=null", "task.updater.threads=1", "logger=none",
                                f"hydra.run.dir={folder}", f"paths.cache_dir={shared_cache}"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and not (folder / run_folder.CONFIG_FILE).is_file():
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr[-2000:]
    assert "terminated (SIGTERM)" in one_error_line(stderr)
    assert not folder.exists(), "no stub folder: it held no result"


# --- 9, 10, 14: lm-embed ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_lm_embed_keeps_blank_lines_checks_its_weights_and_refuses_bad_paths(make_lm_cfg, tmp_path, capsys):
    from lm_experiments.cli.embed import main as lm_embed

    train(make_lm_cfg("elmo", "trainer.max_epochs=1", "trainer.limit_train_batches=3"))
    run = tmp_path / "run"
    text = tmp_path / "s.txt"
    text.write_text("the cat\n\na cat sat\n")
    assert lm_embed([str(run), "--input", str(text), "--output", str(tmp_path / "v.npz")]) == 0
    saved = np.load(tmp_path / "v.npz")
    assert saved["offsets"].tolist() == [0, 2, 2, 5], "line 2 is blank: an empty sentence, still its own row"
    capsys.readouterr()
    (tmp_path / "binary").write_bytes(b"\x00\x01\x02 abc\n")
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "folder").mkdir()
    cases = (({"--weights": "nan,1,1"}, "finite"), ({"--weights": "1,1"}, "3 layers to mix and 2"),
             ({"--input": tmp_path / "binary"}, "binary file"), ({"--output": tmp_path / "folder"}, "is a folder"),
             ({"--output": tmp_path / "a_file" / "v.npz"}, "is a file, not a folder"))
    for given, says in cases:
        options = {"--input": text, "--output": tmp_path / "o.npz", **given}
        assert lm_embed([str(run)] + [str(x) for pair in options.items() for x in pair]) == 2, given
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, (given, err)
    assert not (tmp_path / "o.npz").exists()
    cut = run / "checkpoints" / "last.ckpt"
    cut.write_bytes(cut.read_bytes()[:1000])
    assert lm_embed([str(run), "--input", str(text), "--output", str(tmp_path / "o.npz")]) == 2
    assert "cut short" in capsys.readouterr().err


def test_a_read_only_place_for_the_run_folder_is_one_line(tmp_path, monkeypatch):
    from lm_experiments.run.command_line import writable_folder

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # (tests may run as root, whom no mode stops)
    with pytest.raises(UserError, match=f"Cannot write the run folder {tmp_path / 'a' / 'b'}: {tmp_path} is "
                                        f"read-only"):
        writable_folder(tmp_path / "a" / "b", "run folder")


def test_a_split_with_labels_the_training_split_lacks_names_a_few_of_them(tmp_path):
    from lm_experiments.data.labelled import Example
    from lm_experiments.data.labelled_split import encode_split
    from lm_experiments.data.vocab import Vocabulary

    labels = [f"class{i}" for i in range(1000)]
    vocab = Vocabulary(["<unk>", "<eos>", "w"], np.array([0, 0, 5]))
    with pytest.raises(UserError) as raised:
        encode_split([Example(tokens=["w"], label="unknown")], vocab, labels, "test")
    assert "and 990 more" in str(raised.value) and len(str(raised.value)) < 400
