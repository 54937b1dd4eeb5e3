"""The noise distribution of negative sampling and NCE: unigram counts raised to a power."""

import numpy as np
import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary


class UnigramNoise(nn.Module):
    """q(w) proportional to count(w)^exponent over the words (specials are never drawn)."""

    def __init__(self, vocab: Vocabulary, exponent: float = 0.75):
        super().__init__()
        weights = vocab.counts.astype(np.float64) ** exponent
        weights[: vocab.num_specials] = 0.0
        probs = weights / weights.sum()
        self.register_buffer("probs", torch.from_numpy(probs), persistent=False)          # (V,)
        self.register_buffer("cdf", torch.from_numpy(np.cumsum(probs)), persistent=False)  # (V,)

    def sample(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """Inverse-CDF sampling: exact for any vocabulary size, no table, runs on the device."""
        uniform = torch.rand(shape, dtype=self.cdf.dtype, device=device)
        return torch.searchsorted(self.cdf, uniform, right=True).clamp_(max=self.cdf.numel() - 1)
