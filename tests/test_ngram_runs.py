"""A finished n-gram run is a run like any other: `load_run`, `lm-eval RUN` (its split or `--data FILE`) and
`lm-compare` read it, through its model.arpa (Kneser-Ney) or by counting its training split again (the smoothings
no ARPA file holds), and score what it scored at the end of training; KenLM scores the same file equally."""

import math
import shutil

import numpy as np
import pytest
from test_ngram import encode, fitted, random_lines

from lm_experiments.cli.compare import main as compare_main
from lm_experiments.cli.evaluate import evaluate
from lm_experiments.errors import UserError
from lm_experiments.models.ngram import NGramModel
from lm_experiments.ngram.arpa_reading import read_arpa
from lm_experiments.ngram.kenlm_backend import UNK_WORD, kenlm_names
from lm_experiments.run.api import load_run
from lm_experiments.run.training import train

WORDS = [f"w{i}" for i in range(200)]


def test_an_arpa_file_read_back_scores_and_writes_as_the_model_that_wrote_it(tmp_path):
    rng = np.random.default_rng(4)
    model = fitted(random_lines(rng, WORDS, 2000), WORDS, order=4)
    model.write_arpa(tmp_path / "model.arpa")
    loaded = NGramModel(model.vocab, order=4)
    loaded.load(tmp_path / "model.arpa")
    held_out = encode(random_lines(rng, WORDS, 300), model.vocab)
    ours, back = model.stream_log_probs(held_out), loaded.stream_log_probs(held_out)
    assert np.allclose(back, ours, rtol=1e-6, atol=1e-6), "7 significant digits in the file"
    assert loaded.table_sizes() == model.table_sizes()
    histories = [[], [5, 6], list(held_out[:9])]
    assert np.allclose(np.exp(loaded.next_word_log_probs(histories)).sum(-1), 1.0, atol=1e-5)
    loaded.write_arpa(tmp_path / "again.arpa")
    assert (tmp_path / "again.arpa").read_bytes() == (tmp_path / "model.arpa").read_bytes(), "a fixed point"


def test_lmplz_names_and_its_own_unknown_word_are_read_as_the_run_wrote_them(tmp_path):
    """Under model.backend=kenlm the file names the run's <unk> UNK_WORD and adds lmplz's own <unk> entry."""
    rng = np.random.default_rng(5)
    lines = random_lines(rng, ["<unk>", *WORDS[:50]], 800)  # <unk> as a word of the text, as in PTB
    model = fitted(lines, WORDS[:50], order=3)
    model.write_arpa(tmp_path / "ours.arpa")
    text = (tmp_path / "ours.arpa").read_text()
    assert text.count("<unk>") > 10, "<unk> in n-grams of every order"
    unigrams = int(text.split("ngram 1=")[1].split("\n")[0])
    lmplz_like = text.replace("<unk>", UNK_WORD).replace(f"ngram 1={unigrams}\n", f"ngram 1={unigrams + 1}\n") \
        .replace("\\1-grams:\n", "\\1-grams:\n-5.2\t<unk>\t0\n")
    (tmp_path / "lmplz.arpa").write_text(lmplz_like)
    back = read_arpa(tmp_path / "lmplz.arpa", kenlm_names(model.vocab.itos), model.vocab.eos_index)
    assert np.allclose(back.log_probs[1], model.estimator.log_probs[1], rtol=1e-6)
    assert np.allclose(back.log_probs[3], model.estimator.log_probs[3], rtol=1e-6)


@pytest.mark.parametrize(("damage", "says"), [
    (lambda t: t[: len(t) // 2], r"ends (inside its \d-grams|before its \\\d-grams:)"),
    (lambda t: t.replace("w7", "stranger"), r"holds the word 'stranger', which the run's vocabulary does not"),
    (lambda t: "hello\n" + t, r"is not an ARPA file: it does not begin with \\data\\"),
])
def test_an_arpa_file_that_is_not_the_runs_model_is_one_line(tmp_path, damage, says):
    model = fitted(random_lines(np.random.default_rng(6), WORDS[:30], 300), WORDS[:30], order=3)
    model.write_arpa(tmp_path / "model.arpa")
    (tmp_path / "model.arpa").write_text(damage((tmp_path / "model.arpa").read_text()))
    with pytest.raises(UserError, match=says):
        NGramModel(model.vocab, order=3).load(tmp_path / "model.arpa")


def test_an_ngram_run_loads_and_scores_what_it_scored_at_the_end_of_training(make_lm_cfg, lm_corpus, tmp_path,
                                                                               capsys):
    metrics = train(make_lm_cfg("ngram", "model.order=3", run="kn"))
    folder = tmp_path / "kn"
    assert not (folder / "checkpoints").exists(), "no optimizer step, no checkpoint: the ARPA file is the model"
    run = load_run(folder)
    assert run.model.fitted and run.model.table_sizes()[0] == len(run.vocab)
    again = evaluate(folder)
    assert again.metrics["test/ppl"] == pytest.approx(metrics["test/ppl"], rel=1e-6)
    whole = evaluate(folder, data_file=str(lm_corpus / "test.txt"))
    assert whole.metrics["test/ppl"] == pytest.approx(metrics["test/ppl"], rel=1e-6), "the test file, scored whole"
    assert whole.metrics["test/tokens"] == again.metrics["test/tokens"]
    with pytest.raises(UserError, match="keeps no checkpoint: its model is the files it exported"):
        evaluate(folder, checkpoint=str(folder / "x.ckpt"))
    assert compare_main([str(folder), "--samples"]) == 0
    shown = capsys.readouterr().out
    assert "kn" in shown and f"{metrics['test/ppl']:.4f}" in shown and "samples.txt" in shown


def test_an_ngram_run_whose_model_no_arpa_holds_is_counted_again_from_its_training_split(make_lm_cfg, tmp_path):
    metrics = train(make_lm_cfg("ngram", "model.order=3", "model.smoothing=stupid_backoff", run="sb"))
    again = evaluate(tmp_path / "sb")
    assert again.metrics["test/pseudo_ppl"] == pytest.approx(metrics["test/pseudo_ppl"], rel=1e-9)


def test_kenlm_scores_the_runs_arpa_file_as_the_run_did(make_lm_cfg, lm_corpus, tmp_path):
    kenlm = pytest.importorskip("kenlm")
    metrics = train(make_lm_cfg("ngram", "model.order=4", run="kn4"))
    reference = kenlm.Model(str(tmp_path / "kn4" / "model.arpa"))
    lines = (lm_corpus / "test.txt").read_text().splitlines()
    log10 = sum(reference.score(" ".join(line.lower().split()), bos=True, eos=True) for line in lines)
    tokens = sum(len(line.split()) + 1 for line in lines)
    assert 10 ** (-log10 / tokens) == pytest.approx(metrics["test/ppl"], rel=1e-5)


@pytest.mark.slow
def test_a_kn5_run_on_ptb_reads_back_to_its_test_perplexity_and_kenlm_agrees(shared_data, tmp_path, shared_cache):
    import gzip

    from conftest import compose_config

    kenlm = pytest.importorskip("kenlm")
    ptb = shared_data / "ptb"
    metrics = train(compose_config(["model=ngram", "data=ptb", f"data.path={ptb}", "model.order=5", "logger=none",
                                    "callbacks.progress_bar=null"], tmp_path / "kn5", shared_cache))
    again = evaluate(tmp_path / "kn5", data_file=str(ptb / "ptb.test.txt.gz"))
    assert again.metrics["test/ppl"] == pytest.approx(metrics["test/ppl"], rel=1e-6)
    reference = kenlm.Model(str(tmp_path / "kn5" / "model.arpa"))
    with gzip.open(ptb / "ptb.test.txt.gz", "rt") as handle:
        lines = [line.split() for line in handle]
    log10 = sum(reference.score(" ".join(words), bos=True, eos=True) for words in lines)
    kenlm_ppl = 10 ** (-log10 / sum(len(words) + 1 for words in lines))
    assert kenlm_ppl == pytest.approx(metrics["test/ppl"], rel=1e-5)
    assert math.isclose(metrics["test/ppl"], 141.19, rel_tol=2e-3), "PTB KN5 as KenLM estimates it (141.186)"
    shutil.rmtree(tmp_path / "kn5")


def test_a_kenlm_binary_is_written_where_build_binary_is_and_scores_as_the_arpa_file(make_lm_cfg, lm_corpus,
                                                                                      tmp_path):
    pytest.importorskip("kenlm")
    tool = tmp_path / "build_binary"  # stands in for KenLM's (not built here): kenlm loads an ARPA file by any name
    tool.write_text("#!/bin/sh\ncp \"$1\" \"$2\"\n")
    tool.chmod(0o755)
    metrics = train(make_lm_cfg("ngram", "model.order=3", f"model.build_binary={tool}", run="bin"))
    binary = tmp_path / "bin" / "model.binary"
    assert binary.read_bytes() == (tmp_path / "bin" / "model.arpa").read_bytes()
    scored = evaluate(binary, data_file=str(lm_corpus / "test.txt"))
    assert scored.metrics["test/ppl"] == pytest.approx(metrics["test/ppl"], rel=1e-5)
    with pytest.raises(UserError, match="is a language model file: give the text to score with --data FILE"):
        evaluate(binary)


def test_a_build_binary_that_fails_or_is_missing_is_one_line(tmp_path):
    from lm_experiments.ngram.kenlm_backend import build_binary, find_build_binary

    assert find_build_binary(False) is None
    with pytest.raises(UserError, match="model.build_binary=/no/tool is not a file"):
        find_build_binary("/no/tool")
    tool = tmp_path / "build_binary"
    tool.write_text("#!/bin/sh\necho 'Bad ARPA header' >&2\nexit 1\n")
    tool.chmod(0o755)
    (tmp_path / "model.arpa").write_text("\\data\\\n")
    with pytest.raises(UserError, match=r"could not build the binary model of .*model.arpa \(exit 1\): Bad ARPA"):
        build_binary(str(tool), tmp_path / "model.arpa", tmp_path / "model.binary")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build_binary", "model.arpa"], "nothing half-written"


def test_an_arpa_file_formatted_on_several_threads_is_the_one_thread_file(tmp_path, monkeypatch):
    from lm_experiments.ngram import arpa

    monkeypatch.setattr(arpa, "BLOCK", 61)  # many blocks a order, the last of each short, written in the file's order
    model = fitted(random_lines(np.random.default_rng(5), WORDS, 1500), WORDS, order=4)
    one = arpa.write_arpa(model.estimator, model.vocab.itos, tmp_path / "one.arpa", threads=1)
    several = arpa.write_arpa(model.estimator, model.vocab.itos, tmp_path / "several.arpa", threads=3)
    assert several.read_bytes() == one.read_bytes()
    assert one.read_bytes().count(b"\n\\4-grams:\n") == 1 and one.read_bytes().endswith(b"\n\\end\\\n")
