"""Corpus reading, vocabulary, the on-disk cache and the skip-gram view."""

import gzip
import logging
import zipfile

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec

from lm_experiments.data import stream as stream_module
from lm_experiments.data.batches import TokenChunk
from lm_experiments.data.corpora import PennTreebank, Text8, TextFile, WikiText2
from lm_experiments.data.reading import iter_line_pieces, open_text
from lm_experiments.data.stream import load_encoded
from lm_experiments.data.views.base import ViewOptions
from lm_experiments.data.views.word_windows import WordWindowView, cbow_contexts, keep_probabilities, skipgram_pairs
from lm_experiments.data.vocab import EOS, UNK, Vocabulary
from lm_experiments.errors import UserError

TEXT = "the cat sat on the mat\nthe dog sat\n\na cat and a dog\n"


def write_variants(folder, text=TEXT):
    """The same text as plain, .gz and .zip files."""
    plain = folder / "corpus.txt"
    plain.write_text(text)
    gz = folder / "corpus.txt.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write(text)
    archive = folder / "corpus.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("corpus.txt", text)
    return plain, gz, archive


def test_vocabulary_build_orders_filters_and_merges_specials():
    words = ["b", "a", "<unk>", "c", "d", EOS]
    counts = np.array([5, 7, 2, 5, 1, 4])
    vocab = Vocabulary.build(words, counts, min_count=2)
    assert vocab.itos == [UNK, EOS, "a", "b", "c"]  # specials, then frequency, ties in first-seen order
    assert vocab.counts.tolist() == [2 + 1, 4, 7, 5, 5]  # <unk> = literal <unk> + dropped "d"
    assert Vocabulary.build(words, counts, min_count=1, max_size=2).words == ["a", "b"]
    assert vocab.lookup(["c", "zzz", "a"]).tolist() == [4, 0, 2]
    with pytest.raises(UserError, match="data.min_count=8"):
        Vocabulary.build(words, counts, min_count=8)


def test_vocabulary_save_load_round_trip(tmp_path):
    vocab = Vocabulary.build(["x", "y"], np.array([3, 9]), min_count=1)
    vocab.save(tmp_path / "vocab.tsv")
    loaded = Vocabulary.load(tmp_path / "vocab.tsv")
    assert loaded.itos == vocab.itos and loaded.counts.tolist() == vocab.counts.tolist()


def test_plain_gz_and_zip_read_the_same(tmp_path):
    texts = []
    for path in write_variants(tmp_path):
        with open_text(path) as handle:
            texts.append(handle.read())
    assert texts == [TEXT] * 3


def test_long_lines_are_cut_at_whitespace_without_losing_line_ends(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("alpha beta gamma delta\nepsilon zeta\nlast")
    with open_text(path) as handle:
        pieces = list(iter_line_pieces(handle, piece_chars=7))
    assert " ".join(p for p, _ in pieces).split() == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "last"]
    line_ends = [p.split()[-1] for p, ends in pieces if ends]
    assert line_ends == ["delta", "zeta", "last"]


def test_encoded_stream_round_trips_and_marks_line_ends(tmp_path):
    plain, gz, archive = write_variants(tmp_path)
    encoded = load_encoded(TextFile(str(plain)), tmp_path / "cache", min_count=1)
    tokens = [encoded.vocab.itos[i] for i in encoded.splits["train"]]
    expected = [t for line in TEXT.splitlines() for t in line.split() + [EOS]]
    assert tokens == expected
    assert isinstance(encoded.splits["train"], np.memmap)
    for other in (gz, archive):
        again = load_encoded(TextFile(str(other)), tmp_path / "cache", min_count=1)
        assert np.array_equal(again.splits["train"], encoded.splits["train"])


def test_second_load_reuses_the_cache_without_tokenizing(tmp_path, monkeypatch):
    plain, _, _ = write_variants(tmp_path)
    first = load_encoded(TextFile(str(plain)), tmp_path / "cache", min_count=1)
    assert not first.reused

    def fail(*args, **kwargs):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(stream_module, "_tokenize_to_dir", fail)
    second = load_encoded(TextFile(str(plain)), tmp_path / "cache", min_count=1)
    assert second.reused and np.array_equal(second.splits["train"], first.splits["train"])
    # another vocabulary over the same tokens: still no tokenizing, a different encoding
    third = load_encoded(TextFile(str(plain)), tmp_path / "cache", min_count=2)
    assert third.reused and len(third.vocab) < len(first.vocab)
    assert third.cache_dir != first.cache_dir


def test_empty_corpus_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(UserError, match="has no words"):
        load_encoded(TextFile(str(empty)), tmp_path / "cache")


def test_folder_resolution_and_missing_files(tmp_path):
    for split in ("train", "valid", "test"):
        with gzip.open(tmp_path / f"ptb.{split}.txt.gz", "wt") as handle:
            handle.write(f"{split} text\n")
    files = PennTreebank(str(tmp_path)).files(tmp_path / "cache")
    assert {s: f.path.name for s, f in files.items()} == {
        "train": "ptb.train.txt.gz", "valid": "ptb.valid.txt.gz", "test": "ptb.test.txt.gz"}
    with pytest.raises(UserError, match="does not exist"):
        TextFile(str(tmp_path / "nope.txt")).files(tmp_path)
    with pytest.raises(UserError, match="needs data.path"):
        TextFile(None).files(tmp_path)


@pytest.mark.slow
def test_download_failure_names_data_path(tmp_path):
    corpus = Text8(url="http://127.0.0.1:9/text8.zip")  # nothing listens on port 9: refused at once
    with pytest.raises(UserError, match="data.path=") as error:
        corpus.files(tmp_path)
    assert "text8" in str(error.value)
    assert not list((tmp_path / "downloads").glob("*")), "no partial download may be left behind"


@pytest.mark.slow
def test_a_download_is_checked_against_its_md5_and_cached(tmp_path):
    import hashlib

    from lm_experiments.data.download import fetch

    source = tmp_path / "mirror" / "text8.zip"
    source.parent.mkdir()
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("text8", " anarchism originated as a term")
    digest = hashlib.md5(source.read_bytes()).hexdigest()
    dest = fetch(source.as_uri(), tmp_path / "downloads" / "text8.zip", digest, "text8")
    assert dest.read_bytes() == source.read_bytes()
    source.unlink()
    assert fetch(source.as_uri(), dest, digest, "text8") == dest, "cached: not fetched again"
    with pytest.raises(UserError, match="is corrupt"):
        fetch((tmp_path / "downloads" / "text8.zip").as_uri(), tmp_path / "other" / "text8.zip", "0" * 32, "text8")
    assert not list((tmp_path / "other").iterdir()), "nothing unverified is kept"


def test_wikitext_hub_failure_names_data_path(tmp_path, monkeypatch):
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(name, "1")  # the hub client then fails at once, as it does with no network
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(UserError, match="data.path=/path/to/folder holding wiki.train.tokens"):
        WikiText2().files(tmp_path)
    assert not (tmp_path / "downloads" / "wikitext-2").exists()


def test_ptb_from_shared_data_has_the_published_counts(shared_data, tmp_path):
    encoded = load_encoded(PennTreebank(str(shared_data / "ptb")), tmp_path / "cache", min_count=1)
    assert len(encoded.vocab) == 10000  # 9,999 words + <eos>, with <unk> merged into the special
    assert [len(encoded.splits[s]) for s in ("train", "valid", "test")] == [929589, 73760, 82430]


def test_keep_probabilities_match_gensim():
    sentence = ["a", "b", "a", "c", "a", "a", "b", "d", "e", "a", "b", "a"] * 40
    model = Word2Vec([sentence], min_count=1, sample=1e-2, vector_size=4, epochs=1, workers=1)
    words, counts = np.unique(sentence, return_counts=True)
    vocab = Vocabulary.build(list(words), counts, min_count=1)
    ours = keep_probabilities(vocab, 1e-2)
    for word in model.wv.index_to_key:
        gensim_keep = model.wv.get_vecattr(word, "sample_int") / 2**32
        assert ours[vocab.stoi[word]].item() == pytest.approx(gensim_keep, rel=1e-6)
    assert ours[: vocab.num_specials].tolist() == [0.0, 0.0]
    assert torch.all(keep_probabilities(vocab, 0)[2:] == 1)


def toy_vocab(size=20):
    words = [f"w{i}" for i in range(size)]
    return Vocabulary(["<unk>", EOS] + words, np.array([0, 1] + [10] * size))


def expand(examples, vocab, ids, **options):
    """The examples (`skipgram_pairs` or `cbow_contexts`) of the windows the view draws for the chunk `ids`."""
    return examples(WordWindowView(vocab, ViewOptions(**options)).on_device(TokenChunk(ids)))


def test_skipgram_pairs_stay_in_window_and_sentence():
    vocab = toy_vocab()
    ids = torch.arange(2, 22).repeat(5)
    ids[[17, 55]] = vocab.eos_index
    batch = expand(skipgram_pairs, vocab, ids, window=3, sample=0, seed=1)
    kept, sentence = ids[ids != vocab.eos_index], torch.cumsum(ids == vocab.eos_index, 0)[ids != vocab.eos_index]
    position = {}
    for i, token in enumerate(kept.tolist()):
        position.setdefault(token, []).append(i)
    # every pair is some (i, j) with 1 <= |i - j| <= 3 in the same sentence
    allowed = {(kept[i].item(), kept[j].item()) for i in range(len(kept)) for j in range(len(kept))
               if 1 <= abs(i - j) <= 3 and sentence[i] == sentence[j]}
    pairs = set(zip(batch.centers.tolist(), batch.contexts.tolist()))
    assert pairs and pairs <= allowed
    assert EOS not in {vocab.itos[i] for i in batch.centers.tolist() + batch.contexts.tolist()}
    assert batch.n_words == ids.numel()


def test_window_one_without_subsampling_gives_all_neighbours():
    vocab = toy_vocab()
    ids = torch.arange(2, 22)
    batch = expand(skipgram_pairs, vocab, ids, window=1, sample=0)
    expected = sorted([(i, i + 1) for i in range(2, 21)] + [(i + 1, i) for i in range(2, 21)])
    assert sorted(zip(batch.centers.tolist(), batch.contexts.tolist())) == expected


def test_dynamic_window_and_seeding():
    vocab = toy_vocab()
    ids = torch.arange(2, 22).repeat(200)
    first = expand(skipgram_pairs, vocab, ids, window=4, sample=0, seed=5)
    again = expand(skipgram_pairs, vocab, ids, window=4, sample=0, seed=5)
    other = expand(skipgram_pairs, vocab, ids, window=4, sample=0, seed=6)
    assert torch.equal(first.centers, again.centers) and torch.equal(first.contexts, again.contexts)
    assert not torch.equal(first.centers, other.centers)
    # span ~ U{1..4}: expected pairs per interior token = 2 * E[span] = 5
    assert first.centers.numel() / ids.numel() == pytest.approx(5.0, rel=0.03)


def test_without_shrinking_every_center_uses_the_whole_window_as_gensim():
    vocab = toy_vocab()
    ids = torch.arange(2, 22)
    batch = expand(skipgram_pairs, vocab, ids, window=3, sample=0, shrink_windows=False)
    expected = sorted((i, j) for i in range(2, 22) for j in range(2, 22) if 1 <= abs(i - j) <= 3)
    assert sorted(zip(batch.centers.tolist(), batch.contexts.tolist())) == expected
    contexts = expand(cbow_contexts, vocab, ids, window=3, sample=0, shrink_windows=False)
    assert contexts.mask.sum(1).tolist() == [min(3, i) + min(3, 19 - i) for i in range(20)]
    with pytest.raises(UserError, match="data.shrink_windows"):
        ViewOptions(shrink_windows="no")


def test_subsampling_drops_frequent_words_at_the_expected_rate():
    words = ["common", "rare"]
    vocab = Vocabulary(["<unk>", EOS] + words, np.array([0, 0, 9900, 100]))
    keep = keep_probabilities(vocab, 1e-3)
    ids = torch.full((200000,), 2)
    kept, _ = WordWindowView(vocab, ViewOptions(window=2, sample=1e-3)).kept_tokens(ids)
    assert kept.numel() / ids.numel() == pytest.approx(keep[2].item(), rel=0.03)
    # threshold t = 1e-3 * 10000 = 10 counts: keep = (sqrt(c/t) + 1) * t/c, by hand
    assert keep[2].item() == pytest.approx((990 ** 0.5 + 1) / 990, rel=1e-6)
    assert keep[3].item() == pytest.approx((10 ** 0.5 + 1) / 10, rel=1e-6)


@pytest.mark.parametrize("kwargs, message", [({"window": 0}, "data.window"), ({"window": 2.5}, "data.window"),
                                             ({"sample": -1}, "data.sample"), ({"sample": True}, "data.sample"),
                                             ({"bptt": 0}, "data.bptt"), ({"batch_words": -5}, "data.batch_words")])
def test_bad_view_options(kwargs, message):
    with pytest.raises(UserError, match=message):
        ViewOptions(**kwargs)


def test_cbow_view_has_exactly_the_skipgram_pairs():
    """Same seed -> same kept words and window spans, so CBOW's (center, context word) pairs
    are exactly skip-gram's pairs, grouped by center."""
    vocab = toy_vocab()
    ids = torch.randint(2, 22, (3000,), generator=torch.Generator().manual_seed(0))
    ids[::37] = vocab.eos_index
    pairs = expand(skipgram_pairs, vocab, ids, window=4, sample=0.05, seed=3)
    cbow = expand(cbow_contexts, vocab, ids, window=4, sample=0.05, seed=3)
    assert cbow.contexts.shape == cbow.mask.shape == (cbow.centers.numel(), 8)
    centers = cbow.centers[:, None].expand_as(cbow.contexts)[cbow.mask]
    contexts = cbow.contexts[cbow.mask]
    assert sorted(zip(centers.tolist(), contexts.tolist())) == sorted(
        zip(pairs.centers.tolist(), pairs.contexts.tolist()))
    assert cbow.mask.any(1).all()


def test_the_encoding_advice_for_non_utf8_text_can_be_followed(tmp_path):
    """The error for Latin-1 text names data.corpus.encoding=latin-1, and that override is a config key
    every corpus takes (it reaches the reader and the cache's fingerprint)."""
    from conftest import compose_config

    latin = tmp_path / "latin.txt"
    latin.write_bytes("le café est très bon et le thé aussi\n".encode("latin-1") * 20)
    with pytest.raises(UserError, match="data.corpus.encoding=latin-1"):
        load_encoded(TextFile(str(latin)), tmp_path / "cache", min_count=1)
    for corpus in ("file", "lee", "ptb", "text8", "wikitext2", "brown"):
        cfg = compose_config([f"data={corpus}", f"data.path={latin}", "data.corpus.encoding=latin-1"],
                             tmp_path / corpus, tmp_path / "cache")
        assert cfg.data.corpus.encoding == "latin-1"
    cfg = compose_config(["data=file", f"data.path={latin}", "data.corpus.encoding=latin-1", "data.min_count=1"],
                         tmp_path / "run", tmp_path / "cache")
    from hydra.utils import instantiate

    encoded = load_encoded(instantiate(cfg.data.corpus), tmp_path / "cache", min_count=1)
    assert "café" in encoded.vocab and "très" in encoded.vocab


def test_progress_lines_come_every_step_of_the_way_and_never_read_100_before_the_end(monkeypatch, caplog):
    from lm_experiments import progress as progress_module

    clock = iter(range(0, 1000, 5))                     # every reading 5 s after the last
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    logger = logging.getLogger("progress-test")
    with caplog.at_level(logging.INFO, logger="progress-test"):
        progress = progress_module.ProgressLog(logger, "tokenizing x", total=100, step=0.25)
        for done in range(1, 111):                      # an estimated total, overrun by 10%
            progress.advance(1, f"{done} tokens")
        progress.finish("110 tokens")
    lines = [record.getMessage() for record in caplog.records]
    assert lines[:3] == ["tokenizing x: 25% (25 tokens)", "tokenizing x: 50% (50 tokens)",
                         "tokenizing x: 75% (75 tokens)"]
    assert len(lines) == 4 and lines[-1].startswith("tokenizing x: done in ") and lines[-1].endswith("(110 tokens)")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="progress-test"):
        progress_module.ProgressLog(logger, "counting", total=10).advance(20)   # twice the estimate at once
    assert [record.getMessage() for record in caplog.records] == ["counting: 99%"]


def test_tokenizing_a_corpus_reports_its_progress(tmp_path, caplog):
    plain, _, _ = write_variants(tmp_path)
    with caplog.at_level(logging.INFO, logger="lm_experiments.data.stream"):
        load_encoded(TextFile(str(plain)), tmp_path / "cache", min_count=1)
    assert any(record.getMessage().startswith("tokenizing ") and " done in " in record.getMessage()
               for record in caplog.records), [record.getMessage() for record in caplog.records]
