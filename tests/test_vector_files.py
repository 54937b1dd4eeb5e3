"""The one reader of vector files: each format read as gensim reads it, told apart by its bytes, and every
damaged, inconsistent or poisoned file refused in one line (never a hang, never a silent half-read)."""

import logging

import numpy as np
import pytest
from gensim.models import KeyedVectors

from lm_experiments.errors import UserError
from lm_experiments.vectors import read_keyed_vectors

WORDS = [f"w{i}" for i in range(25)] + ["ünï"]


@pytest.fixture
def kv() -> KeyedVectors:
    vectors = KeyedVectors(16)
    vectors.add_vectors(WORDS, np.random.default_rng(0).standard_normal((len(WORDS), 16)).astype(np.float32))
    return vectors


def assert_same(read, expected):
    assert list(read.index_to_key) == list(expected.index_to_key)
    np.testing.assert_allclose(read.vectors, expected.vectors, rtol=1e-6, atol=1e-6)


def test_each_format_reads_as_gensim_reads_it(kv, tmp_path):
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "v.txt"), binary=False)
    kv.save_word2vec_format(str(tmp_path / "glove.txt"), binary=False, write_header=False)
    kv.save(str(tmp_path / "v.kv"))
    for name in ("v.bin", "v.txt", "glove.txt", "v.kv"):
        assert_same(read_keyed_vectors(tmp_path / name, "TARGET"), kv)
    (tmp_path / "renamed.vec").write_bytes((tmp_path / "v.bin").read_bytes())   # the bytes decide, not the name
    assert_same(read_keyed_vectors(tmp_path / "renamed.vec", "TARGET"), kv)


def test_a_fasttext_model_file_is_read_by_its_magic_number(tmp_path):
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    model = FastText([["a", "b", "c"], ["b", "c", "d"]] * 20, vector_size=8, min_count=1, bucket=100, epochs=1)
    save_facebook_model(model, str(tmp_path / "model.xyz"))
    read = read_keyed_vectors(tmp_path / "model.xyz", "TARGET")
    np.testing.assert_allclose(read["b"], model.wv["b"], rtol=1e-5)


def test_a_cut_binary_file_is_refused_at_once_with_the_rows_it_holds(kv, tmp_path):
    path = tmp_path / "v.bin"
    kv.save_word2vec_format(str(path), binary=True)
    whole = path.read_bytes()
    (tmp_path / "cut.bin").write_bytes(whole[: len(whole) - 20])
    with pytest.raises(UserError, match=r"cut short: its header counts 26 words, the file holds 25 whole rows"):
        read_keyed_vectors(tmp_path / "cut.bin", "TARGET")
    (tmp_path / "header.bin").write_bytes(whole[:10])   # "26 16\n" and four bytes: the case that hung
    with pytest.raises(UserError, match="cut short"):
        read_keyed_vectors(tmp_path / "header.bin", "TARGET")
    (tmp_path / "long.bin").write_bytes(whole + whole[6:200])
    with pytest.raises(UserError, match="after the 26 rows its header counts"):
        read_keyed_vectors(tmp_path / "long.bin", "TARGET")


def test_a_text_header_that_miscounts_reads_every_row_and_says_so(kv, tmp_path, caplog):
    kv.save_word2vec_format(str(tmp_path / "v.txt"), binary=False)
    lines = (tmp_path / "v.txt").read_text().splitlines()
    (tmp_path / "few.txt").write_text("\n".join(["5 16"] + lines[1:]) + "\n")
    with caplog.at_level(logging.WARNING):
        read = read_keyed_vectors(tmp_path / "few.txt", "TARGET")
    assert len(read) == 26
    assert "header counts 5 words, the file holds 26 rows" in caplog.text


@pytest.mark.parametrize(("content", "says"), [
    (b"", "is empty"),
    (b"2 3\na 1 2 3\nb 1 nan 3\n", "1 rows with NaN or infinite values (the first: 'b')"),
    (b"a 1 2\nb inf 0\n", "NaN or infinite"),
    (b"2 2\na 1 2\na 3 4\n", "1 words more than once (the first: 'a')"),
    (b"2 3\na 1 2 3\nb 1 2\n", "line 3 has 2 values where the others have 3"),
    (b"hello world\nhow are you\n", "not a vectors file"),
    (b"3 2\n", "no rows"),
    (b"\x80\x04garbage", "looks like a gensim .kv file but cannot be read"),
    (b"\xba\x16\x4f\x2f\x0c\x00\x00\x00", "looks like a fastText model but cannot be read"),
])
def test_bad_files_are_one_line(tmp_path, content, says):
    path = tmp_path / "vectors"
    path.write_bytes(content)
    with pytest.raises(UserError, match="TARGET=") as raised:
        read_keyed_vectors(path, "TARGET")
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_a_glove_word_with_spaces_keeps_them(tmp_path):
    (tmp_path / "glove.txt").write_text("the 1 2\nat&t . com 3 4\n")
    read = read_keyed_vectors(tmp_path / "glove.txt", "TARGET")
    assert read.index_to_key == ["the", "at&t . com"] and read["at&t . com"].tolist() == [3, 4]


def test_binary_rows_with_nan_are_refused(kv, tmp_path):
    kv.vectors[3, 2] = np.nan
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    with pytest.raises(UserError, match="the first: 'w3'"):
        read_keyed_vectors(tmp_path / "v.bin", "TARGET")
