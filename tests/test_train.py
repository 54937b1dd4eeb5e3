"""Whole runs through the real composed config: artefacts, metrics, loggers, every data config."""

import csv
import gzip
import json

import numpy as np
import pytest
import torch
from conftest import NO_CHECKPOINTS
from gensim.models import KeyedVectors
from hydra.utils import instantiate
from wandb_records import read_run

from lm_experiments.errors import UserError, user_error_in
from lm_experiments.run.training import train

DATA_OVERRIDES = {
    "lee": [],
    "text8": ["data.path={folder}/text8.txt.gz"],
    "ptb": ["data.path={folder}"],
    "wikitext2": ["data.path={folder}"],
    "file": ["data.path={folder}/text8.txt.gz"],
}


@pytest.fixture
def local_corpora(tmp_path):
    """Small real-format files for every corpus: text8 (one line), PTB and WikiText split files."""
    from lm_experiments.data.corpora import gensim_test_file

    text = gensim_test_file("lee_background.cor").read_text(encoding="latin-1").lower()
    words = "".join(ch if ch.isalpha() or ch.isspace() else " " for ch in text).split()
    folder = tmp_path / "corpora"
    folder.mkdir()
    with gzip.open(folder / "text8.txt.gz", "wt") as handle:
        handle.write(" " + " ".join(words))
    lines = [" ".join(words[i: i + 20]) for i in range(0, len(words), 20)]
    for split, part in (("train", lines[:-200]), ("valid", lines[-200:-100]), ("test", lines[-100:])):
        (folder / f"ptb.{split}.txt").write_text("\n".join(part) + "\n")
        (folder / f"wiki.{split}.tokens").write_text("\n".join(part) + "\n")
    return folder


def test_default_run_writes_every_artefact(make_cfg, tmp_path):
    metrics = train(make_cfg())
    run = tmp_path / "run"
    for name in ("config.yaml", "vocab.tsv", "metrics.csv", "vectors.txt", "vectors.bin", "checkpoints/last.ckpt",
                 "embedding_map.png"):
        assert (run / name).is_file(), name
    assert not list(run.glob("**/*.tmp")), "no temporary files left behind"
    for name in ("val/analogy", "val/analogy_mul", "val/ws353", "val/simlex", "val/ws353_oov",
                 "train/loss", "train/words_per_sec"):
        assert name in metrics and np.isfinite(metrics[name]), name
    assert metrics["train/words_per_sec"] > 0
    assert 0 < metrics["val/ws353_oov"] < 100

    # exported vectors == the trained input embeddings, without the specials, in vocabulary order
    state = torch.load(run / "checkpoints/last.ckpt", map_location="cpu", weights_only=False)
    weights = state["state_dict"]["model.embedder.embedding.weight"].numpy()
    vocab_words = [line.split("\t")[0] for line in (run / "vocab.tsv").read_text().splitlines()]
    assert state["vocab"]["itos"] == vocab_words
    for binary, name in ((True, "vectors.bin"), (False, "vectors.txt")):
        kv = KeyedVectors.load_word2vec_format(run / name, binary=binary)
        assert kv.index_to_key == vocab_words[2:]
        np.testing.assert_allclose(kv.vectors, weights[2:], rtol=1e-6, atol=1e-7)

    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert any(row.get("train/loss_step") for row in rows)
    assert any(row.get("val/analogy") for row in rows)


def test_training_lowers_the_loss_and_is_reproducible(make_cfg):
    overrides = ["trainer.max_epochs=2", "trainer.limit_train_batches=null", "callbacks.embedding_eval=null",
                 *NO_CHECKPOINTS, "logger=none", "task.updater.threads=1"]  # 2+ threads: Hogwild
    first = train(make_cfg(*overrides, run="a"))
    again = train(make_cfg(*overrides, run="b"))
    assert first["train/loss"] == pytest.approx(again["train/loss"], rel=1e-6)
    single = train(make_cfg(*overrides[1:], "trainer.max_epochs=1", run="c"))
    assert first["train/loss"] < single["train/loss"] < 4.16  # below log(2) * (1 + 5) at the start


@pytest.mark.parametrize("data", sorted(DATA_OVERRIDES))
def test_every_data_config_builds_a_datamodule(make_cfg, local_corpora, data):
    overrides = [o.format(folder=local_corpora) for o in DATA_OVERRIDES[data]]
    cfg = make_cfg(f"data={data}", *overrides)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    assert len(datamodule.vocab) > 100
    windows = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    assert windows.ids.shape == windows.span.shape == windows.sentence.shape and windows.ids.numel() > 0
    assert windows.span.min() >= 1 and windows.span.max() <= cfg.data.window
    if data in ("ptb", "wikitext2"):
        assert set(datamodule.encoded.splits) == {"train", "valid", "test"}


def test_wandb_offline_run_holds_config_metrics_and_summary(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    metrics = train(make_cfg("logger=wandb"))
    logs = list((tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1, "one offline run that `wandb sync` can upload"
    run = read_run(logs[0])
    assert run["run"].project == "lm_experiments"
    assert run["config"]["model"]["_target_"] == "lm_experiments.models.skipgram.SkipGram"
    assert run["config"]["sampler"]["negative"] == 5
    assert {"train/loss_step", "val/analogy", "val/ws353", "train/words_per_sec"} <= run["history_keys"]
    assert any(key.startswith("embedding_map") for key in run["history_keys"]), "the 2-D map is logged as an image"
    assert run["summary"]["val/analogy"] == pytest.approx(metrics["val/analogy"])
    assert run["summary"]["time/total_sec"] == pytest.approx(metrics["time/total_sec"])
    assert run["summary"]["train/words_per_sec_mean"] == pytest.approx(metrics["train/words_per_sec_mean"])
    assert list(run["run"].tags) == ["model=skipgram", "data=lee", "sampler=negative"]
    assert run["run"].run_group == "", "a lone run has no group"
    assert any(key.startswith("neighbours/") for key in run["history_keys"]), "nearest neighbours as a W&B table"
    vectors = [a for a in run["artifacts"] if a[1] == "embeddings"]
    assert len(vectors) == 1 and sorted(vectors[0][2]) == ["vectors.bin", "vectors.txt"]
    assert (tmp_path / "run" / "metrics.csv").is_file(), "logger=wandb keeps the CSV log too"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["val/analogy"] == pytest.approx(
        metrics["val/analogy"])


@pytest.mark.parametrize("override, message", [
    ("sampler.negative=0", "sampler.negative"),
    ("model.vector_size=-3", "model.vector_size"),
    ("data.window=0", "data.window"),
    ("data.min_count=100000", "data.min_count=100000"),
    ("data.batch_words=0", "data.batch_words"),
])
def test_bad_values_raise_one_clear_user_error(make_cfg, override, message):
    with pytest.raises(Exception) as error:
        train(make_cfg(override))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and message in str(cause)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("sampler", ["negative", "full", "hierarchical", "nce"])
def test_every_embedding_model_trains_with_every_objective(make_cfg, model, sampler):
    metrics = train(make_cfg(f"model={model}", f"sampler={sampler}", "trainer.limit_train_batches=4",
                             "logger=none", *NO_CHECKPOINTS, run=f"{model}-{sampler}"))
    assert np.isfinite(metrics["train/loss"]) and np.isfinite(metrics["val/ws353"])
