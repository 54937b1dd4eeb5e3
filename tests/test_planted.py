"""Every embedding model x objective learns planted analogies that random vectors cannot answer."""

import pytest
import torch
from conftest import NO_CHECKPOINTS
from planted import write_planted_corpus

from lm_experiments.evaluation.analogy import AnalogyEvaluator
from lm_experiments.run.training import train


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return write_planted_corpus(tmp_path_factory.mktemp("planted"))


def test_random_vectors_fail_the_planted_analogies(planted):
    corpus, analogies = planted
    words = sorted(set(corpus.read_text().split()))
    random_vectors = torch.randn(len(words), 16, generator=torch.Generator().manual_seed(0))
    scores = AnalogyEvaluator(words, analogies)(random_vectors)
    assert scores["analogy_answered"] == 12 * 11
    assert scores["analogy"] < 0.1 and scores["analogy_mul"] < 0.1


AUTOGRAD = ["task/updater=autograd", "task.updater.examples_per_step=256"]


@pytest.mark.slow
@pytest.mark.parametrize("model, sampler, updater", [
    ("skipgram", "negative", AUTOGRAD), ("skipgram", "hierarchical", AUTOGRAD), ("skipgram", "full", AUTOGRAD),
    ("skipgram", "nce", AUTOGRAD), ("cbow", "negative", AUTOGRAD), ("cbow", "hierarchical", AUTOGRAD),
    ("cbow", "full", AUTOGRAD), ("cbow", "nce", AUTOGRAD),
    ("skipgram", "negative sampler.noise_sharing=step sampler.noise_pool=64", AUTOGRAD),
    # the fused kernel: one thread, and two threads writing the same tables without locks
    ("skipgram", "negative", ["task/updater=fused", "task.updater.threads=1"]),
    ("skipgram", "negative", ["task/updater=fused", "task.updater.threads=2"]),
    ("skipgram", "hierarchical", ["task/updater=fused", "task.updater.threads=2"]),
    ("cbow", "negative", ["task/updater=fused", "task.updater.threads=2"]),
    ("cbow", "hierarchical", ["task/updater=fused", "task.updater.threads=2"]),
], ids=lambda value: "-".join(value) if isinstance(value, list) else value.split()[0] + "-shared" * ("step" in value))
def test_each_model_learns_the_planted_analogies(make_cfg, planted, model, sampler, updater):
    corpus, analogies = planted
    sampler, *sampler_options = sampler.split()
    metrics = train(make_cfg(
        "data=file", f"data.path={corpus}", "data.tokenizer=whitespace", "data.min_count=1", "data.sample=0",
        "data.window=3", "data.batch_words=1024", f"model={model}", f"sampler={sampler}", "model.vector_size=16",
        *updater, "trainer.max_epochs=6", "logger=none", *NO_CHECKPOINTS,
        f"callbacks.embedding_eval.analogies={analogies}", "callbacks.embedding_eval.similarity={}",
        "callbacks.embedding_eval.every_n_epochs=100", *sampler_options,
        fast=False, run=f"{model}-{sampler}-{len(sampler_options)}-{updater[-1]}"))
    assert metrics["val/analogy_answered"] == 12 * 11
    assert metrics["val/analogy"] > 0.8, metrics
