"""The one interface every output layer (the `sampler` config group) has, whichever task uses it.

A task completes the `sampler` partial the same way for every objective:
`objective(vocab=vocab, dim=encoder.output_dim, sparse=...)`, where `sparse` says
whether its tables of output rows give sparse gradients (the word-embedding task's
SGD touches only the rows a step used; a language model's optimizers and gradient
clipping want dense ones). Objectives without row tables (full, sampled, adaptive
softmax) are dense either way.

An objective whose per-example step a fused kernel (`kernels/`) can take declares it with
`fused_output_side()`: the rows the kernel writes and how it scores them; the updaters read
that and never ask which objective they hold.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError

WINDOW_DRAWS = 3      # sampler.window_draws=null: fastText's skip-gram draws 3 x K noise words per shared window
CENTERS_PER_DRAW = 8  # sampler.centers_per_draw=null: CBOW shares a draw among 8 consecutive centers


@dataclass
class FusedOutputSide:
    """What a fused kernel scores against: negative sampling (`negative` noise words per example, drawn from
    `noise_probs` by `sample_noise`) or hierarchical softmax (`negative` = 0; the Huffman paths `codes`,
    `points` (V, L) and `lengths` (V,)). The side not used holds (1, 1) zeros that the kernels never read.
    `noise_sharing` (auto | none | window) says which examples share a draw (`sampler.noise_sharing`), and
    `window_draws` and `centers_per_draw` its sizes where the config set them (None: the defaults above)."""

    rows: torch.Tensor     # (O, d) the parameter the kernels write (read afresh each batch: DDP replaces storage)
    negative: int
    codes: torch.Tensor    # (V, L) or (1, 1)
    points: torch.Tensor   # (V, L) or (1, 1)
    lengths: torch.Tensor  # (V,) or (1,)
    noise_probs: torch.Tensor | None = None  # (V,) negative sampling's noise distribution
    sample_noise: Callable[[tuple[int, ...], torch.device], torch.Tensor] | None = None
    noise_sharing: str = "none"
    window_draws: int | None = None
    centers_per_draw: int | None = None

    @property
    def hierarchical(self) -> bool:
        return self.negative == 0

    @property
    def draws_per_window(self) -> int:
        """Noise words fastText's skip-gram draws per shared window: window_draws x K."""
        return (WINDOW_DRAWS if self.window_draws is None else self.window_draws) * self.negative

    @property
    def centers_per_step(self) -> int:
        return CENTERS_PER_DRAW if self.centers_per_draw is None else self.centers_per_draw


class Objective(nn.Module):
    """hidden vectors -> a loss over the vocabulary.

    - `forward(hidden (P, d), targets (P,), step_size=None) -> (P,)`: the training loss per
      example. `step_size` is the learning rate of the SGD step the loss feeds, for the
      rules that cap rows many examples of one step share (`shared_rows.py`); None (a
      language model's mean loss) means exact gradients.
    - `nll(hidden, targets) -> (P,)`: -log p(target | h) under the normalized distribution
      (what perplexity is computed from, whatever the training loss approximates).
    - `log_prob(hidden) -> (P, V)`: the normalized distribution (generation).
    - `tie_weights(weight)`: share the (V, d) output matrix with an input embedding, for
      objectives with one output vector per word.
    - `fused_output_side()`: what a fused kernel needs to take this objective's per-example steps,
      or None where no kernel can (then `fused_kernel_note` says which objectives have one).
    - `kernel_only_options()`: the settings given that only the fused CPU kernel honours, which a run
      stepping through autograd refuses instead of ignoring.
    """

    fused_kernel_note = "sampler=negative and sampler=hierarchical have one"

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False):
        super().__init__()
        self.vocab_size, self.dim, self.sparse = len(vocab), dim, bool(sparse)

    def tie_weights(self, weight: nn.Parameter) -> None:
        raise UserError(f"model.tie_weights=true needs an objective with one output vector per word "
                        f"(sampler=full, sampled, negative or nce); {type(self).__name__} has none. "
                        f"Set model.tie_weights=false.")

    def fused_output_side(self) -> FusedOutputSide | None:
        return None

    def kernel_only_options(self) -> list[str]:
        return []
