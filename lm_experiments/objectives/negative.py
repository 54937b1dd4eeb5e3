"""Negative sampling (Mikolov et al. 2013): k noise words drawn from unigram^alpha."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import number, positive_int
from lm_experiments.objectives.noise import UnigramNoise


class NegativeSampling(nn.Module):
    """loss = -log s(h.w_t) - sum_k log s(-h.w_nk), noise n_k ~ count^ns_exponent.

    Output vectors start at zero as in word2vec (`syn1neg`); a drawn noise word that
    equals the target is skipped, as word2vec does. With `shared=True` one set of k
    noise words serves every example of a step, so the noise scores are one (P, d) x
    (d, k) matrix product instead of P small gathers: the standard trick for GPU speed.
    Those k rows would then take the summed push of all P examples of a step, where
    word2vec moves them one example at a time; with `average_shared_rows` (the
    embedding models' default) they take the mean push instead. Language models pass
    False (their loss is already a mean over tokens).
    """

    def __init__(self, vocab: Vocabulary, dim: int, negative: int = 5, ns_exponent: float = 0.75,
                 shared: bool = False, sparse: bool = True, average_shared_rows: bool = True):
        super().__init__()
        self.negative = positive_int(negative, "sampler.negative")
        self.shared = bool(shared)
        self.average_shared_rows = bool(average_shared_rows)
        ns_exponent = number(ns_exponent, "sampler.ns_exponent")
        self.output = nn.Embedding(len(vocab), dim, sparse=sparse)
        nn.init.zeros_(self.output.weight)
        self.noise = UnigramNoise(vocab, ns_exponent)

    def sample_noise(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return self.noise.sample(shape, device)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        positive = (hidden * self.output(targets)).sum(-1)                            # (P,)
        if self.shared:
            noise = self.sample_noise((self.negative,), hidden.device)                # (k,)
            noise_vectors = self.output(noise)                                        # (k, d)
            if self.average_shared_rows and noise_vectors.requires_grad:
                count = hidden.shape[0]  # every example pushes on the same k rows: take their mean push
                noise_vectors.register_hook(lambda grad: grad / count)
            negative = hidden @ noise_vectors.T                                       # (P, k)
            noise = noise.unsqueeze(0)                                                # (1, k)
        else:
            noise = self.sample_noise((targets.numel(), self.negative), hidden.device)  # (P, k)
            negative = torch.bmm(self.output(noise), hidden.unsqueeze(2)).squeeze(2)    # (P, k)
        not_target = (noise != targets.unsqueeze(1)).to(hidden.dtype)
        return -F.logsigmoid(positive) - (F.logsigmoid(-negative) * not_target).sum(-1)

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(P, d) -> (P, V): the softmax over the same scores, the distribution the model implies."""
        return F.log_softmax(hidden @ self.output.weight.T, dim=-1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log softmax(h . U)_t per example (P,): negative sampling trains unnormalized scores."""
        return F.cross_entropy(hidden @ self.output.weight.T, targets, reduction="none")

    def tie_weights(self, weight: nn.Parameter) -> None:
        self.output.weight = weight
