"""Word-similarity benchmarks (WordSim-353, SimLex-999): Spearman's rho of cosine vs human scores."""

from pathlib import Path

import torch
import torch.nn.functional as F

from lm_experiments.evaluation.benchmarks import read_pairs, restricted_lookup


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks with ties given their average rank (scipy's `rankdata` default). (n,) -> (n,)"""
    ordered, order = values.sort()
    _, inverse, counts = torch.unique_consecutive(ordered, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).to(torch.float64)
    tied_rank = ends - (counts.to(torch.float64) - 1) / 2  # mean of start+1 .. end
    ranks = torch.empty_like(tied_rank[inverse])
    ranks[order] = tied_rank[inverse]
    return ranks


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        return float("nan")
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    denominator = (x.norm() * y.norm()).item()
    return float((x @ y).item() / denominator) if denominator > 0 else float("nan")


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman's rho; NaN if either input has a non-finite value (as scipy, and so gensim, report)."""
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        return float("nan")
    return pearson(average_ranks(x), average_ranks(y))


class SimilarityEvaluator:
    """Pairs with a word outside the first `restrict_vocab` words are skipped and reported as OOV (%)."""

    def __init__(self, words: list[str], path: Path, restrict_vocab: int = 300000, case_insensitive: bool = True):
        lookup, _, fold = restricted_lookup(words, restrict_vocab, case_insensitive)
        pairs = read_pairs(path)
        known = [(lookup[fold(a)], lookup[fold(b)], score) for a, b, score in pairs
                 if fold(a) in lookup and fold(b) in lookup]
        self.total = len(pairs)
        self.pairs = torch.tensor([(a, b) for a, b, _ in known], dtype=torch.long).reshape(-1, 2)  # (n, 2)
        self.gold = torch.tensor([s for _, _, s in known], dtype=torch.float64)                   # (n,)

    def __call__(self, vectors: torch.Tensor) -> dict[str, float]:
        pairs = self.pairs.to(vectors.device)
        unit = F.normalize(vectors.float(), dim=1)
        cosine = (unit[pairs[:, 0]] * unit[pairs[:, 1]]).sum(1).cpu()
        found = len(self.gold)
        return {
            "spearman": spearman(self.gold, cosine) if found > 1 else float("nan"),
            "pearson": pearson(self.gold, cosine) if found > 1 else float("nan"),
            "oov": 100.0 * (self.total - found) / max(self.total, 1),
        }
