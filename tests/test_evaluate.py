"""`lm_experiments.cli.evaluate` / `lm-eval`: a run folder, a checkpoint or any vectors file, scored without training;
the numbers equal the run's own, and for vectors trained elsewhere gensim's own evaluators'."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from test_sentence_models import polarity_file

from lm_experiments.cli.evaluate import evaluate
from lm_experiments.errors import UserError
from lm_experiments.run import folder as run_folder
from lm_experiments.run.training import train

VECTOR_METRICS = ("analogy", "analogy_mul", "analogy_sem", "analogy_syn", "analogy_oov", "analogy_answered",
                  "ws353", "ws353_oov", "simlex", "simlex_oov")


def _same_vector_metrics(evaluated: dict, run: dict) -> None:
    for name in VECTOR_METRICS:
        assert evaluated[name] == pytest.approx(run[f"val/{name}"], rel=1e-6, abs=1e-6), name  # (logged as float32)


def test_an_embedding_run_its_checkpoint_and_its_vectors_file_give_the_runs_own_numbers(make_cfg, tmp_path):
    metrics = train(make_cfg("trainer.max_epochs=2", "task.updater.threads=1", "callbacks.embedding_map=null"))
    run = tmp_path / "run"
    _same_vector_metrics(evaluate(run).metrics, metrics)
    _same_vector_metrics(evaluate(run / "vectors.bin").metrics, metrics)
    _same_vector_metrics(evaluate(run / "vectors.txt").metrics, metrics)
    best = evaluate(run, checkpoint="best")
    assert best.metrics == evaluate(run_folder.best_checkpoint(run)).metrics, "`best` is the kept epoch's file"
    assert best.metrics["analogy"] == pytest.approx(max(metrics["val/analogy"], best.metrics["analogy"]))
    result = subprocess.run([sys.executable, "-m", "lm_experiments.cli.evaluate", str(run), "--json",
                             "--neighbours", "government,nonsenseword"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    assert printed["kind"] == "word vectors"
    _same_vector_metrics(printed["metrics"], metrics)
    assert list(printed["neighbours"]) == ["government"] and len(printed["neighbours"]["government"]) == 5


def test_vectors_trained_by_gensim_score_as_gensims_evaluators_score_them(tmp_path):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    from gensim.test.utils import datapath

    from lm_experiments.evaluation.benchmarks import GENSIM_FILES

    model = Word2Vec(LineSentence(datapath("lee_background.cor")), vector_size=24, min_count=2, epochs=3,
                     seed=1, workers=1)
    model.wv.save(str(tmp_path / "lee.kv"))
    model.wv.save_word2vec_format(str(tmp_path / "lee.txt"))
    analogy, _ = model.wv.evaluate_word_analogies(datapath(GENSIM_FILES["analogies"]), restrict_vocab=30000)
    pearson, spearman, oov = model.wv.evaluate_word_pairs(datapath(GENSIM_FILES["ws353"]))
    for path in (tmp_path / "lee.kv", tmp_path / "lee.txt"):
        scores = evaluate(path).metrics
        assert scores["analogy"] == pytest.approx(analogy, abs=1e-12), path
        assert scores["ws353"] == pytest.approx(spearman.statistic, abs=1e-6), path
        assert scores["ws353_oov"] == pytest.approx(oov, abs=1e-9), path


def test_a_fasttext_run_answers_unseen_evaluation_words_as_in_training(make_cfg, tmp_path):
    metrics = train(make_cfg("model=fasttext", "model.bucket=20000", "trainer.limit_train_batches=3",
                             "callbacks.embedding_map=null", "task.updater.threads=1"))
    for target in (tmp_path / "run", tmp_path / "run" / run_folder.FASTTEXT_VECTORS_FILE):
        scores = evaluate(target).metrics
        assert scores["ws353_oov"] == 0.0 and scores["analogy_oov"] == 0.0, target
        for name in ("analogy", "ws353", "simlex"):
            assert scores[name] == pytest.approx(metrics[f"val/{name}"], abs=1e-5), (target, name)


def test_a_language_model_scores_its_splits_and_other_text_with_its_own_vocabulary(make_lm_cfg, lm_corpus,
                                                                                     tmp_path):
    metrics = train(make_lm_cfg("lstm", "logger=csv"))
    run = tmp_path / "run"
    tested = evaluate(run).metrics
    assert tested["test/ppl"] == pytest.approx(metrics["test/ppl"], rel=1e-6)
    assert tested["test/tokens"] == metrics["test/tokens"]
    assert evaluate(run, split="valid").metrics["val/ppl"] == pytest.approx(metrics["val/ppl"], rel=1e-6)
    # another folder whose training text differs (a vocabulary built from it would renumber every word) and
    # whose test text is the same: with the run's vocabulary, the same perplexity
    other = tmp_path / "other"
    other.mkdir()
    (other / "train.txt").write_text("zebra zebra quokka\n" * 50 + (lm_corpus / "train.txt").read_text()[::-1])
    (other / "valid.txt").write_text((lm_corpus / "valid.txt").read_text())
    (other / "test.txt").write_text((lm_corpus / "test.txt").read_text())
    moved = evaluate(run, overrides=[f"data.path={other}"]).metrics
    assert moved["test/ppl"] == pytest.approx(metrics["test/ppl"], rel=1e-6)
    # a corpus picked by name (data=file: one file, its held-out tail scored), words outside the vocabulary <unk>
    (other / "strange.txt").write_text("the zebra sees the quokka\n" * 200)
    strange = evaluate(run, overrides=["data=file", f"data.path={other / 'strange.txt'}"]).metrics
    assert strange["test/tokens"] == 6 * 10 and np.isfinite(strange["test/ppl"])


def test_a_classifier_scores_its_test_split_as_it_did(make_cfg, tmp_path):
    data = polarity_file(tmp_path / "polarity.tsv")
    metrics = train(make_cfg("model=bow", "data=labelled_file", f"data.path={data}", "model.embedding_dim=16",
                             "trainer.max_epochs=3", "optimizer.lr=0.02", fast=False))
    scores = evaluate(tmp_path / "run").metrics
    assert scores["test/acc"] == pytest.approx(metrics["test/acc"])
    assert scores["test/macro_f1"] == pytest.approx(metrics["test/macro_f1"])


@pytest.mark.parametrize("make_target, options, message", [
    (lambda tmp, run: tmp / "missing.txt", {}, "does not exist"),
    (lambda tmp, run: tmp, {}, "is not a run folder"),
    (lambda tmp, run: (tmp / "junk.bin").write_bytes(b"\x00\x01junk") and tmp / "junk.bin", {}, "not a vectors file"),
    (lambda tmp, run: run, {"overrides": ["data.path=x"]}, "word vectors are scored on the evaluation files"),
    (lambda tmp, run: run, {"overrides": ["model=lstm"]}, "data=<name> and data.<key>=<value> overrides"),
])
def test_bad_targets_and_options_get_one_line(skipgram_run, tmp_path, make_target, options, message):
    with pytest.raises(UserError, match=message):
        evaluate(make_target(tmp_path, skipgram_run), **options)
