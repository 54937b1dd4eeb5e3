"""What a positional-encoding table encodes: how similar positions are, and whether a shift is linear.

Vaswani et al. (2017) chose sinusoids because "for any fixed offset k, PE(pos+k) can be
represented as a linear function of PE(pos)": each (sin, cos) pair of one frequency turns
by the same angle, so M_k is block-diagonal with one 2x2 rotation per frequency.
`shift_residual` fits that M_k by least squares over all positions and reports how much
is left over; a learned table shows how far training came to the same structure.
"""

from dataclasses import dataclass

import torch


@dataclass
class ShiftFit:
    offset: int
    blockwise: float        # ||X M - Y|| / ||Y|| with M one 2x2 block per (even, odd) dimension pair
    linear: float | None    # the same with any d x d matrix; None where positions - k <= d (any table fits)


def cosine_similarities(table: torch.Tensor) -> torch.Tensor:
    """(n, d) -> (n, n) cosine similarity of every pair of positions."""
    unit = table / table.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return unit @ unit.T


def _relative_residual(inputs: torch.Tensor, outputs: torch.Tensor) -> float:
    """Least-squares fit of outputs = inputs @ M, batched over the leading dimension; ||residual|| / ||outputs||."""
    solution = torch.linalg.lstsq(inputs, outputs).solution
    return float((inputs @ solution - outputs).norm() / outputs.norm().clamp_min(1e-30))


def shift_residual(table: torch.Tensor, offset: int) -> ShiftFit:
    """How well PE(pos + offset) = M PE(pos) holds for a fixed M over every position of the (n, d) table."""
    if not 0 < offset < table.shape[0] - 1:
        raise ValueError(f"the offset must be in 1..{table.shape[0] - 2} for a table of {table.shape[0]} positions")
    table = table.detach().double().cpu()
    before, after = table[:-offset], table[offset:]                                      # (n - k, d)
    pairs = table.shape[1] // 2
    blocks_in = before[:, : 2 * pairs].reshape(-1, pairs, 2).transpose(0, 1)             # (d/2, n - k, 2)
    blocks_out = after[:, : 2 * pairs].reshape(-1, pairs, 2).transpose(0, 1)
    blockwise = _relative_residual(blocks_in, blocks_out)
    linear = _relative_residual(before, after) if before.shape[0] > before.shape[1] else None
    return ShiftFit(offset, blockwise, linear)
