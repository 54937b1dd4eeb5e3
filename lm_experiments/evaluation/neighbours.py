"""Nearest neighbours by cosine: the quick look at an embedding space that numbers cannot give."""

import torch
import torch.nn.functional as F


def nearest_neighbours(words: list[str], vectors: torch.Tensor, queries: list[str], topn: int = 5,
                       restrict_vocab: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """For each query in the vocabulary: its `topn` neighbours among the first `restrict_vocab` words."""
    index = {word: row for row, word in enumerate(words)}
    present = [q for q in queries if q in index]
    if not present:
        return {}
    candidates = F.normalize(vectors[:restrict_vocab].float(), dim=1)   # (k, d)
    rows = torch.tensor([index[q] for q in present], device=vectors.device)
    query_vectors = F.normalize(vectors[rows].float(), dim=1)           # (q, d)
    scores = query_vectors @ candidates.T                               # (q, k)
    own = rows[:, None] == torch.arange(candidates.shape[0], device=vectors.device)[None, :]
    scores = scores.masked_fill(own, -torch.inf)
    top = scores.topk(min(topn, max(candidates.shape[0] - 1, 1)), dim=1)
    return {q: [(words[i], float(s)) for s, i in zip(values.tolist(), indices.tolist())]
            for q, values, indices in zip(present, top.values, top.indices)}
