"""The one interface every output layer (the `sampler` config group) has, whichever task uses it.

A task completes the `sampler` partial the same way for every objective:
`objective(vocab=vocab, dim=encoder.output_dim, sparse=...)`, where `sparse` says
whether its tables of output rows give sparse gradients (the word-embedding task's
SGD touches only the rows a step used; a language model's optimizers and gradient
clipping want dense ones). Objectives without row tables (full, sampled, adaptive
softmax) are dense either way.
"""

from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError


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
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False):
        super().__init__()
        self.vocab_size, self.dim, self.sparse = len(vocab), dim, bool(sparse)

    def tie_weights(self, weight: nn.Parameter) -> None:
        raise UserError(f"model.tie_weights=true needs an objective with one output vector per word "
                        f"(sampler=full, sampled, negative or nce); {type(self).__name__} has none. "
                        f"Set model.tie_weights=false.")
