"""Negative sampling (Mikolov et al. 2013): k noise words drawn from unigram^alpha."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, number, positive_int
from lm_experiments.objectives.base import FusedOutputSide, Objective
from lm_experiments.objectives.noise import UnigramNoise
from lm_experiments.objectives.shared_rows import logistic_curvature, scale_shared_rows, shared_row_rule

# sampler.noise_sharing: which examples share one draw of noise words
NOISE_SHARING = ("auto", "none", "window", "step")
NOISE_POOL = 1024  # what sampler.noise_pool=null means (window_draws and centers_per_draw: objectives/base.py)
MAX_CENTERS_PER_DRAW = 4096


class NegativeSampling(Objective):
    """loss = -log s(h.w_t) - sum_k log s(-h.w_nk), noise n_k ~ count^ns_exponent.

    Output vectors start at zero as in word2vec (`syn1neg`); a drawn noise word that
    equals the target is skipped, as word2vec does.

    `noise_sharing` says which examples share one draw of noise words, on either path:
    - `none`: word2vec's K words per example (the fused kernels' per-example loops, and autograd's);
    - `window` (the fused CPU kernel): one draw per skip-gram center, shared by its window
      (Ji et al. 2016; fastText's center draws `window_draws` x K, each weighted down as much),
      and per `centers_per_draw` consecutive CBOW centers;
    - `step` (autograd): one pool of K' = `noise_pool` words per SGD step, shared by all its
      examples as a (P, d) x (d, K') matrix product, each example weighing the pool by K / K'
      so its expected noise term is word2vec's K draws (a pool of only K words learns far less
      per epoch: benchmarks/README.md). The pool's rows take the push of all P examples at
      once; `shared_rows` picks how much of it they take (`shared_rows.py`);
    - `auto` (the default): `window` for skip-gram and fastText's skip-gram under the fused CPU
      kernel, where benchmarks/README.md shows gensim's quality held, `none` elsewhere.
    The sizes are null unless their sharing applies (null: 1024, 3 and 8), so a size set
    where it would change nothing is refused. Language models pass no step size: their
    loss is a mean over tokens and takes the exact gradient.
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, negative: int = 5,
                 ns_exponent: float = 0.75, noise_sharing: str = "auto", noise_pool: int | None = None,
                 window_draws: int | None = None, centers_per_draw: int | None = None, shared_rows: str = "newton"):
        super().__init__(vocab, dim, sparse)
        self.negative = positive_int(negative, "sampler.negative")
        if noise_sharing not in NOISE_SHARING:
            raise UserError(f"sampler.noise_sharing must be one of {', '.join(NOISE_SHARING)}; got {noise_sharing!r}.")
        self.noise_sharing = noise_sharing
        if noise_pool is not None and noise_sharing != "step":
            raise UserError(f"sampler.noise_pool sizes the pool of sampler.noise_sharing=step, and this run's is "
                            f"{noise_sharing}: drop sampler.noise_pool or set sampler.noise_sharing=step.")
        self.noise_pool = positive_int(NOISE_POOL if noise_pool is None else noise_pool, "sampler.noise_pool")
        for value, name in ((window_draws, "window_draws"), (centers_per_draw, "centers_per_draw")):
            if value is not None and noise_sharing not in ("auto", "window"):
                raise UserError(f"sampler.{name} applies where noise words are shared per window "
                                f"(sampler.noise_sharing=window or auto), and this run's is {noise_sharing}: drop "
                                f"sampler.{name}.")
        self.window_draws = None if window_draws is None else positive_int(window_draws, "sampler.window_draws")
        self.centers_per_draw = None if centers_per_draw is None else positive_int(centers_per_draw,
                                                                                     "sampler.centers_per_draw")
        self.shared_rows = shared_row_rule(shared_rows)
        ns_exponent = number(ns_exponent, "sampler.ns_exponent")
        self.output = nn.Embedding(len(vocab), dim, sparse=sparse)
        nn.init.zeros_(self.output.weight)
        self.noise = UnigramNoise(vocab, ns_exponent)
        self.noise.check_draws(self.negative, "sampler.negative")
        if noise_sharing == "step":
            self.noise.check_draws(self.noise_pool, "sampler.noise_pool", usual=NOISE_POOL, what="noise words per step",
                                   advice="a shared pool of a few hundred to 1,024 words serves any batch")
        if self.window_draws is not None:
            self.noise.check_draws(self.window_draws * self.negative, f"sampler.window_draws={self.window_draws} x "
                                   f"sampler.negative", usual=20 * self.negative, what="noise words per window",
                                   advice="fastText's skip-gram draws 3 x negative per window")
        if self.centers_per_draw is not None and self.centers_per_draw > MAX_CENTERS_PER_DRAW:
            raise UserError(f"sampler.centers_per_draw={self.centers_per_draw}: CBOW's shared step takes at most "
                            f"{MAX_CENTERS_PER_DRAW:,} consecutive centers (a chunk's; 8 by default), whose vectors "
                            f"it holds at once.")

    @property
    def pooled(self) -> bool:
        """One pool of noise words per SGD step (the autograd path's batched form)."""
        return self.noise_sharing == "step"

    @property
    def fused_kernel_note(self) -> str:
        return ("a pool of noise words shared by a step (sampler.noise_sharing=step); the kernels draw per example "
                "or per window: set sampler.noise_sharing=auto" if self.pooled else super().fused_kernel_note)

    def kernel_only_options(self) -> list[str]:
        """The settings only the fused CPU kernel honours (noise shared per window, and its sizes)."""
        given = [f"sampler.noise_sharing={self.noise_sharing}"] if self.noise_sharing == "window" else []
        return given + [f"sampler.{name}={value}" for name, value in (("window_draws", self.window_draws),
                                                                      ("centers_per_draw", self.centers_per_draw))
                        if value is not None]

    def fused_output_side(self) -> FusedOutputSide | None:
        """Per-example or per-window noise; a pool per step is the autograd path's batched form."""
        if self.pooled:
            return None
        unused = torch.zeros((1, 1), dtype=torch.long, device=self.output.weight.device)
        return FusedOutputSide(self.output.weight, self.negative, unused, unused, unused[0], self.noise.probs,
                               self.sample_noise, self.noise_sharing, self.window_draws, self.centers_per_draw)

    def sample_noise(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return self.noise.sample(shape, device)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        positive = (hidden * self.output(targets)).sum(-1)                            # (P,)
        weight = 1.0
        if self.pooled:
            pool = self.sample_noise((self.noise_pool,), hidden.device)               # (K,)
            noise_vectors = self.output(pool)                                         # (K, d)
            negative = hidden @ noise_vectors.T                                       # (P, K)
            not_target = (pool.unsqueeze(0) != targets.unsqueeze(1)).to(hidden.dtype)  # (P, K)
            weight = self.negative / self.noise_pool
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
