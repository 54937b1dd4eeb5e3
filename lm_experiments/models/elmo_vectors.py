"""ELMo vectors for a downstream model (Peters et al. 2018, section 3.3): a trained biLM, frozen, whose layers
are mixed with learned scalar weights per task, with dropout on the result."""

import torch
from torch import nn

from lm_experiments.models.base import BidirectionalLMEncoder
from lm_experiments.models.scalar_mix import ScalarMix


class ElmoVectors(nn.Module):
    """(B, T) ids of the classifier's vocabulary and their (B, T) mask -> (B, T, 2p) contextual vectors.

    `bilm` is a trained biLM (`run/assembly.py`'s `load_bilm` reads one from a `model=elmo` run);
    its token vectors for the classifier's words are computed once from their characters
    (so no word is unknown to it), its weights stay frozen and in eval mode, and only the
    scalar mix (weights and gamma) is trained with the classifier.
    """

    def __init__(self, bilm: BidirectionalLMEncoder, words: list[str], dropout: float = 0.5,
                 layer_norm: bool = False):
        super().__init__()
        self.bilm = bilm.requires_grad_(False).eval()
        with torch.no_grad():
            self.register_buffer("token_vectors", self.bilm.tokens.vectors_for(words), persistent=False)  # (V, p)
        self.mix = ScalarMix(self.bilm.num_layers + 1, layer_norm=layer_norm)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = 2 * self.bilm.output_dim

    def train(self, mode: bool = True):
        super().train(mode)
        self.bilm.eval()  # frozen: no dropout inside the biLM, whatever the classifier does
        return self

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1)
        with torch.no_grad():
            layers = self.bilm.layers(self.token_vectors[ids], lengths)                  # (B, T, L + 1, 2p)
        return self.dropout(self.mix(layers, mask)) * mask[..., None].to(layers.dtype)
