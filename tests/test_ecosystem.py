"""What users of Lightning, lightning-hydra-template, TensorBoard and W&B expect around a run: the best
checkpoint, callbacks and loggers as config groups, a clean console, resuming the same W&B run."""

import csv
import os
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT
from wandb_records import read_run

from lm_experiments.errors import UserError, user_error_in
from lm_experiments.run import folder as run_folder
from lm_experiments.run.metric_direction import metric_mode
from lm_experiments.run.training import train
from lm_experiments.vectors import load_vectors


def _rows(run) -> list[dict]:
    with open(run / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


def _epoch_values(run, metric: str) -> dict[int, float]:
    return {int(row["epoch"]): float(row[metric]) for row in _rows(run) if row.get(metric)}


def _best_checkpoint(run):
    kept = sorted(p.name for p in (run / "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" in kept and len(kept) == 2, kept
    return run / "checkpoints" / next(name for name in kept if name != "last.ckpt")


@pytest.mark.parametrize("metric, mode", [("val/ppl", "min"), ("test/ppl", "min"), ("val/loss", "min"),
                                          ("time/total_sec", "min"), ("val/analogy", "max"), ("val/ws353", "max"),
                                          ("val/acc", "max"), ("val/macro_f1", "max"), (None, "min")])
def test_the_monitoring_mode_follows_the_metric_name(metric, mode):
    assert metric_mode(metric) == mode


def test_an_embedding_run_keeps_its_best_analogy_epoch_beside_last(make_cfg, tmp_path):
    train(make_cfg("trainer.max_epochs=4", "task.updater.threads=1", "callbacks.embedding_map=null",
                   "trainer.limit_train_batches=null"))
    run = tmp_path / "run"
    analogy = _epoch_values(run, "val/analogy")
    assert sorted(analogy) == [0, 1, 2, 3]
    best_epoch = max(analogy, key=lambda epoch: (analogy[epoch], -epoch))  # the first of equal bests
    best = _best_checkpoint(run)
    assert best.name == f"epoch_{best_epoch:03d}.ckpt"
    state = torch.load(best, map_location="cpu", weights_only=False)
    assert state["epoch"] == best_epoch
    assert run_folder.best_checkpoint(run) == best
    last = run / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 3
    # written once where the best epoch is the last: last.ckpt is then a second name of the same file
    assert os.path.samefile(best, last) == (best_epoch == 3)


def test_last_checkpoint_every_n_epochs_writes_those_and_the_final_one(make_cfg, tmp_path, monkeypatch):
    from lm_experiments.run.checkpoint_io import AtomicCheckpointIO

    written, real = [], AtomicCheckpointIO.save_checkpoint
    def counted(self, state, path, storage_options=None):
        written.append(state["epoch"])
        real(self, state, path)

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", counted)
    train(make_cfg("trainer.max_epochs=5", "task.updater.threads=1", "callbacks.embedding_map=null",
                   "callbacks.embedding_eval=null", "callbacks.model_checkpoint=null",
                   "callbacks.last_checkpoint.every_n_epochs=2"))
    assert written == [1, 3, 4], "epochs 2 and 4 of 5, and the final one"
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 4


def slow_checkpoint_writes(monkeypatch, seconds: float) -> list[int]:
    """Each checkpoint write seems to take `seconds` on the budget's clock; returns the epochs written."""
    from lm_experiments.callbacks import checkpoint_budget
    from lm_experiments.run.checkpoint_io import AtomicCheckpointIO

    written, real, offset = [], AtomicCheckpointIO.save_checkpoint, [0.0]
    def slow(self, state, path, storage_options=None):
        written.append(state["epoch"])
        real(self, state, path)
        offset[0] += seconds

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", slow)
    monkeypatch.setattr(checkpoint_budget, "now", lambda: time.perf_counter() + offset[0])
    return written


@pytest.mark.parametrize(("share", "epochs"), [(0.1, [0, 4]), (None, [0, 1, 2, 3, 4])])
def test_checkpoints_that_take_longer_than_their_share_of_training_skip_epochs_but_never_the_last(
        make_cfg, tmp_path, monkeypatch, share, epochs):
    written = slow_checkpoint_writes(monkeypatch, 5.0)  # 5 s a write, and epochs of milliseconds
    share = "null" if share is None else share
    train(make_cfg("trainer.max_epochs=5", "task.updater.threads=1", "callbacks.embedding_map=null",
                   "callbacks.embedding_eval=null", "callbacks.model_checkpoint=null",
                   f"callbacks.last_checkpoint.max_time_share={share}"))
    assert written == epochs
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 4


def test_the_best_and_the_last_checkpoint_skip_the_same_epochs(make_cfg, tmp_path, monkeypatch):
    written = slow_checkpoint_writes(monkeypatch, 5.0)
    train(make_cfg("trainer.max_epochs=4", "task.updater.threads=1", "callbacks.embedding_map=null",
                   "trainer.limit_train_batches=null"))
    run = tmp_path / "run"
    # epoch 0 written once (last.ckpt a link to the best), 1 and 2 skipped by both; the final epoch's weights in
    # last.ckpt, written again only where the best did not just write them
    assert written[0] == 0 and set(written) <= {0, 3} and written.count(0) == 1
    assert torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["epoch"] == 3
    best = run_folder.best_checkpoint(run)
    assert torch.load(best, map_location="cpu", weights_only=False)["epoch"] in (0, 3)
    analogy = _epoch_values(run, "val/analogy")
    kept = 3 if analogy[3] > analogy[0] else 0
    assert best.name == f"epoch_{kept:03d}.ckpt", "the best of the epochs written"


def test_last_checkpoint_holds_the_final_weights_when_the_last_validation_comes_before_the_last_batch(
        make_lm_cfg, tmp_path):
    train(make_lm_cfg("lstm", "trainer.max_epochs=1", "trainer.limit_train_batches=5", "+trainer.val_check_interval=2",
                      "logger=csv"))
    with open(tmp_path / "run" / "metrics.csv") as handle:
        steps = [int(float(row["step"])) for row in csv.DictReader(handle) if row.get("val/ppl")]
    assert steps == [1, 3], "validations after batches 2 and 4 of 5"
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 5


@pytest.mark.slow
def test_test_ckpt_best_scores_the_kept_epoch_and_last_the_final_weights(make_lm_cfg, tmp_path):
    # monitoring val/ppl the wrong way round keeps the worst epoch, so "best" and "last" are different weights
    worst_kept = ["lstm", "trainer.max_epochs=3", "logger=csv", "callbacks.model_checkpoint.mode=max",
                  "trainer.limit_train_batches=15"]
    best = train(make_lm_cfg(*worst_kept, "test_ckpt=best", run="best"))
    last = train(make_lm_cfg(*worst_kept, run="last"))
    ppl = _epoch_values(tmp_path / "best", "val/ppl")
    kept = max(ppl, key=lambda epoch: (ppl[epoch], -epoch))
    assert kept < 2, "the test needs an epoch other than the last"
    assert _best_checkpoint(tmp_path / "best").name == f"epoch_{kept:03d}.ckpt"
    # the same seed trained for only kept + 1 epochs ends with the kept epoch's weights
    shorter = train(make_lm_cfg("lstm", f"trainer.max_epochs={kept + 1}", "logger=csv",
                                "trainer.limit_train_batches=15", run="shorter"))
    assert best["test/ppl"] == pytest.approx(shorter["test/ppl"], rel=1e-6), "the kept epoch's weights were tested"
    assert last["test/ppl"] != pytest.approx(best["test/ppl"], rel=1e-3)
    assert last["val/ppl"] == best["val/ppl"], "the same training either way"


@pytest.mark.parametrize("overrides, message", [
    (["test_ckpt=first"], "test_ckpt must be last or best"),
    (["test_ckpt=best", "callbacks.model_checkpoint=null", "callbacks.last_checkpoint=null"], "test_ckpt=best"),
])
def test_bad_test_ckpt_settings_are_refused_before_training(make_lm_cfg, tmp_path, overrides, message):
    with pytest.raises(Exception) as error:
        train(make_lm_cfg("lstm", *overrides))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and message in str(cause)


@pytest.mark.slow
def test_learning_rates_are_logged_by_lightnings_monitor(make_cfg, make_lm_cfg, tmp_path):
    train(make_cfg("trainer.log_every_n_steps=1", "callbacks.embedding_map=null", run="sg"))  # manual optimization
    lr = [float(row["train/lr"]) for row in _rows(tmp_path / "sg") if row.get("train/lr")]
    assert len(lr) > 10 and lr[0] == pytest.approx(0.025, rel=1e-3) and lr == sorted(lr, reverse=True)
    train(make_lm_cfg("lstm", "logger=csv", "trainer.log_every_n_steps=1", run="lm"))
    rows = _rows(tmp_path / "lm")
    assert {float(r["train/lr/decay"]) for r in rows if r.get("train/lr/decay")} == {20.0}
    assert any(r.get("train/lr/no_decay") for r in rows)


def _first_epoch_without_improvement(values: dict[int, float], mode: str) -> int:
    """The epoch after which EarlyStopping(patience=0) stops: the first not strictly better than the best before."""
    best = values[0]
    for epoch in range(1, len(values)):
        if not (values[epoch] < best if mode == "min" else values[epoch] > best):
            return epoch
        best = values[epoch]
    return len(values) - 1


@pytest.mark.slow
def test_early_stopping_stops_at_the_first_epoch_without_improvement(make_lm_cfg, tmp_path):
    common = ["lstm", "trainer.max_epochs=4", "logger=csv", "trainer.limit_train_batches=10"]
    train(make_lm_cfg(*common, run="full"))
    ppl = _epoch_values(tmp_path / "full", "val/ppl")
    for mode in ("min", "max"):  # max: the wrong way round, so that it stops on another epoch
        train(make_lm_cfg(*common, "callbacks=[default,early_stopping]", "callbacks.early_stopping.patience=0",
                          f"callbacks.early_stopping.mode={mode}", run=mode))
        stop = _first_epoch_without_improvement(ppl, mode)
        assert sorted(_epoch_values(tmp_path / mode, "val/ppl")) == list(range(stop + 1)), (mode, ppl)


def test_tensorboard_logs_metrics_and_the_projector_files(make_cfg, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(make_cfg("logger=tensorboard", "callbacks.embedding_projector.words=50", "trainer.log_every_n_steps=1"))
    board = tmp_path / "run" / "tensorboard"
    events = EventAccumulator(str(board))
    events.Reload()
    assert {"train/loss_step", "val/analogy", "train/lr"} <= set(events.Tags()["scalars"])
    config = (board / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "word_vectors' in config
    folder = next(board.glob("*/word_vectors"))
    words = (folder / "metadata.tsv").read_text().splitlines()
    rows = [[float(x) for x in line.split("\t")] for line in (folder / "tensors.tsv").read_text().splitlines()]
    vectors = load_vectors(tmp_path / "run" / run_folder.VECTORS_BINARY_FILE, "vectors")
    assert words == list(vectors.index_to_key[:50])
    assert torch.allclose(torch.tensor(rows), torch.from_numpy(vectors.vectors[:50]), atol=1e-4)
    assert (tmp_path / "run" / "metrics.csv").is_file(), "the CSV log is kept"


def test_logger_many_writes_csv_tensorboard_and_an_offline_wandb_run(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    train(make_cfg("logger=many", "callbacks.embedding_map=null"))
    run = tmp_path / "run"
    assert (run / "metrics.csv").is_file() and list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert len(list((run / "wandb").glob("offline-run-*/run-*.wandb"))) == 1


def test_resuming_a_wandb_run_continues_the_same_wandb_run(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    common = ["logger=wandb", "callbacks.embedding_map=null", "task.updater.threads=1"]
    train(make_cfg(*common, "trainer.max_epochs=1"))
    run = tmp_path / "run"
    first_id = (run / run_folder.WANDB_ID_FILE).read_text().strip()
    train(make_cfg(*common, "trainer.max_epochs=2", "ckpt_path=last"))
    logs = sorted((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 2, "each session of the run is its own offline log, for `wandb sync`"
    assert {read_run(log)["run"].run_id for log in logs} == {first_id}, "one W&B run across the resume"
    # a fresh run in another folder starts a W&B run of its own
    train(make_cfg(*common, "trainer.max_epochs=1", run="other"))
    assert (tmp_path / "other" / run_folder.WANDB_ID_FILE).read_text().strip() != first_id


@pytest.mark.parametrize("debug", ["default", "overfit", "profiler", "fdr", "limit"])
def test_debug_presets_run(make_lm_cfg, tmp_path, debug):
    metrics = train(make_lm_cfg("lstm", f"debug={debug}", "logger=csv", "trainer.limit_train_batches=4",
                                "trainer.limit_val_batches=4"))
    assert metrics


@pytest.mark.slow
def test_the_default_run_fits_one_screen_before_its_table_and_prints_no_third_party_noise(tmp_path):
    """`python train.py` as a new user runs it (20 epochs on Lee): one line per epoch, the nearest neighbours once,
    no device lines for devices that are not there, no empty summary columns, the table's title on one line."""
    result = subprocess.run([sys.executable, "train.py", f"hydra.run.dir={tmp_path / 'run'}",
                             f"paths.cache_dir={tmp_path / 'cache'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr[-2000:]
    console = (result.stdout + result.stderr).splitlines()
    title = next(i for i, line in enumerate(console) if line.startswith("train: final metrics ("))
    assert title < 60, "\n".join(console[:title])
    assert console[title].endswith(f"({tmp_path / 'run'})"), "the title on one line"
    text = "\n".join(console)
    for noise in ("litlogger", "exists and is not empty", "LeafSpec", "Warning", "GPU available: False",
                  "TPU available", "FLOPs", "estimate number of stepping batches"):
        assert noise not in text, noise
    assert sum(line.startswith("epoch ") for line in console) == 20, "one line of metrics per epoch"
    assert text.count("nearest neighbours") == 1
    assert (tmp_path / "run" / "neighbours.txt").read_text().startswith("king: ")
