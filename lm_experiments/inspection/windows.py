"""Held-out windows to look at: `count` stretches of `length` tokens spread evenly over a split, and the token
after each (the one the last position predicts). Evenly spread, not sampled, so that two runs over the same
corpus are inspected on the same text."""

import numpy as np
import torch


def spread_windows(ids, count: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ids: a split's (n,) token ids (array or tensor) -> inputs (N, length), targets (N,), N <= count."""
    total = len(ids)
    if total < length + 1:
        raise ValueError(f"the split has {total} tokens, fewer than a window of {length} and the token after it")
    starts = np.unique(np.linspace(0, total - length - 1, num=count).astype(np.int64))
    stretches = np.stack([np.asarray(ids[start:start + length + 1]) for start in starts]).astype(np.int64)
    windows = torch.from_numpy(stretches)
    return windows[:, :length], windows[:, length]
