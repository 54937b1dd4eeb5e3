"""Word-vector files, in one place: reading any of them (and a run folder's), writing word2vec's and gensim's
formats, gensim KeyedVectors built from rows, and pretrained vectors laid out for a vocabulary.

- `reading.py`: `read_keyed_vectors(path)` tells the format from the bytes (word2vec text or binary,
  GloVe text, gensim `.kv`, fastText `.bin`) and checks it; `load_vectors(source)` takes a run
  folder or a file.
- `writing.py`: `vectors.txt`/`vectors.bin` (word2vec's formats) and fastText's `vectors.kv`.
- `keyed.py`: the one KeyedVectors builder (and FastTextKeyedVectors from a fastText model's rows).
- `pretrained.py`: a vocabulary's rows from pretrained vectors (a classifier's embedding).
- `layout.py`: the file names in a run folder.

A part: it imports nothing of the package but the errors and atomic writing.
"""

from lm_experiments.vectors.keyed import fasttext_keyed_vectors, keyed_vectors
from lm_experiments.vectors.layout import FASTTEXT_VECTORS_FILE, SUBWORDS_FILE, VECTORS_BINARY_FILE, VECTORS_TEXT_FILE
from lm_experiments.vectors.pretrained import PretrainedRows, pretrained_rows
from lm_experiments.vectors.reading import check_vectors, load_fasttext_vectors, load_vectors, read_keyed_vectors
from lm_experiments.vectors.writing import export_fasttext_vectors, export_word_vectors, save_word2vec_format

__all__ = ["FASTTEXT_VECTORS_FILE", "SUBWORDS_FILE", "VECTORS_BINARY_FILE", "VECTORS_TEXT_FILE", "PretrainedRows",
           "check_vectors", "export_fasttext_vectors", "export_word_vectors", "fasttext_keyed_vectors",
           "keyed_vectors", "load_fasttext_vectors", "load_vectors", "pretrained_rows", "read_keyed_vectors",
           "save_word2vec_format"]
