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
    assert (tmp_path / "cooccurrence-w2-harmonic" / "values").is_file()
    assert torch.equal(first.dense(), second.dense())


@pytest.mark.parametrize("memory", [1e-6, 1e-5, 2.0])
def test_counting_within_a_tiny_memory_spills_and_merges_to_the_same_cells(memory, tmp_path):
    """1e-6 GB (about 1 KB): a dense table of a few frequent pairs, a buffer of a few dozen pairs, many sorted runs
    on disk and a merge in many key ranges; the cells equal the hand count and the in-memory count."""
    rng = np.random.default_rng(1)
    stream = rng.integers(0, 5, 2000)
    expected = count_cooccurrences(stream, VOCAB, window=4, memory=2.0).dense()
    counted = count_cooccurrences(stream, VOCAB, window=4, memory=memory, folder=tmp_path, chunk_tokens=333)
    torch.testing.assert_close(counted.dense(), expected)
    assert np.all(np.diff(counted.rows.astype(np.int64) * 5 + counted.cols) > 0), "sorted by (row, col), distinct"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.json", "cols", "rows", "values"], "runs removed"


def test_the_memory_split_follows_glove_c(tmp_path):
    """Pairs whose frequency ranks multiply to at most max_product get dense slots, the rest go to the buffer."""
    from lm_experiments.data.cooccurrence import dense_slots, plan_counting

    plan = plan_counting(1000, 2**20, window=10)
    assert dense_slots(plan.max_product, 1000) * 8 <= 0.45 * 2**20 < dense_slots(plan.max_product + 1, 1000) * 8
    assert plan.row_start[1] == min(1000, plan.max_product) and plan.buffer * 16 <= 0.45 * 2**20


def test_shuffled_cells_are_a_seeded_permutation_in_any_memory(tmp_path):
    from lm_experiments.data.cooccurrence import read_cells, shuffle_into

    rng = np.random.default_rng(2)
    cells = count_cooccurrences(rng.integers(0, 5, 500), VOCAB, window=3, weighting="none")
    shuffled = []
    for name, memory in (("a", 48 * 7), ("b", 48 * 7), ("c", 2**30)):  # 7 cells a bucket: several buckets
        (tmp_path / name).mkdir()
        shuffle_into(cells, tmp_path / name, seed=5, memory_bytes=memory)
        shuffled.append(read_cells(tmp_path / name))
    key = lambda c: np.asarray(c.rows, np.int64) * 5 + c.cols  # noqa: E731
    assert np.array_equal(key(shuffled[0]), key(shuffled[1])), "the same seed, the same order"
    assert not np.array_equal(key(shuffled[0]), key(cells)), "shuffled"
    for each in shuffled:
        order = np.argsort(key(each))
        assert np.array_equal(key(each)[order], key(cells)) and np.array_equal(each.values[order], cells.values)


@pytest.mark.parametrize("memory", [0, -1, "lots"])
def test_a_memory_that_is_not_positive_is_one_clear_error(memory):
    from lm_experiments.errors import UserError

    with pytest.raises(UserError, match="data.view.memory .* must be positive"):
        count_cooccurrences(STREAM, VOCAB, window=2, memory=memory)


def test_a_cache_that_cannot_be_written_is_one_line_and_leaves_no_entry(tmp_path):
    from lm_experiments.errors import UserError

    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    with pytest.raises(UserError, match="Could not write the co-occurrence counts .* paths.cache_dir"):
        load_cooccurrences(STREAM, VOCAB, blocked / "cache", 2, "harmonic")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
