"""DDP: each process reads its own part of the data, evaluation counts every token once, files are written once."""

import csv
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import LM_SMALL, ROOT
from test_lm_views import bptt_view, context_view, expected_pairs, scored_pairs, stream, window_view

from lm_experiments.data.sharding import Shard
from lm_experiments.data.views.base import LoaderSettings
from lm_experiments.run.training import build
from lm_experiments.updaters.replicas import changed_rows, summed_replica_updates


@pytest.mark.parametrize("count, world", [(0, 2), (7, 3), (10, 2), (2, 4)])
def test_shard_spans_cover_the_range_once_in_order(count, world):
    parts = [list(range(count))[Shard(rank, world).span(count)] for rank in range(world)]
    assert sum(parts, []) == list(range(count))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


@pytest.mark.parametrize("world", [2, 3])
def test_every_eval_view_scores_each_token_once_across_processes(world):
    tokens = stream()
    views = [bptt_view(eval_batch_size=3, bptt=5), bptt_view(eval_batch_size=1, bptt=5),
             context_view(4, eval_batch_size=16), window_view(16, 5, eval_batch_size=4)]
    for view in views:
        pairs = [p for rank in range(world)
                 for p in scored_pairs(view.eval_loader(tokens, LoaderSettings(shard=Shard(rank, world))))]
        assert sorted(pairs) == sorted(expected_pairs(tokens)), type(view).__name__


def test_bptt_training_gives_each_process_its_own_columns_and_the_same_number_of_blocks():
    tokens = stream(400)
    view = bptt_view(batch_size=3, bptt=7)
    together = torch.cat([b.inputs for b in bptt_view(batch_size=6, bptt=7).train_loader(tokens, LoaderSettings())], 1)
    per_rank = [list(view.train_loader(tokens, LoaderSettings(shard=Shard(rank, 2)))) for rank in range(2)]
    assert len(per_rank[0]) == len(per_rank[1])
    for rank, blocks in enumerate(per_rank):
        inputs = torch.cat([b.inputs for b in blocks], 1)                      # (3, L): columns in reading order
        assert torch.equal(inputs, together[3 * rank: 3 * (rank + 1)])
        assert [b.starts_fresh for b in blocks] == [True] + [False] * (len(blocks) - 1)


def test_shuffled_training_parts_are_disjoint_and_equal_in_size():
    tokens = stream(300)
    view = context_view(3, batch_size=10)
    loaders = [view.train_loader(tokens, LoaderSettings(shard=Shard(r, 2))) for r in range(2)]
    seen = [torch.cat([b.targets for b in loader]).numel() for loader in loaders]
    assert seen == [150, 150]
    samplers = [loader.sampler for loader in loaders]
    assert not set(samplers[0]) & set(samplers[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _replica_worker(rank: int, world: int, port: int, results):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        weights = torch.nn.Parameter(torch.arange(6.0).view(2, 3))
        bias = torch.nn.Parameter(torch.zeros(3))
        table = torch.nn.Parameter(torch.arange(3000.0).view(1000, 3))   # a big table, few rows changed
        crowded = torch.nn.Parameter(torch.zeros(10, 2))                  # most rows changed: the dense path
        with summed_replica_updates([weights, bias, table, crowded]), torch.no_grad():
            weights[rank] += 10.0 * (rank + 1)  # each process changes its own rows, as two shards' steps would
            bias += rank + 1
            table[[rank, 500, 999 - rank]] += torch.tensor([[1.0], [2.0], [3.0]]) * (rank + 1)  # row 500: both
            crowded[rank:] += 1.0
        results[rank] = [p.detach().clone() for p in (weights, bias, table, crowded)]
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_replicas_end_every_batch_with_the_sum_of_their_changes():
    results = mp.Manager().dict()
    mp.spawn(_replica_worker, args=(2, _free_port(), results), nprocs=2, join=True)
    expected = torch.arange(6.0).view(2, 3) + torch.tensor([[10.0], [20.0]])
    table = torch.arange(3000.0).view(1000, 3)
    for rank in (0, 1):  # the dense sum of both processes' changes, by hand
        table[[rank, 500, 999 - rank]] += torch.tensor([[1.0], [2.0], [3.0]]) * (rank + 1)
    crowded = torch.zeros(10, 2)
    crowded[0:] += 1.0
    crowded[1:] += 1.0
    for rank in range(2):
        weights, bias, summed_table, summed_crowded = results[rank]
        assert torch.equal(weights, expected)
        assert torch.equal(bias, torch.full((3,), 3.0))
        assert torch.equal(summed_table, table) and summed_table[500, 0] == 1500.0 + 2 + 4
        assert torch.equal(summed_crowded, crowded)


def test_changed_rows_are_the_rows_with_any_nonzero_change():
    change = torch.zeros(6, 2, 3)
    change[1, 0, 2] = 0.5
    change[4] = -1.0
    assert changed_rows(change).tolist() == [1, 4]
    assert changed_rows(torch.zeros(3, 2)).numel() == 0


# --- end to end: `python train.py trainer=ddp_cpu trainer.devices=2` ---------------------------------


def run_ddp(tmp_path, *args):
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "trainer=ddp_cpu", "trainer.devices=2",
                             "callbacks.progress_bar=null", *args, f"hydra.run.dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, tmp_path / "run"


def metric_rows(run_dir, name: str) -> list[float]:
    with open(run_dir / "metrics.csv") as handle:
        return [float(row[name]) for row in csv.DictReader(handle) if row.get(name)]


@pytest.mark.slow
def test_ddp_skipgram_trains_logs_once_and_exports_once(tmp_path):
    result, run = run_ddp(tmp_path, "trainer.max_epochs=2", "model.vector_size=16")
    assert (run / "vectors.txt").is_file() and (run / "embedding_map.png").is_file()
    assert sorted(p.name for p in run.rglob("vectors.txt")) == ["vectors.txt"]
    assert len(metric_rows(run, "val/analogy")) == 2                      # one row per epoch, not per process
    lines = (run / "metrics.csv").read_text().splitlines()
    assert sum(line.startswith("epoch,") for line in lines) == 1                # one header
    assert result.stdout.count("final metrics") == 1
    rows = int((run / "vectors.txt").read_text().split()[0])
    assert rows == len((run / "vocab.tsv").read_text().splitlines()) - 2    # the vocabulary without <unk>, <eos>


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "transformer", "nnlm"])
def test_ddp_perplexity_equals_one_process_scoring_the_same_weights(tmp_path, lm_corpus, make_lm_cfg, model):
    batch = 64 if model == "nnlm" else 4  # the NNLM predicts one token per example: 4 makes thousands of steps
    overrides = [*LM_SMALL[model], f"data.batch_size={batch}", "data.bptt=8", "data.eval_batch_size=4",
                 "trainer.max_epochs=1", "callbacks.text_samples=null"]
    _, run = run_ddp(tmp_path, "data=file", f"data.path={lm_corpus}", "data.min_count=1", f"model={model}",
                     *overrides)
    assert len(metric_rows(run, "val/ppl")) == 1 and len(metric_rows(run, "test/ppl")) == 1
    ddp_test_ppl, ddp_tokens = metric_rows(run, "test/ppl")[0], metric_rows(run, "test/tokens")[0]

    cfg = make_lm_cfg(model, *overrides, run="single")
    datamodule, lm, trainer = build(cfg)
    trainer.test(lm, datamodule=datamodule, ckpt_path=str(run / "checkpoints" / "last.ckpt"), verbose=False)
    assert ddp_tokens == float(trainer.callback_metrics["test/tokens"])   # every test token once, none twice
    assert np.isclose(ddp_test_ppl, float(trainer.callback_metrics["test/ppl"]), rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ngram", "glove"])
def test_models_that_cannot_be_distributed_say_so(tmp_path, model):
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "trainer=ddp_cpu", f"model={model}",
                             f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=300,
                            env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "cannot train with DDPStrategy over 2 processes" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ddp_inside_a_multirun_runs_each_job_once_in_its_own_folder(tmp_path):
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "-m", "trainer=ddp_cpu", "data.window=2,5",
                             "trainer.max_epochs=1", "model.vector_size=8", "callbacks.progress_bar=null",
                             "callbacks.embedding_map=null", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "sweep"], "no folder outside the sweep"
    jobs = sorted(p for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert [job.name for job in jobs] == ["0", "1"]
    for job in jobs:
        assert (job / "metrics.json").is_file() and (job / "vectors.txt").is_file()
        assert (job / "train_ddp_process_1.log").is_file(), "the extra process joined this job's folder"
    assert result.stdout.count("final metrics") == 2
