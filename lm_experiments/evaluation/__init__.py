"""Quality numbers, computed as the papers and the reference tools compute them.

Word vectors: `analogy.py` (3CosAdd, 3CosMul), `similarity.py` (Spearman), `neighbours.py`,
`benchmarks.py` (reading the evaluation files gensim installs), `projection.py` (2-D maps);
language models: `perplexity.py`; classifiers: `classification.py`; pictures: `plots.py`.
"""
