"""Every step that can last more than a few seconds on a large corpus says how far it is (`ProgressLog`): n-gram
counting per order, Kneser-Ney's estimation, the ARPA file written and read, the GloVe shuffle, PPMI, the SVD's
power iterations, the vector files. At a small scale with the 2-second spacing off, each logs its lines."""

import logging

import numpy as np
import pytest
import torch
from test_ngram import encode, fitted, random_lines

from lm_experiments import progress


@pytest.fixture
def every_line(monkeypatch, caplog):
    """Progress lines at every 10% however fast the step (normally at most one every 2 seconds)."""
    monkeypatch.setattr(progress.ProgressLog.__init__, "__defaults__", ("", 0.1, 0.0))
    caplog.set_level(logging.INFO, logger="lm_experiments")
    return caplog


def lines_of(caplog, description: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(description)]


def test_ngram_counting_estimation_and_the_arpa_file_say_how_far_they_are(every_line, tmp_path):
    from lm_experiments.models.ngram import NGramModel
    from lm_experiments.ngram.counts import NGramCounts

    words = [f"w{i}" for i in range(100)]
    lines = random_lines(np.random.default_rng(0), words, 3000)
    model = fitted(lines, words, order=3)
    NGramCounts(encode(lines, model.vocab), 3, len(model.vocab), model.vocab.eos_index, chunk=500)
    for k in (2, 3):
        counting = lines_of(every_line, f"counting {k}-grams")
        assert len(counting) >= 5 and counting[-1].startswith(f"counting {k}-grams: done in"), counting
        assert "sorted runs" in counting[0]
    assert lines_of(every_line, "estimating Kneser-Ney: done in")[0].count("/") == 6, "each order's discounts"
    model.write_arpa(tmp_path / "model.arpa")
    assert lines_of(every_line, "writing model.arpa: done in")
    NGramModel(model.vocab, order=3).load(tmp_path / "model.arpa")
    assert lines_of(every_line, "reading model.arpa: done in")


def test_the_shuffle_ppmi_svd_and_vector_files_say_how_far_they_are(every_line, tmp_path):
    from lm_experiments.data.cooccurrence import count_cooccurrences, shuffle_into
    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.models.svd import ppmi_matrix, randomized_svd
    from lm_experiments.vectors.writing import export_word_vectors

    vocab = Vocabulary(["<unk>", "<eos>", *[f"w{i}" for i in range(50)]], np.array([0, 0, *range(100, 50, -1)]))
    cells = count_cooccurrences(np.random.default_rng(1).integers(2, 52, 5000), vocab, window=3)
    shuffle_into(cells, tmp_path, seed=1, memory_bytes=48 * 200)
    assert len(lines_of(every_line, "shuffling")) >= 5
    batch = cells.batch(slice(None))
    matrix = ppmi_matrix(batch.rows, batch.cols, batch.values, len(vocab))
    assert lines_of(every_line, "PPMI of")[-1].endswith("positive)")
    randomized_svd(matrix, 8, niter=3)
    svd = [line.split(": ", 1)[1] for line in lines_of(every_line, "randomized SVD")]
    assert svd[:4] == ["20% (range found)", "40% (power iteration 1)", "60% (power iteration 2)",
                       "80% (power iteration 3)"] and svd[4].startswith("done in"), svd
    export_word_vectors(list(vocab.itos), torch.randn(len(vocab), 4), tmp_path)
    assert lines_of(every_line, "writing vectors.txt: done in") and lines_of(every_line, "writing vectors.bin")


def test_the_randomized_svd_is_torchs_svd_lowrank_step_for_step():
    from lm_experiments.models.svd import randomized_svd

    torch.manual_seed(0)
    matrix = torch.sparse_coo_tensor(torch.randint(0, 300, (2, 3000)), torch.rand(3000), (300, 300)).coalesce()
    torch.manual_seed(1)
    expected_left, expected_values, _ = torch.svd_lowrank(matrix, q=40, niter=4)
    torch.manual_seed(1)
    left, values = randomized_svd(matrix, 40, niter=4)
    assert torch.equal(values, expected_values) and torch.equal(left, expected_left)
