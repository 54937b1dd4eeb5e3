"""Artefacts other tools read: word2vec-format vectors (gensim's KeyedVectors loads them), fastText's rows."""

from pathlib import Path

import numpy as np

from lm_experiments.io import atomic_write
from lm_experiments.runs import SUBWORDS_FILE, VECTORS_BINARY_FILE, VECTORS_TEXT_FILE


def save_word2vec_format(words: list[str], vectors: np.ndarray, path: Path, binary: bool) -> Path:
    """The original word2vec layout: a "count dim" header, then one word and its vector per entry.

    Text rows use 9 significant digits (float32 round-trips exactly); binary rows are
    little-endian float32 followed by a newline, as word2vec's C tool writes them.
    """
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    if any(not word or any(ch.isspace() for ch in word) for word in words):
        raise ValueError("word2vec format cannot store empty words or words containing whitespace")
    header = f"{len(words)} {vectors.shape[1]}\n"
    if binary:
        with atomic_write(path, "wb") as out:
            out.write(header.encode())
            for word, row in zip(words, vectors):
                out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
    else:
        with atomic_write(path) as out:
            out.write(header)
            for word, row in zip(words, vectors.tolist()):
                out.write(word + " " + " ".join(f"{x:.9g}" for x in row) + "\n")
    return Path(path)


def export_word_vectors(words: list[str], vectors, out_dir: Path) -> list[Path]:
    """vectors.txt and vectors.bin: `words` with their (n, d) `vectors`, in word2vec's text and binary formats."""
    array = vectors.detach().float().cpu().numpy()
    return [save_word2vec_format(words, array, Path(out_dir) / VECTORS_TEXT_FILE, binary=False),
            save_word2vec_format(words, array, Path(out_dir) / VECTORS_BINARY_FILE, binary=True)]


def save_subwords(state: dict, path: Path) -> Path:
    """The raw word rows, the n-gram rows and the n-gram settings, so any word's vector can be rebuilt."""
    with atomic_write(path, "wb") as out:
        np.savez(out, **state)
    return Path(path)


def load_fasttext_vectors(run_dir):
    """A run's fastText vectors as gensim's `FastTextKeyedVectors`: `kv[word]` works for any word.

    gensim hashes and averages n-grams exactly as our model does (tested), so its
    out-of-vocabulary vectors are the ones our evaluation used.
    """
    from gensim.models.fasttext import FastTextKeyedVectors

    run_dir = Path(run_dir)
    state = np.load(run_dir / SUBWORDS_FILE)
    if str(state["subword_reduce"]) != "mean":
        raise ValueError("gensim's FastTextKeyedVectors averages n-grams; this run summed them (subword_reduce=sum)")
    lines = (run_dir / VECTORS_TEXT_FILE).read_text(encoding="utf-8").splitlines()[1:]
    words = [line.split(" ", 1)[0] for line in lines]
    kv = FastTextKeyedVectors(int(state["word_rows"].shape[1]), int(state["min_n"]), int(state["max_n"]),
                              int(state["bucket"]))
    kv.add_vectors(words, state["word_rows"])
    kv.vectors_vocab = state["word_rows"].copy()
    kv.vectors_ngrams = state["ngram_rows"]
    kv.recalc_char_ngram_buckets()
    kv.adjust_vectors()
    return kv
