"""The names of the vector files in a run folder (`run/folder.py` lists the whole folder)."""

VECTORS_TEXT_FILE = "vectors.txt"
VECTORS_BINARY_FILE = "vectors.bin"
FASTTEXT_VECTORS_FILE = "vectors.kv"  # fastText: gensim's FastTextKeyedVectors (+ vectors.kv.*.npy)
SUBWORDS_FILE = "subwords.npz"        # fastText rows in our earlier format (still read)
