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


def test_the_compiled_text_of_each_number_is_pythons_9g_byte_for_byte():
    from lm_experiments.vectors.writing import text_rows

    rng = np.random.default_rng(1)
    scales = 10.0 ** rng.uniform(-12, 12, size=(2000, 1))  # every magnitude, the kernel's range and beyond it
    vectors = (rng.standard_normal((2000, 50)) * scales).astype(np.float32)
    vectors[0, :12] = [0.0, -0.0, 1.0, -1.0, 1e-4, 9.99999999e-5, 1e-5, 123456789.0, 1e9, 0.5, 1e8, 99999.99]
    vectors[1, :4] = [np.inf, -np.inf, np.nan, 3.0]
    # the next float32 after round decimals, and values whose tenth digit is a tie at 9 digits
    vectors[2] = np.nextafter(np.float32(10.0) ** np.arange(-6, 44, dtype=np.float64).clip(max=38)[:50]
                              .astype(np.float32), np.float32(np.inf))
    vectors[3] = (np.arange(50) * 0.0625 + 1 / 3).astype(np.float32)
    expected = [" ".join(f"{value:.9g}" for value in row.tolist()).encode() for row in vectors]
    assert text_rows(vectors) == expected
    typical = (rng.standard_normal((500, 100)) * 0.3).astype(np.float32)  # word vectors' own range: all compiled
    from lm_experiments.kernels.text_numbers import format_rows

    assert format_rows(typical)[2].all()
    assert text_rows(typical) == [" ".join(f"{value:.9g}" for value in row.tolist()).encode() for row in typical]
