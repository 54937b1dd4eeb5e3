"""What a fused kernel scores against, read off the objective: one place for the CPU and the GPU updater."""

from dataclasses import dataclass

import torch

from lm_experiments.objectives.negative import NegativeSampling


def output_rows(objective) -> torch.Tensor:
    """(O, d) the rows the kernels write: negative sampling's output vectors or the Huffman tree's inner nodes.
    The parameter itself, so a caller that reads it each batch sees the storage a DDP replica sum gives it."""
    return objective.output.weight if isinstance(objective, NegativeSampling) else objective.nodes.weight


@dataclass
class OutputSide:
    """Negative sampling (`negative` noise words per example, drawn for each chunk) or hierarchical softmax
    (the Huffman paths: `codes`, `points` (V, L), `lengths` (V,)); the side not used holds (1, 1) zeros that the
    kernels never read."""

    rows: torch.Tensor     # (O, d)
    negative: int
    codes: torch.Tensor    # (V, L) or (1, 1)
    points: torch.Tensor   # (V, L) or (1, 1)
    lengths: torch.Tensor  # (V,) or (1,)

    @property
    def hierarchical(self) -> bool:
        return self.negative == 0


def output_side(objective) -> OutputSide:
    rows = output_rows(objective)
    if isinstance(objective, NegativeSampling):
        unused = torch.zeros((1, 1), dtype=torch.long, device=rows.device)
        return OutputSide(rows, objective.negative, unused, unused, unused[0])
    return OutputSide(rows, 0, objective.codes.contiguous(), objective.points.contiguous(),
                      objective.mask.sum(1).contiguous())
