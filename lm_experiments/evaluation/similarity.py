"""Word-similarity benchmarks (WordSim-353, SimLex-999): Spearman's rho of cosine vs human scores."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from lm_experiments.evaluation.benchmarks import read_pairs, restricted_lookup


def _correlation(statistic, x: torch.Tensor, y: torch.Tensor) -> float:
    """scipy's statistic of two (n,) tensors; NaN if either holds a non-finite value or is constant (as gensim,
    which also calls scipy, reports)."""
    a, b = x.double().cpu().numpy(), y.double().cpu().numpy()
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(statistic(a, b).statistic)


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    return _correlation(stats.pearsonr, x, y)


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman's rho (ties take their average rank): scipy's `spearmanr`, which gensim's evaluator uses."""
    return _correlation(stats.spearmanr, x, y)


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
