"""Artefacts other tools read: word2vec-format vectors (gensim's KeyedVectors loads them)."""

from pathlib import Path

import numpy as np

from lm_experiments.io import atomic_write


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


def export_vectors(model, out_dir: Path) -> list[Path]:
    """vectors.txt and vectors.bin for any model with `word_vectors()`."""
    words, vectors = model.word_vectors()
    array = vectors.detach().float().cpu().numpy()
    return [save_word2vec_format(words, array, Path(out_dir) / "vectors.txt", binary=False),
            save_word2vec_format(words, array, Path(out_dir) / "vectors.bin", binary=True)]
