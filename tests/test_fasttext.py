"""fastText: hashing and n-grams byte-for-byte with gensim, vectors equal to gensim's FastTextKeyedVectors
built from our weights (in-vocabulary and out-of-vocabulary), and training end to end."""

from functools import partial

import numpy as np
import pytest
import torch
from conftest import NO_CHECKPOINTS
from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes

from lm_experiments.data.batches import PairBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.fasttext import FastText, SubwordBag
from lm_experiments.models.subwords import subword_table
from lm_experiments.objectives.negative import NegativeSampling
from lm_experiments.tasks.base import Provides
from lm_experiments.tasks.embedding import WordEmbeddingTask

WORDS = ["where", "naïve", "café", "a", "übermäßig", "日本語", "<unk>"]


def char_ngrams(word: str, min_n: int, max_n: int) -> list[bytes]:
    """The reference: fastText's computeSubwords, written out. The UTF-8 n-grams of "<word>" with min_n..max_n
    characters, never splitting a character, never the lone boundary marks."""
    data = f"<{word}>".encode()
    grams = []
    for start in range(len(data)):
        if data[start] & 0xC0 == 0x80:
            continue  # a UTF-8 continuation byte: n-grams start at characters
        end, n = start, 1
        while end < len(data) and n <= max_n:
            end += 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
            if n >= min_n and not (n == 1 and (start == 0 or end == len(data))):
                grams.append(data[start:end])
            n += 1
    return grams


def fnv1a(data: bytes) -> int:
    """The reference: fastText's 32-bit FNV-1a, including its sign extension of bytes >= 128 (it hashes int8_t)."""
    value = 2166136261
    for byte in data:
        value = ((value ^ ((byte - 256 if byte > 127 else byte) & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return value


def test_the_reference_hash_gives_fasttexts_known_values():
    # fastText's FNV-1a: the offset basis for empty input, sign extension for non-ASCII bytes
    assert fnv1a(b"") == 2166136261
    assert fnv1a(b"<wh") == 1048167652
    assert fnv1a("naï".encode()) == 3249590546
    assert sorted(char_ngrams("naï", 2, 3)) == sorted([b"<n", b"<na", b"na", b"na\xc3\xaf", "aï".encode(),
                                                       "aï>".encode(), "ï>".encode()])


@pytest.mark.parametrize("word", WORDS)
def test_subword_rows_are_fasttexts_ngram_hashes_byte_for_byte(word):
    assert sorted(char_ngrams(word, 3, 6)) == sorted(compute_ngrams_bytes(word, 3, 6))
    for gram in char_ngrams(word, 3, 6):
        assert fnv1a(gram) == ft_hash_bytes(gram)
    bucket, offset, pad = 1000, 7, 99999
    table = subword_table([word, word], [3, None], 3, 6, bucket, offset, pad)
    expected = sorted(offset + fnv1a(gram) % bucket for gram in char_ngrams(word, 3, 6))
    assert table[0, 0] == 3 and sorted(table[0, 1:][table[0, 1:] != pad].tolist()) == expected
    assert sorted(table[1][table[1] != pad].tolist()) == expected, "an unseen word: its n-grams only"
    assert subword_table([word], [None], 3, 6, 0, offset, pad).tolist() == [[pad]], "no buckets, no row"


def tiny_fasttext(bucket=50, **kwargs) -> tuple[Vocabulary, WordEmbeddingTask, SubwordBag]:
    words = ["where", "here", "there", "naïve", "café", "a"]
    vocab = Vocabulary(["<unk>", "<eos>"] + words, np.array([0, 3] + [9, 8, 7, 6, 5, 4]))
    torch.manual_seed(0)
    options = {"vector_size": 6, "min_n": 3, "max_n": 5, "bucket": bucket, **kwargs}
    task = WordEmbeddingTask(vocab, FastText(vocab, **options), partial(NegativeSampling, negative=2),
                             partial(torch.optim.SGD, lr=0.05))
    return vocab, task, task.model.embedder


def gensim_view(vocab, bag: SubwordBag) -> FastTextKeyedVectors:
    """gensim's FastTextKeyedVectors holding our word and n-gram rows."""
    weights = bag.bag.weight.detach().double().numpy()
    kv = FastTextKeyedVectors(bag.output_dim, bag.min_n, bag.max_n, bag.bucket)
    kv.add_vectors(vocab.itos, weights[: len(vocab)])
    kv.vectors_vocab = weights[: len(vocab)].copy()
    kv.vectors_ngrams = weights[len(vocab): len(vocab) + bag.bucket].copy()
    kv.recalc_char_ngram_buckets()
    kv.adjust_vectors()
    return kv


def test_word_and_oov_vectors_equal_gensims():
    vocab, task, bag = tiny_fasttext()
    kv = gensim_view(vocab, bag)
    ours = bag.word_vectors().detach().double().numpy()
    for index in range(len(vocab)):
        np.testing.assert_allclose(ours[index], kv.vectors[index], rtol=1e-5, atol=1e-7)
    unseen = ["wherever", "naïveté", "xyz"]
    np.testing.assert_allclose(task.vectors_for(unseen).double().numpy(), np.stack([kv[w] for w in unseen]),
                               rtol=1e-5, atol=1e-7)
    assert torch.allclose(task.vectors_for(["here"])[0], bag.word_vectors()[vocab.stoi["here"]].detach())
    assert Provides.UNSEEN_WORD_VECTORS in task.provides


def test_sum_reduction_and_no_buckets():
    vocab, _, summed = tiny_fasttext(subword_reduce="sum")
    rows = summed.subwords[vocab.stoi["café"]]
    rows = rows[rows != summed.pad_row]
    assert torch.allclose(summed.word_vectors()[vocab.stoi["café"]], summed.bag.weight[rows].sum(0))
    vocab, _, plain = tiny_fasttext(bucket=0)
    assert torch.allclose(plain.word_vectors(), plain.bag.weight[: len(vocab)])


def test_gradients_reach_word_and_ngram_rows_only():
    vocab, task, bag = tiny_fasttext()
    batch = PairBatch(torch.tensor([vocab.stoi["where"]]), torch.tensor([vocab.stoi["here"]]))
    task.objective.output.weight.data.normal_()
    task.example_losses(batch).sum().backward()
    grad = bag.bag.weight.grad.coalesce()
    touched = set(grad.indices()[0].tolist())
    rows = set(bag.subwords[vocab.stoi["where"]].tolist()) - {bag.pad_row}
    assert touched == rows


@pytest.mark.parametrize("kwargs, message", [({"subword_reduce": "median"}, "model.subword_reduce"),
                                             ({"min_n": 4, "max_n": 3}, "model.max_n"),
                                             ({"bucket": -1}, "model.bucket")])
def test_bad_options(kwargs, message):
    with pytest.raises(UserError, match=message):
        tiny_fasttext(**kwargs)


def test_fasttext_run_answers_unseen_words_and_exports_a_loader(make_cfg, tmp_path):
    from lm_experiments.run.training import train
    from lm_experiments.vectors import load_fasttext_vectors

    metrics = train(make_cfg("model=fasttext", "model.bucket=20000", "trainer.limit_train_batches=3",
                             *NO_CHECKPOINTS))
    plain = train(make_cfg("model=skipgram", "trainer.limit_train_batches=3", *NO_CHECKPOINTS,
                           run="plain"))
    # Lee's vocabulary misses most evaluation words; n-gram vectors answer them
    assert plain["val/ws353_oov"] > 80 and metrics["val/ws353_oov"] == 0.0
    assert plain["val/analogy_oov"] > 90 and metrics["val/analogy_oov"] == 0.0
    assert metrics["val/analogy_answered"] > 19000
    kv = load_fasttext_vectors(tmp_path / "run")
    exported = KeyedVectors.load_word2vec_format(tmp_path / "run" / "vectors.bin", binary=True)
    assert kv.index_to_key == exported.index_to_key
    np.testing.assert_allclose(kv.vectors, exported.vectors, rtol=1e-5, atol=1e-6)
    assert kv["unbelievablyness"].shape == (16,) and np.isfinite(kv["unbelievablyness"]).all()


def test_every_subword_row_gets_the_full_gradient():
    """fastText/gensim add the hidden layer's gradient to each of the word's rows, unscaled."""
    vocab, _, bag = tiny_fasttext()
    word = vocab.stoi["naïve"]
    hidden = bag(torch.tensor([word]))
    upstream = torch.randn(1, bag.output_dim)
    hidden.backward(upstream)
    grad = bag.bag.weight.grad.coalesce().to_dense()
    rows = bag.subwords[word][bag.subwords[word] != bag.pad_row]
    for row in rows.tolist():
        multiplicity = int((rows == row).sum())  # a hash collision makes a row appear twice
        assert torch.allclose(grad[row], multiplicity * upstream[0], atol=1e-6)
