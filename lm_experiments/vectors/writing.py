"""Writing word vectors for other tools: word2vec's text and binary formats (gensim's KeyedVectors loads
them), and fastText's word and n-gram rows as gensim's `FastTextKeyedVectors` (`vectors.kv`)."""

import logging
import os
from pathlib import Path

import numpy as np

from lm_experiments.files import atomic_write, scratch_folder
from lm_experiments.progress import ProgressLog
from lm_experiments.vectors.keyed import fasttext_keyed_vectors
from lm_experiments.vectors.layout import FASTTEXT_VECTORS_FILE, VECTORS_BINARY_FILE, VECTORS_TEXT_FILE

log = logging.getLogger(__name__)
ROWS_AT_A_TIME = 4096


def save_word2vec_format(words: list[str], vectors: np.ndarray, path: Path, binary: bool) -> Path:
    """The original word2vec layout: a "count dim" header, then one word and its vector per entry.

    Text rows use 9 significant digits (float32 round-trips exactly); binary rows are
    little-endian float32 followed by a newline, as word2vec's C tool writes them.
    """
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    if any(not word or any(ch.isspace() for ch in word) for word in words):
        raise ValueError("word2vec format cannot store empty words or words containing whitespace")
    header = f"{len(words)} {vectors.shape[1]}\n"
    progress = ProgressLog(log, f"writing {Path(path).name}", len(words))
    with atomic_write(path, "wb", encoding=None) as out:
        out.write(header.encode())
        for start in range(0, len(words), ROWS_AT_A_TIME):
            block = slice(start, start + ROWS_AT_A_TIME)
            rows = [row.tobytes() for row in vectors[block]] if binary else text_rows(vectors[block])
            out.write(b"".join(word.encode("utf-8") + b" " + row + b"\n" for word, row in zip(words[block], rows)))
            progress.advance(len(words[block]))
    progress.finish(f"{len(words):,} words")
    return Path(path)


def text_rows(vectors: np.ndarray) -> list[bytes]:
    """Each row's numbers as `"%.9g"` text joined by spaces: compiled (`kernels/text_numbers.py`), Python's own
    formatting for the rare row holding a value the kernel leaves to it."""
    from lm_experiments.kernels.text_numbers import format_rows

    text, ends, handled = format_rows(vectors)
    starts = np.concatenate([[0], ends[:-1]])
    data = text.tobytes()
    rows = [data[start:end] for start, end in zip(starts.tolist(), ends.tolist())]
    if not handled.all():
        row_format = " ".join(["%.9g"] * vectors.shape[1])
        for i in np.flatnonzero(~handled).tolist():
            rows[i] = (row_format % tuple(vectors[i].tolist())).encode()
    return rows


def export_word_vectors(words: list[str], vectors, out_dir: Path) -> list[Path]:
    """vectors.txt and vectors.bin: `words` with their (n, d) `vectors`, in word2vec's text and binary formats."""
    array = vectors.detach().float().cpu().numpy()
    return [save_word2vec_format(words, array, Path(out_dir) / VECTORS_TEXT_FILE, binary=False),
            save_word2vec_format(words, array, Path(out_dir) / VECTORS_BINARY_FILE, binary=True)]


def export_fasttext_vectors(words: list[str], state: dict, out_dir: Path) -> list[Path]:
    """`vectors.kv` (gensim's `FastTextKeyedVectors.save`, its big arrays in `vectors.kv.*.npy` beside it),
    which `FastTextKeyedVectors.load` and `lm_experiments.load_run` read. Written in a temporary folder and
    moved into place, so a run stopped while saving leaves no partial file. A run that summed its n-grams
    (`model.subword_reduce=sum`) writes none: gensim's class can only average them."""
    if str(state["subword_reduce"]) != "mean":
        log.warning("model.subword_reduce=sum: no %s written (gensim's FastTextKeyedVectors averages n-grams); "
                    "vectors.txt/bin hold the vocabulary's vectors", FASTTEXT_VECTORS_FILE)
        return []
    out_dir = Path(out_dir)
    with scratch_folder("fasttext", out_dir) as scratch:
        fasttext_keyed_vectors(words, state).save(str(Path(scratch) / FASTTEXT_VECTORS_FILE))
        written = []
        for part in sorted(Path(scratch).iterdir()):
            os.replace(part, out_dir / part.name)
            written.append(out_dir / part.name)
    return written
