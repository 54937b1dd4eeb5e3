"""Perplexity the way the language-modelling papers compute it: exp(total NLL / total predicted tokens).

Summed over the whole split (never an average of per-batch perplexities), in float64,
and reduced across processes as sums, so the number does not depend on the batch
size, the padding or the number of devices.
"""

import math

import torch


class NLLSum:
    """Running sum of -log p (nats) and of the number of scored tokens."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.nll = 0.0
        self.tokens = 0

    def update(self, nll: torch.Tensor) -> None:
        """nll: (P,) per-token negative log-likelihoods of the scored tokens."""
        self.nll += float(nll.detach().double().sum())
        self.tokens += int(nll.numel())

    def totals(self, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.tensor([self.nll, float(self.tokens)], dtype=torch.float64, device=device)


def perplexity(total_nll: float, tokens: int) -> float:
    """exp(mean NLL); inf when the model gave a token probability 0 (an unsmoothed n-gram)."""
    if tokens <= 0:
        return float("nan")
    mean = total_nll / tokens
    return math.exp(mean) if mean < 709 else float("inf")
