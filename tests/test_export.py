"""Exported vectors are word2vec-format files that gensim loads back exactly."""

import numpy as np
import pytest
from gensim.models import KeyedVectors

from lm_experiments.vectors import save_word2vec_format


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_through_gensim(tmp_path, binary):
    rng = np.random.default_rng(0)
    words = ["the", "café", "naïve", "x"]
    vectors = rng.standard_normal((4, 7)).astype(np.float32) * 1e3
    path = save_word2vec_format(words, vectors, tmp_path / "v", binary=binary)
    loaded = KeyedVectors.load_word2vec_format(path, binary=binary)
    assert loaded.index_to_key == words
    assert np.array_equal(loaded.vectors, vectors)  # float32 round-trips exactly in both formats
    assert not [p for p in tmp_path.iterdir() if p.name != "v"], "no temporary file left behind"


def test_refuses_words_it_cannot_store(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        save_word2vec_format(["a b"], np.zeros((1, 2)), tmp_path / "v.txt", binary=False)
    assert not list(tmp_path.iterdir())


def test_artefacts_get_the_usual_file_mode(tmp_path):
    import os

    from lm_experiments.files import atomic_write

    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt") as handle:
            handle.write("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
