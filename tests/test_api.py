"""The Python API (`from lm_experiments import train, load_run`) and the `lm-train` command."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
import yaml
from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors

from lm_experiments import load_run, train
from lm_experiments.errors import UserError
from lm_experiments.models.recurrent import RecurrentEncoder
from lm_experiments.models.skipgram import SkipGram

FAST = ["trainer.max_epochs=1", "trainer.limit_train_batches=10", "callbacks.progress_bar=null",
        "callbacks.embedding_map=null", "model.vector_size=16", "task.updater.threads=1"]


def test_train_returns_the_metrics_and_the_folder_of_a_run_like_train_py(tmp_path):
    run = train([*FAST, f"paths.cache_dir={tmp_path / 'cache'}"], output_dir=tmp_path / "run")
    assert run.folder == tmp_path / "run"
    assert json.loads((run.folder / "metrics.json").read_text())["val/analogy"] == pytest.approx(
        run.metrics["val/analogy"])
    assert yaml.safe_load((run.folder / ".hydra" / "overrides.yaml").read_text())[0] == "trainer.max_epochs=1"
    assert "model: skipgram" not in (run.folder / ".hydra" / "config.yaml").read_text()  # unresolved, as Hydra's
    assert "Tokenizing lee" in (run.folder / "train.log").read_text()
    # without output_dir: Hydra's run folder under paths.log_dir
    again = train([*FAST, f"paths.cache_dir={tmp_path / 'cache'}", f"paths.log_dir={tmp_path / 'logs'}"])
    assert again.folder.parent == tmp_path / "logs" / "train" / "runs" and (again.folder / "vectors.bin").is_file()


def test_train_raises_the_error_the_command_line_prints_and_leaves_no_folder(tmp_path):
    with pytest.raises(UserError, match="sampler.negative"):
        train([*FAST, "sampler.negative=0", f"paths.cache_dir={tmp_path / 'cache'}"], output_dir=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_load_run_gives_the_model_its_vocabulary_and_gensim_vectors(tmp_path):
    run = train([*FAST, f"paths.cache_dir={tmp_path / 'cache'}"], output_dir=tmp_path / "run")
    loaded = load_run(run.folder)
    assert isinstance(loaded.model, SkipGram) and not loaded.task.training
    assert loaded.vocab.itos[:2] == ["<unk>", "<eos>"]
    exported = KeyedVectors.load_word2vec_format(str(run.folder / "vectors.bin"), binary=True)
    assert isinstance(loaded.vectors, KeyedVectors) and loaded.vectors.index_to_key == exported.index_to_key
    np.testing.assert_array_equal(loaded.vectors.vectors, exported.vectors)
    assert loaded.vectors.most_similar("government", topn=3)[0][0] in exported.index_to_key
    assert loaded.config.model._target_.endswith("SkipGram")


def test_load_run_of_a_fasttext_run_answers_unseen_words(tmp_path):
    run = train([*FAST, "model=fasttext", "model.bucket=5000", f"paths.cache_dir={tmp_path / 'cache'}"],
                output_dir=tmp_path / "ft")
    vectors = load_run(run.folder).vectors
    saved = FastTextKeyedVectors.load(str(run.folder / "vectors.kv"))
    assert isinstance(vectors, FastTextKeyedVectors) and "unbelievablyness" not in vectors.key_to_index
    np.testing.assert_allclose(vectors["unbelievablyness"], saved["unbelievablyness"], rtol=1e-6)
    np.testing.assert_allclose(vectors.vectors, saved.vectors, rtol=1e-6)


def test_load_run_of_a_language_model_gives_a_model_that_predicts(tmp_path, lm_corpus):
    run = train(["model=lstm", "data=file", f"data.path={lm_corpus}", "data.min_count=1", "model.hidden_dim=16",
                 "model.embedding_dim=16", "trainer.max_epochs=1", "trainer.limit_train_batches=5", "logger=none",
                 "callbacks.progress_bar=null", f"paths.cache_dir={tmp_path / 'cache'}"], output_dir=tmp_path / "lm")
    loaded = load_run(run.folder)
    assert loaded.vectors is None and isinstance(loaded.model, RecurrentEncoder)
    ids = torch.tensor([loaded.vocab.lookup(["the", "cat"]).tolist()])
    log_probs, _ = loaded.task.next_token_log_probs(ids)
    assert log_probs.shape == (1, len(loaded.vocab)) and torch.allclose(log_probs.exp().sum(), torch.tensor(1.0))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("lm-train") is None, reason="the package's console scripts are not installed")
def test_lm_train_is_train_py(tmp_path):
    result = subprocess.run(["lm-train", *FAST, f"hydra.run.dir={tmp_path / 'run'}",
                             f"paths.cache_dir={tmp_path / 'cache'}"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "vectors.bin").is_file() and (tmp_path / "run" / "train.log").is_file()
    shown = subprocess.run(["lm-train", "--cfg", "job"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "_target_: lm_experiments.models.skipgram.SkipGram" in shown.stdout
