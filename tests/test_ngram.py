"""Counting n-gram models: counts, a hand-computed Kneser-Ney toy, normalisation, KenLM agreement, ARPA, runs."""

import math
from collections import Counter

import numpy as np
import pytest
import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.ngram import NGramModel
from lm_experiments.ngram.counts import NGramCounts
from lm_experiments.run.training import train
from lm_experiments.tasks.ngram import NGramTask


def vocab_of(words: list[str]) -> Vocabulary:
    return Vocabulary(["<unk>", "<eos>"] + words, np.array([0, 0] + [1] * len(words)))


def encode(lines: list[str], vocab: Vocabulary) -> np.ndarray:
    return np.concatenate([vocab.lookup(line.split() + ["<eos>"]) for line in lines])


def random_lines(rng: np.random.Generator, words: list[str], count: int) -> list[str]:
    zipf = 1.0 / np.arange(1, len(words) + 1)
    return [" ".join(rng.choice(words, size=rng.integers(1, 9), p=zipf / zipf.sum())) for _ in range(count)]


def fitted(lines, words, order, smoothing="kneser_ney", **options) -> NGramModel:
    vocab = vocab_of(words)
    model = NGramModel(vocab, order=order, smoothing=smoothing, **options)
    model.fit(encode(lines, vocab))
    return model


def test_counts_equal_a_plain_python_count_per_sentence():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    lines = random_lines(rng, words, 300)
    vocab = vocab_of(words)
    counts = NGramCounts(encode(lines, vocab), 4, len(vocab), vocab.eos_index)
    for k in range(2, 5):
        expected = Counter()
        for line in lines:
            padded = ["<s>"] + line.split() + ["</s>"]
            expected.update(tuple(padded[i: i + k]) for i in range(len(padded) - k + 1))
        table = counts.tables[k]
        names = [["<s>" if (j == 0 and t == 1) else ("</s>" if t == 1 else vocab.itos[t]) for j, t in enumerate(row)]
                 for row in counts.tokens_of(k)]
        assert dict(zip(map(tuple, names), table.counts.tolist())) == dict(expected)


@pytest.mark.parametrize("chunk, memory", [(7, 64), (50, 10**4), (1 << 21, 1 << 30)])
def test_counting_in_chunks_within_little_memory_gives_the_same_tables(chunk, memory, tmp_path):
    """Chunks of 7 positions (sentences cut across chunks) and merges of a few entries at a time: the tables, the
    suffix links and the suffixes' first words equal the counts of the whole stream at once."""
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(9)]
    vocab = vocab_of(words)
    stream = encode(random_lines(rng, words, 200), vocab)
    whole = NGramCounts(stream, 5, len(vocab), vocab.eos_index)
    pieces = NGramCounts(stream, 5, len(vocab), vocab.eos_index, memory_bytes=memory,
                         chunk=chunk, scratch=tmp_path)
    assert np.array_equal(whole.unigram_counts, pieces.unigram_counts)
    for k in range(2, 6):
        for field in ("keys", "counts", "prefix", "suffix"):
            assert np.array_equal(getattr(whole.tables[k], field), getattr(pieces.tables[k], field)), (k, field)
        assert np.array_equal(pieces.first_words(k), pieces.tokens_of(k)[:, 0])
    assert list(tmp_path.iterdir()) == [], "the scratch files are removed"


@pytest.mark.parametrize("lines", [60, 1])
def test_scoring_in_pieces_gives_the_same_log_probabilities(lines):
    """Pieces of 1, 7 or 100 tokens, cut inside sentences (one of the splits is a single long line, as text8 is),
    each read after the tokens its contexts reach: the same numbers as the whole split at once."""
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(20)]
    model = fitted(random_lines(rng, words, 400), words, order=4)
    held_out = encode(random_lines(rng, words, 60), model.vocab)
    if lines == 1:
        held_out = held_out[held_out != model.vocab.eos_index]
    whole = model.stream_log_probs(held_out, chunk=10**9)
    for chunk in (1, 7, 100):
        np.testing.assert_array_equal(model.stream_log_probs(held_out, chunk=chunk), whole)


def test_kneser_ney_on_a_hand_computed_toy():
    """Corpus "a b / a b / b a", order 2, fixed discounts D1=0.5, D2=1, D3+=1.5; V = {<unk>, </s>, a, b}.

    Unigram continuation counts: a, b and </s> each follow 2 distinct words -> total 6, each
    discounted by D2 = 1 -> 1/6, gamma = 3/6, so p(a) = p(b) = p(</s>) = 1/6 + 0.5/4 = 7/24 and
    p(<unk>) = 3/24. After "a": b twice, </s> once -> total 3, gamma = (1 + 0.5)/3 = 0.5:
    p(b|a) = 1/3 + 0.5 * 7/24 = 23/48, p(</s>|a) = 0.5/3 + 7/48 = 15/48, p(a|a) = 7/48.
    "a b </s>" = p(a|<s>) p(b|a) p(</s>|b) = (23/48)^3 by the same arithmetic for <s> and b.
    """
    model = fitted(["a b", "a b", "b a"], ["a", "b"], order=2, discounts=[0.5, 1.0, 1.5])
    vocab, kn = model.vocab, model.estimator
    a, b, eos, unk = vocab.stoi["a"], vocab.stoi["b"], vocab.eos_index, vocab.unk_index
    np.testing.assert_allclose(np.exp(kn.log_probs[1][[a, b, eos, unk]]), [7 / 24, 7 / 24, 7 / 24, 3 / 24])
    task = NGramTask(vocab, model)
    after_a = np.exp(task.next_token_log_probs(torch.tensor([[a]]))[0][0].double().numpy())
    np.testing.assert_allclose(after_a[[b, eos, a, unk]], [23 / 48, 15 / 48, 7 / 48, 3 / 48], rtol=1e-6)
    np.testing.assert_allclose(model.stream_log_probs(encode(["a b"], vocab)).sum(), 3 * math.log(23 / 48))


def test_discounts_from_count_of_counts_need_enough_data():
    with pytest.raises(UserError, match="Cannot estimate Kneser-Ney discounts"):
        fitted(["a b", "a b", "b a"], ["a", "b"], order=2, discount_fallback=False)
    fallback = fitted(["a b", "a b", "b a"], ["a", "b"], order=2)  # KenLM's --discount_fallback values
    np.testing.assert_allclose(fallback.estimator.discounts[2], [0.5, 1.0, 1.5])


def test_discounts_follow_chen_and_goodman():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    model = fitted(random_lines(rng, words, 2000), words, order=2)
    adjusted = model.estimator.counts.tables[2].counts
    n1, n2, n3, n4 = ((adjusted == c).sum() for c in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2)
    np.testing.assert_allclose(model.estimator.discounts[2], [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2,
                                                               3 - 4 * y * n4 / n3])


@pytest.mark.parametrize("smoothing", ["kneser_ney", "add_k"])
def test_next_word_distributions_sum_to_one(smoothing):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(300)]
    model = fitted(random_lines(rng, words, 2000), words, order=3, smoothing=smoothing)
    vocab = model.vocab
    histories = [rng.integers(2, len(vocab), size=rng.integers(0, 5)).tolist() for _ in range(20)]
    histories += [[vocab.eos_index], [vocab.stoi["w0"], vocab.eos_index], [vocab.unk_index, vocab.stoi["w1"]]]
    task = NGramTask(vocab, model)
    for history in histories:
        log_probs, _ = task.next_token_log_probs(torch.tensor([history or [vocab.eos_index]]))
        assert float(torch.logsumexp(log_probs.double(), -1)) == pytest.approx(0.0, abs=1e-5)


def test_mle_is_relative_frequency_and_infinite_on_unseen_events():
    model = fitted(["a b", "a b", "b a"], ["a", "b"], order=2, smoothing="mle")
    vocab = model.vocab
    assert np.exp(model.stream_log_probs(encode(["a b"], vocab))).prod() == pytest.approx(2 / 3 * 2 / 3 * 2 / 3)
    assert np.isneginf(model.stream_log_probs(encode(["b b"], vocab))).any()
    unseen_context = fitted(["a b", "a b", "b a"], ["a", "b", "c"], order=2, smoothing="mle")
    log_probs = unseen_context.stream_log_probs(encode(["c a"], unseen_context.vocab))  # nothing ever followed "c"
    assert np.isneginf(log_probs).any() and not np.isnan(log_probs).any()


def test_kenlm_scores_our_arpa_file_exactly_as_we_do(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    rng = np.random.default_rng(2)
    words = [f"w{i}" for i in range(300)]
    model = fitted(random_lines(rng, words, 3000), words, order=4)
    model.write_arpa(tmp_path / "model.arpa")
    held_out = random_lines(rng, words + ["never_seen"], 200)  # an unseen word scores as <unk>
    reference = kenlm.Model(str(tmp_path / "model.arpa"))
    kenlm_log10 = sum(reference.score(line, bos=True, eos=True) for line in held_out)
    ours = model.stream_log_probs(encode(held_out, model.vocab)).sum() / math.log(10)
    assert ours == pytest.approx(kenlm_log10, rel=1e-5)


def test_stupid_backoff_logs_a_pseudo_perplexity(make_lm_cfg):
    metrics = train(make_lm_cfg("ngram", "model.smoothing=stupid_backoff"))
    assert "test/pseudo_ppl" in metrics and "test/ppl" not in metrics


def test_ngram_run_reports_perplexity_and_writes_an_arpa_file(make_lm_cfg, tmp_path):
    metrics = train(make_lm_cfg("ngram", "model.order=3"))
    # the grammar leaves few choices per word: far below a uniform guess over the ~25 words
    assert 1.0 < metrics["test/ppl"] < 5.0 and metrics["val/ppl"] < 5.0
    arpa = (tmp_path / "run" / "model.arpa").read_text()
    assert arpa.startswith("\\data\\\nngram 1=") and "\n-99\t<s>\t" in arpa and arpa.endswith("\\end\\\n")


def test_the_kenlm_backend_without_lmplz_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no lmplz anywhere
    vocab = vocab_of(["a", "b"])
    with pytest.raises(UserError, match="model.backend=kenlm estimates with KenLM's lmplz, and lmplz is not on PATH"):
        NGramModel(vocab, order=3, backend="kenlm").check_can_fit()
    with pytest.raises(UserError, match="model.lmplz=/no/lmplz is not a file"):
        NGramModel(vocab, order=3, backend="kenlm", lmplz="/no/lmplz").check_can_fit()
    with pytest.raises(UserError, match="model.backend must be one of ours, kenlm"):
        NGramModel(vocab, backend="srilm")
    with pytest.raises(UserError, match="model.memory .* must be at least 0.0156 \\(16 MB\\)"):
        NGramModel(vocab, memory=0)


def test_the_kenlm_backend_estimates_with_lmplz_as_our_estimator_does(tmp_path):
    """Where KenLM's lmplz is installed: its model of the same sentences gives the held-out text the perplexity ours
    gives (both interpolated modified Kneser-Ney with discounts from the counts), and the task exports its ARPA.
    (With lmplz built from kpu/kenlm, PTB's KN5 through `model.backend=kenlm` tests at 141.1862, ours 141.1861.)"""
    import shutil

    if shutil.which("lmplz") is None:
        pytest.skip("KenLM's lmplz is not on PATH")
    pytest.importorskip("kenlm")
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(40)]
    # <unk> is a word of the text, as in PTB (lmplz refuses the name; the backend renames it)
    train_lines, held_out = random_lines(rng, words + ["<unk>"], 3000), random_lines(rng, words + ["<unk>"], 300)
    ours = fitted(train_lines, words, order=3)
    theirs = NGramModel(ours.vocab, order=3, backend="kenlm")
    theirs.fit(encode(train_lines, ours.vocab))
    tokens = encode(held_out, ours.vocab)
    mine, kenlm = ours.stream_log_probs(tokens), theirs.stream_log_probs(tokens)
    assert kenlm.shape == mine.shape and np.isfinite(kenlm).all()
    assert np.exp(-kenlm.mean()) == pytest.approx(np.exp(-mine.mean()), rel=1e-3)
    assert theirs.table_sizes()[1:] == ours.table_sizes()[1:]
    log_probs = theirs.next_word_log_probs([[ours.vocab.stoi["w1"]]])
    assert float(np.logaddexp.reduce(log_probs[0])) == pytest.approx(0.0, abs=1e-3)
    assert theirs.write_arpa(tmp_path / "model.arpa").read_text().startswith("\\data\\")
