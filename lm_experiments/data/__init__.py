"""From text to the batches a task trains on.

Corpora and reading (`corpora.py`, `download.py`, `reading.py`, `tokenizers.py`), the vocabulary
(`vocab.py`), the cached, memory-mapped token stream (`stream.py`, `cache_entry.py`), co-occurrence
counts (`cooccurrence.py`), the typed batches (`batches.py`) and the views that make them (`views/`),
sharding for several processes (`sharding.py`) and the Lightning data module (`datamodule.py`);
labelled sentences and trees for classifiers (`labelled.py`, `trees.py`, `labelled_split.py`,
`labelled_datamodule.py`).
"""
