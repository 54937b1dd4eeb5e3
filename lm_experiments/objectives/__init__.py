"""Output layers: hidden vectors -> a loss over the vocabulary or the classes (the `sampler` config group).

`base.py` is the one interface (and the fused output side a kernel reads); one file per layer:
`full.py`, `negative.py` (with `noise.py`, the unigram^alpha distribution), `nce.py`, `sampled.py`,
`adaptive.py`, `hierarchical.py` (over `huffman.py`'s tree), `label_softmax.py` (classifiers);
`shared_rows.py` is the rule for output rows that many examples of one step share.
"""
