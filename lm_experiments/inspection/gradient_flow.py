"""The error signal back through time: ||d loss_T / d h_{T-k}|| for k = 0..T-1 (Bengio et al. 1994;
Hochreiter & Schmidhuber 1997; Pascanu et al. 2013).

A recurrent layer run over a whole sequence at once returns its outputs, but the state
that carries step t into step t+1 is internal to it, so autograd cannot give the
gradient with respect to h_t along the recurrent path. Here every layer is stepped one
token at a time, the top layer's h_t is fed back as its state, and autograd differentiates
the loss with respect to that tensor: what reaches h_{T-k} is exactly what truncated BPTT hands back k steps.
Analysis only (a Python loop over time steps); training runs the fused layers.
"""

from collections.abc import Callable

import torch
from torch import nn


def gradient_through_time(embed: Callable[[torch.Tensor], torch.Tensor], layers: nn.ModuleList,
                          loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                          inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """inputs (N, T) ids, targets (N,) the token after each window -> (N, T) norms, column k the norm of
    d loss_T / d h_{T-1-k} of the top layer (window n's loss reaches only window n's states).

    `embed`: ids (N, T) -> (N, T, e); `layers`: single-layer time-major nn.RNN/GRU/LSTM modules in order
    (no dropout is applied between them: call it on a model in eval mode); `loss_of`: (N, d) hidden, (N,)
    targets -> (N,) losses.
    """
    with torch.enable_grad():
        x_all = embed(inputs).detach()                                                    # (N, T, e)
        states: list = [None] * len(layers)
        top: list[torch.Tensor] = []
        for step in range(inputs.shape[1]):
            x = x_all[:, step]
            for index, layer in enumerate(layers):
                out, state = layer(x[None], states[index])                                # (1, N, d)
                x = out[0]                                                                # (N, d): h_t
                states[index] = (x[None], state[1]) if isinstance(layer, nn.LSTM) else x[None]
            top.append(x)
        gradients = torch.autograd.grad(loss_of(top[-1], targets).sum(), top)             # the weights keep none
    return torch.stack([g.norm(dim=1) for g in reversed(gradients)], dim=1).detach()      # (N, T), k = 0 first
