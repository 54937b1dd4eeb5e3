"""Negative sampling (Mikolov et al. 2013): k noise words drawn from unigram^alpha."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import number, positive_int
from lm_experiments.objectives.base import FusedOutputSide, Objective
from lm_experiments.objectives.noise import UnigramNoise
from lm_experiments.objectives.shared_rows import logistic_curvature, scale_shared_rows, shared_row_rule


class NegativeSampling(Objective):
    """loss = -log s(h.w_t) - sum_k log s(-h.w_nk), noise n_k ~ count^ns_exponent.

    Output vectors start at zero as in word2vec (`syn1neg`); a drawn noise word that
    equals the target is skipped, as word2vec does.

    With `shared=True` one pool of K = `shared_pool` noise words serves every example of
    a step, so the noise scores are one (P, d) x (d, K) matrix product instead of P
    small gathers: the standard trick for GPU speed. Each example weighs the pool by
    k / K, so its expected noise term is word2vec's k draws; a pool of only k words
    would let a whole step see 5 noise words where word2vec's examples see 5 each,
    and learns far less per epoch (measured in benchmarks/README.md). The pool's rows
    take the push of all P examples at once, where word2vec moves them one example at
    a time; `shared_rows` picks how much of it they take (`shared_rows.py`; `newton`
    by default). Per-example noise keeps word2vec's sum. Language models pass no step
    size: their loss is a mean over tokens and takes the exact gradient.
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, negative: int = 5,
                 ns_exponent: float = 0.75, shared: bool = False, shared_pool: int | None = None,
                 shared_rows: str = "newton"):
        super().__init__(vocab, dim, sparse)
        self.negative = positive_int(negative, "sampler.negative")
        self.shared = bool(shared)
        self.shared_pool = self.negative if shared_pool is None else positive_int(shared_pool, "sampler.shared_pool")
        self.shared_rows = shared_row_rule(shared_rows)
        ns_exponent = number(ns_exponent, "sampler.ns_exponent")
        self.output = nn.Embedding(len(vocab), dim, sparse=sparse)
        nn.init.zeros_(self.output.weight)
        self.noise = UnigramNoise(vocab, ns_exponent)
        self.noise.check_draws(self.negative, "sampler.negative")
        if self.shared:
            self.noise.check_draws(self.shared_pool, "sampler.shared_pool", usual=1024, what="noise words per step",
                                   advice="a shared pool of a few hundred to 1,024 words serves any batch")

    @property
    def fused_kernel_note(self) -> str:
        return ("a pool of noise words shared by a step (sampler.shared=true); the kernels draw per example: "
                "set sampler.shared=false" if self.shared else super().fused_kernel_note)

    def fused_output_side(self) -> FusedOutputSide | None:
        """Per-example noise only: a shared pool is the autograd path's batched form."""
        if self.shared:
            return None
        unused = torch.zeros((1, 1), dtype=torch.long, device=self.output.weight.device)
        return FusedOutputSide(self.output.weight, self.negative, unused, unused, unused[0], self.noise.probs,
                               self.sample_noise)

    def sample_noise(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return self.noise.sample(shape, device)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        positive = (hidden * self.output(targets)).sum(-1)                            # (P,)
        weight = 1.0
        if self.shared:
            pool = self.sample_noise((self.shared_pool,), hidden.device)              # (K,)
            noise_vectors = self.output(pool)                                         # (K, d)
            negative = hidden @ noise_vectors.T                                       # (P, K)
            not_target = (pool.unsqueeze(0) != targets.unsqueeze(1)).to(hidden.dtype)  # (P, K)
            weight = self.negative / self.shared_pool
            if self.shared_rows != "sum" and noise_vectors.requires_grad:
                curvature = weight * logistic_curvature(negative.detach(),
                                                        hidden.detach().pow(2).sum(-1, keepdim=True))
                scale_shared_rows(noise_vectors, pool, not_target.sum(0), (curvature * not_target).sum(0),
                                  self.shared_rows, step_size, self.output.num_embeddings)
        else:
            noise = self.sample_noise((targets.numel(), self.negative), hidden.device)  # (P, k)
            negative = torch.bmm(self.output(noise), hidden.unsqueeze(2)).squeeze(2)    # (P, k)
            not_target = (noise != targets.unsqueeze(1)).to(hidden.dtype)              # (P, k)
        return -F.logsigmoid(positive) - weight * (F.logsigmoid(-negative) * not_target).sum(-1)

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(P, d) -> (P, V): the softmax over the same scores, the distribution the model implies."""
        return F.log_softmax(hidden @ self.output.weight.T, dim=-1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log softmax(h . U)_t per example (P,): negative sampling trains unnormalized scores."""
        return F.cross_entropy(hidden @ self.output.weight.T, targets, reduction="none")

    def tie_weights(self, weight: nn.Parameter) -> None:
        self.output.weight = weight
