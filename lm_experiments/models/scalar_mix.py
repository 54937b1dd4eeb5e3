"""ELMo's scalar mix (Peters et al. 2018, eq. 1): a task's vector for a token is gamma * sum_j s_j h_j over the
biLM's layers, with s = softmax(w); optionally each layer is first normalised (over the real tokens)."""

import torch
from torch import nn

from lm_experiments.errors import UserError


class ScalarMix(nn.Module):
    """(B, T, L, d) layers and a (B, T) mask -> (B, T, d). `weights` are the w before the softmax (equal by
    default); `trainable=False` keeps them and gamma fixed."""

    def __init__(self, layers: int, weights: list[float] | None = None, gamma: float = 1.0,
                 layer_norm: bool = False, trainable: bool = True):
        super().__init__()
        weights = [0.0] * layers if weights is None else list(weights)
        if len(weights) != layers:
            raise UserError(f"The scalar mix has {layers} layers to mix and {len(weights)} weights.")
        self.weights = nn.Parameter(torch.tensor(weights, dtype=torch.float32), requires_grad=trainable)
        self.gamma = nn.Parameter(torch.tensor(float(gamma)), requires_grad=trainable)
        self.layer_norm = layer_norm

    def forward(self, layers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.layer_norm:
            layers = self._normalised(layers, mask)
        shares = torch.softmax(self.weights, dim=0)                                     # (L,)
        return self.gamma * (layers * shares[:, None]).sum(dim=2)

    @staticmethod
    def _normalised(layers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Each layer minus its mean over the real tokens' values, over their standard deviation."""
        real = mask[..., None, None].to(layers.dtype)                                     # (B, T, 1, 1)
        count = real.sum() * layers.shape[-1]
        mean = (layers * real).sum(dim=(0, 1, 3), keepdim=True) / count                  # (1, 1, L, 1)
        variance = (((layers - mean) * real) ** 2).sum(dim=(0, 1, 3), keepdim=True) / count
        return (layers - mean) / torch.sqrt(variance + 1e-12)
