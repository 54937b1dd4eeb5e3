"""Shared fixtures: the real Hydra config, composed and shrunk for CPU tests."""

import os
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from lm_experiments import CONFIG_DIR as CONF

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

torch.set_num_threads(2)
if not torch.cuda.is_available():  # GPU kernels run under Triton's interpreter, on CPU tensors (set before import)
    os.environ.setdefault("TRITON_INTERPRET", "1")


def compose_config(overrides: list[str], output_dir: Path, cache_dir: Path) -> DictConfig:
    """The config `python train.py <overrides>` would run, writing into `output_dir`."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # as under train.py: the chosen options (W&B tags) are known
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.cache_dir = str(cache_dir)
    return cfg


# Runs that need no checkpoint files (the best epoch's and last.ckpt): faster, and less disk for big tables.
NO_CHECKPOINTS = ["callbacks.model_checkpoint=null", "callbacks.last_checkpoint=null"]

# Small and fast, but the whole pipeline: corpus -> cache -> view -> model -> callbacks -> exports.
FAST = ["trainer.max_epochs=1", "trainer.limit_train_batches=30", "trainer.accelerator=cpu",
        "callbacks.progress_bar=null", "model.vector_size=16"]


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One token cache for the whole session: Lee (and the small test corpora) are tokenized once, not per test.
    Entries are keyed by source and settings and verified when opened, so tests that only read them can share
    it; tests of the cache itself use their own folders."""
    return tmp_path_factory.mktemp("shared_cache")


@pytest.fixture(scope="session")
def skipgram_run(tmp_path_factory, shared_cache) -> Path:
    """One small finished skip-gram run (Lee, 30 batches, dim 16, one thread), trained once per session for the
    tests that only read it (its checkpoint, vectors, config). Tests must not write into it."""
    from lm_experiments.run.training import train

    folder = tmp_path_factory.mktemp("skipgram_run") / "run"
    train(compose_config(FAST + ["task.updater.threads=1", "callbacks.embedding_map=null", "logger=none"], folder,
                         shared_cache))
    return folder


@pytest.fixture
def make_cfg(tmp_path, shared_cache):
    cache = shared_cache

    def make(*overrides: str, fast: bool = True, run: str = "run") -> DictConfig:
        base = FAST if fast else ["trainer.accelerator=cpu", "callbacks.progress_bar=null"]
        return compose_config(base + list(overrides), tmp_path / run, cache)

    return make


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (benchmark corpora live beside the checkout)")
    return SHARED_DATA


# Language models: the tiny grammar of lm_corpus.py, small models, a few batches.
LM_FAST = ["data=file", "data.min_count=1", "data.batch_size=8", "data.bptt=8", "data.eval_batch_size=4",
           "trainer.max_epochs=1", "trainer.accelerator=cpu", "callbacks.progress_bar=null", "logger=none"]
LM_SMALL = {"rnn": ["model.embedding_dim=16", "model.hidden_dim=16"],
            "gru": ["model.embedding_dim=16", "model.hidden_dim=16"],
            "lstm": ["model.embedding_dim=16", "model.hidden_dim=16"],
            "transformer": ["model.d_model=16", "model.num_heads=2", "model.num_layers=2", "model.block_size=16",
                            "model.eval_stride=8"],
            "nnlm": ["model.embedding_dim=8", "model.hidden_dim=16", "model.order=3"],
            "ngram": [],
            "elmo": ["model.projection_dim=16", "model.hidden_dim=32", "model.filters=[[1,8],[2,8],[3,16]]",
                     "data.view.block_size=12"]}


@pytest.fixture
def lm_corpus(tmp_path):
    from lm_corpus import write_lm_corpus

    return write_lm_corpus(tmp_path / "lm_corpus")


@pytest.fixture
def make_lm_cfg(tmp_path, lm_corpus, shared_cache):
    cache = shared_cache

    def make(model: str, *overrides: str, run: str = "run") -> DictConfig:
        base = LM_FAST + [f"data.path={lm_corpus}", f"model={model}"] + LM_SMALL[model]
        return compose_config(base + list(overrides), tmp_path / run, cache)

    return make
