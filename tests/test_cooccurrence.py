"""Co-occurrence counts against a hand count, chunk-size invariance and the cache."""

import numpy as np
import pytest
import torch

from lm_experiments.data.cooccurrence import count_cooccurrences, load_cooccurrences
from lm_experiments.data.vocab import EOS, UNK, Vocabulary

# "a b c a <unk> b <eos> c a b": 10 tokens; <unk> dropped before windows, <eos> ends the line
VOCAB = Vocabulary([UNK, EOS, "a", "b", "c"], np.array([1, 1, 4, 3, 2]))
A, B, C = 2, 3, 4
STREAM = np.array([A, B, C, A, 0, B, 1, C, A, B])


def hand_count(weighting: str) -> np.ndarray:
    """Window 2 by hand. Line 1 after dropping <unk>: a b c a b; line 2: c a b."""
    w2 = 0.5 if weighting == "harmonic" else 1.0
    expected = np.zeros((5, 5))

    def add(x, y, weight):
        expected[x, y] += weight
        expected[y, x] += weight

    line1, line2 = [A, B, C, A, B], [C, A, B]
    for line in (line1, line2):
        for i in range(len(line)):
            if i + 1 < len(line):
                add(line[i], line[i + 1], 1.0)
            if i + 2 < len(line):
                add(line[i], line[i + 2], w2)
    return expected


@pytest.mark.parametrize("weighting", ["harmonic", "none"])
def test_counts_equal_a_hand_count(weighting):
    counts = count_cooccurrences(STREAM, VOCAB, window=2, weighting=weighting)
    expected = hand_count(weighting)
    # the hand count itself: a and b are adjacent 3 times (twice in line 1, once in line 2), 2 apart once (b c a)
    assert expected[A, B] == 3 + (0.5 if weighting == "harmonic" else 1.0)
    np.testing.assert_allclose(counts.dense().numpy(), expected)


@pytest.mark.parametrize("chunk", [3, 4, 7, 1000])
def test_chunking_does_not_change_counts(chunk):
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 5, 300)
    whole = count_cooccurrences(stream, VOCAB, window=3, chunk_tokens=10**6).dense()
    assert torch.allclose(count_cooccurrences(stream, VOCAB, window=3, chunk_tokens=chunk).dense(), whole)


def test_cache_round_trip(tmp_path):
    first = load_cooccurrences(STREAM, VOCAB, tmp_path, 2, "harmonic")
    second = load_cooccurrences(STREAM, VOCAB, tmp_path, 2, "harmonic")
    assert (tmp_path / "cooccurrence-w2-harmonic" / "cells.npz").is_file()
    assert torch.equal(first.dense(), second.dense())
