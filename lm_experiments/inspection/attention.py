"""Per head, where attention goes: how far back (mean attention distance) and how spread (entropy).

Clark et al. (2019, "What does BERT look at?") measure heads this way; a head that
attends to the previous token has distance ~1 and entropy ~0, a head that spreads
evenly over the whole causal context has distance i/2 and entropy log(i + 1) at
query i. Query 0 can attend only to itself and is left out of the means.
"""

from dataclasses import dataclass

import torch


@dataclass
class HeadStatistics:
    distance: torch.Tensor  # (layers, heads) mean over windows and queries of sum_j w_ij (i - j), in tokens
    entropy: torch.Tensor   # (layers, heads) mean of -sum_j w_ij log w_ij, in nats
    windows: int
    length: int


def head_statistics(maps: torch.Tensor) -> HeadStatistics:
    """maps (layers, N, heads, T, T) causal attention weights -> each head's mean distance and entropy."""
    length = maps.shape[-1]
    positions = torch.arange(length, dtype=maps.dtype, device=maps.device)
    offsets = (positions[:, None] - positions[None, :]).clamp(min=0)                     # (T, T): i - j
    distance = (maps * offsets).sum(-1)                                                  # (L, N, H, T)
    entropy = -(maps * maps.clamp_min(1e-30).log()).sum(-1)                              # (L, N, H, T)
    queries = slice(1, None) if length > 1 else slice(None)
    return HeadStatistics(distance[..., queries].mean(dim=(1, 3)), entropy[..., queries].mean(dim=(1, 3)),
                          maps.shape[1], length)


def uniform_statistics(length: int) -> tuple[float, float]:
    """The distance and entropy of a head that spreads its attention evenly over the causal context (the
    reference the table prints beside the heads)."""
    queries = torch.arange(1, length, dtype=torch.float64) if length > 1 else torch.zeros(1, dtype=torch.float64)
    return float((queries / 2).mean()), float(torch.log(queries + 1).mean())
