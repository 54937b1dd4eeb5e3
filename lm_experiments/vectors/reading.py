"""One reader for word-vector files, which tells the format from the file and checks it against itself; and a
run folder's vectors (`load_vectors` takes either).

Formats: word2vec binary (a "count dim" line, then per row the word, a space and dim
little-endian float32s, optionally a newline), word2vec text (the same header, then
"word v1 .. vdim" lines), GloVe text (no header), gensim's `.kv` (a pickle, with `.npy`
files beside it for large arrays) and fastText's own `.bin` model. The format comes from
the bytes (fastText's magic number, a pickle's opcode, a two-integer header, whether the
first row parses as text), never from trying loaders in turn: a loader handed the wrong
format can read a header as a billion words and never finish.

What is checked, each failure one `UserError` naming the file: a binary file must be
exactly the header's rows (a cut file says how many rows are whole); a text file whose
header counts other than the rows it holds is read whole, with one warning saying so;
rows must have the header's width; no NaN or infinite values; no word twice; no empty file.
"""

import logging
from pathlib import Path

import numpy as np

from lm_experiments.errors import UserError
from lm_experiments.vectors.keyed import fasttext_keyed_vectors, keyed_vectors
from lm_experiments.vectors.layout import FASTTEXT_VECTORS_FILE, SUBWORDS_FILE, VECTORS_BINARY_FILE, VECTORS_TEXT_FILE

log = logging.getLogger(__name__)

UTF8_BOM = b"\xef\xbb\xbf"
FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")   # fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32
PICKLE_PROTOCOL_2_PLUS = b"\x80"


def read_keyed_vectors(path: Path, what: str):
    """gensim KeyedVectors from a vectors file of any of the formats above; `what` names the option or argument
    that gave the path, for the messages."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what}={path} does not exist.")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise UserError(f"{what}={path} is empty: it holds no vectors.")
    if head.startswith(FASTTEXT_MAGIC):
        kv = _load_with(path, what, "fastText model", _fasttext_vectors)
    elif head.startswith(PICKLE_PROTOCOL_2_PLUS):
        kv = _load_with(path, what, "gensim .kv file", _gensim_vectors)
    else:
        words, vectors = _read_word2vec_or_glove(path, what)
        kv = keyed_vectors(words, vectors)
    check_vectors(kv.index_to_key, kv.vectors, f"{what}={path}")
    return kv


def load_vectors(source: Path, what: str):
    """gensim KeyedVectors from a run folder (its `vectors.kv` for fastText, else `vectors.bin`) or a file of any
    of the formats above; `what` names the option or argument that gave `source`."""
    source = Path(source).expanduser()
    if source.is_dir():
        if (source / FASTTEXT_VECTORS_FILE).is_file() or (source / SUBWORDS_FILE).is_file():
            try:
                kv = load_fasttext_vectors(source)
            except ValueError as error:
                raise UserError(f"{what}={source}: {error}.") from error
            check_vectors(kv.index_to_key, kv.vectors, f"{what}={source}")
            return kv
        if not (source / VECTORS_BINARY_FILE).is_file():
            raise UserError(f"{what}={source} is a folder without {VECTORS_BINARY_FILE}: pass a finished "
                            f"word-embedding run (skipgram, cbow, fasttext, glove, svd) or a vectors file.")
        return read_keyed_vectors(source / VECTORS_BINARY_FILE, what)
    if not source.is_file():
        raise UserError(f"{what}={source} does not exist: pass a run folder or a vectors file "
                        f"(word2vec text or binary, GloVe text, gensim .kv, fastText .bin).")
    return read_keyed_vectors(source, what)


def load_fasttext_vectors(run_dir: Path):
    """A fastText run's vectors as gensim's `FastTextKeyedVectors`: `kv[word]` works for any word.

    Reads `vectors.kv`; run folders written before it (with `subwords.npz`, our earlier format) are
    still read."""
    from gensim.models.fasttext import FastTextKeyedVectors

    run_dir = Path(run_dir)
    if (run_dir / FASTTEXT_VECTORS_FILE).is_file():
        return FastTextKeyedVectors.load(str(run_dir / FASTTEXT_VECTORS_FILE))
    state = np.load(run_dir / SUBWORDS_FILE)
    lines = (run_dir / VECTORS_TEXT_FILE).read_text(encoding="utf-8").splitlines()[1:]
    return fasttext_keyed_vectors([line.split(" ", 1)[0] for line in lines], state)


def check_vectors(words: list[str], vectors: np.ndarray, source: str) -> None:
    """No NaN or infinite values and no word twice; refused in one line that counts them."""
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        first = words[int(np.flatnonzero(bad)[0])]
        raise UserError(f"{source} has {int(bad.sum())} rows with NaN or infinite values (the first: {first!r}); "
                        f"vectors from a diverged training cannot be used.")
    if len(set(words)) != len(words):
        seen, twice = set(), []
        for word in words:
            if word in seen:
                twice.append(word)
            seen.add(word)
        raise UserError(f"{source} has {len(twice)} words more than once (the first: {twice[0]!r}); each word "
                        f"needs one vector.")


def _load_with(path: Path, what: str, kind: str, loader):
    try:
        return loader(path)
    except Exception as error:  # a damaged file of the right kind: gensim's and pickle's many error types
        raise UserError(f"{what}={path} looks like a {kind} but cannot be read ({type(error).__name__}: "
                        f"{error}); it may be cut short or damaged.") from None


def _fasttext_vectors(path: Path):
    from gensim.models.fasttext import load_facebook_vectors

    return load_facebook_vectors(str(path))


def _gensim_vectors(path: Path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load(str(path))
    if not isinstance(kv, KeyedVectors):
        raise TypeError(f"it holds a {type(kv).__name__}, not KeyedVectors")
    return kv


def _header(line: bytes) -> tuple[int, int] | None:
    """(count, dim) when the first line is word2vec's header: exactly two non-negative integers."""
    parts = line.split()
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        return int(parts[0]), int(parts[1])
    return None


def _text_row(line: bytes, dim: int | None) -> bool:
    """Whether `line` is a text row: a word and `dim` (any, if None) numbers, separated by any whitespace."""
    try:
        parts = line.decode("utf-8").split()
        [float(x) for x in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return False
    return len(parts) > 1 and (dim is None or len(parts) - 1 == dim)


def _read_word2vec_or_glove(path: Path, what: str) -> tuple[list[str], np.ndarray]:
    data = path.read_bytes()
    if data.startswith(UTF8_BOM):  # written by some editors and tools; not part of the first word
        data = data[len(UTF8_BOM):]
    first_end = data.find(b"\n")
    first = data if first_end < 0 else data[:first_end]
    header = _header(first)
    source = f"{what}={path}"
    if header is None:
        if not _text_row(first, None):
            raise UserError(f"{source} is not a vectors file: its first line is neither word2vec's \"count dim\" "
                            f"header nor a GloVe row (a word and numbers).")
        return _read_text(data, 0, None, source)
    count, dim = header
    if dim == 0:
        raise UserError(f"{source}: its header gives vectors of 0 dimensions.")
    body = first_end + 1
    second_end = data.find(b"\n", body)
    second = data[body:] if second_end < 0 else data[body:second_end]
    if body >= len(data):
        raise UserError(f"{source} has a header ({count} words of {dim} dimensions) and no rows.")
    if _text_row(second, dim):
        return _read_text(data, body, (count, dim), source)
    if _text_row(second, None):
        values = len(second.decode("utf-8").split()) - 1
        raise UserError(f"{source}: its header gives {dim} dimensions and its first row has {values} values: the "
                        f"header or the file is wrong.")
    return _read_binary(data, body, count, dim, source)


def _read_binary(data: bytes, position: int, count: int, dim: int, source: str) -> tuple[list[str], np.ndarray]:
    """word2vec.c's layout: `word` b" " dim x float32 per row, a newline after each row or not."""
    row_bytes = 4 * dim
    if count * (row_bytes + 2) > len(data):
        raise UserError(f"{source} is cut short: its header counts {count} words of {dim} dimensions, which take "
                        f"at least {count * (row_bytes + 2):,} bytes; the file has {len(data):,}.")
    words, vectors = [], np.empty((count, dim), dtype=np.float32)
    for row in range(count):
        while position < len(data) and data[position] == 0x0A:
            position += 1
        space = data.find(b" ", position, position + 10_000)
        if space < 0 or space + 1 + row_bytes > len(data):
            raise UserError(f"{source} is cut short: its header counts {count} words, the file holds {row} whole "
                            f"rows.")
        try:
            words.append(data[position:space].decode("utf-8"))
        except UnicodeDecodeError:
            words.append(data[position:space].decode("latin-1"))
        vectors[row] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        position = space + 1 + row_bytes
    if data[position:].strip(b"\n"):
        raise UserError(f"{source} holds {len(data) - position:,} bytes after the {count} rows its header counts: "
                        f"the header or the file is wrong.")
    return words, vectors


def _read_text(data: bytes, position: int, header: tuple[int, int] | None, source: str) -> tuple[list, np.ndarray]:
    try:
        text = data[position:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{source} is not UTF-8 text (byte {position + error.start:,}).") from None
    words, rows = [], []
    dim = header[1] if header else None
    for number, line in enumerate(text.splitlines(), start=2 if header else 1):
        if not line.strip():
            continue
        parts = line.split()
        if dim is None:
            dim = len(parts) - 1
        if len(parts) - 1 < dim:
            raise UserError(f"{source} line {number:,} has {len(parts) - 1} values where the others have {dim}.")
        words.append(" ".join(parts[: len(parts) - dim]))  # GloVe's 840B file has words with spaces in them
        rows.append(parts[len(parts) - dim:])
    try:
        vectors = np.array(rows, dtype=np.float32).reshape(len(rows), dim)
    except ValueError as error:
        raise UserError(f"{source} holds a value that is not a number ({error}).") from None
    if header and header[0] != len(words):
        log.warning("%s: its header counts %d words, the file holds %d rows; all %d are read", source, header[0],
                    len(words), len(words))
    if not words:
        raise UserError(f"{source} holds no rows.")
    return words, vectors

