"""How big a step an output row takes when many examples of one SGD step push on it.

Word2vec moves its output rows one example at a time. A batched step adds up the
gradients of all the examples that touch a row, which is the same thing for a row
touched once or a few times, and something else for a row that every example
touches: the root of the Huffman tree, or the k noise words shared by a batch. Its
summed step is then hundreds of word2vec steps taken from one stale point, and it
overshoots and diverges; the mean, the other obvious fix, moves such a row hundreds
of times too slowly. The rules:

- `sum`: every example's whole update (word2vec's arithmetic; unstable for rows all share).
- `mean`: a row used by c examples takes the mean of their updates.
- `newton` (default): the sum, scaled down only as far as needed for the step to be
  no longer than a Newton step on that row. For the logistic losses here an example
  i with score s_i and hidden vector h_i adds s(s_i)(1 - s(s_i)) |h_i|^2 to the trace
  of the row's Hessian, and a row whose summed trace is T takes
  min(1, 1 / (lr T)) x its summed gradient. lr T <= 1 keeps a gradient step stable
  on the row's quadratic model (it needs lr lambda_max < 2, and T >= lambda_max), so a
  row touched by a few unsaturated examples moves as in word2vec and a row touched by
  the whole batch stays stable.
"""

import torch

from lm_experiments.errors import require

RULES = ("newton", "mean", "sum")


def shared_row_rule(value: str) -> str:
    """The rule's name, or a message naming the config key."""
    require(value in RULES, f"sampler.shared_rows must be one of {', '.join(RULES)}, got {value!r}.")
    return value


def logistic_curvature(scores: torch.Tensor, hidden_sq_norm: torch.Tensor) -> torch.Tensor:
    """s(x)(1 - s(x)) |h|^2: one example's share of the trace of a row's Hessian (broadcasts)."""
    probability = torch.sigmoid(scores)
    return probability * (1.0 - probability) * hidden_sq_norm


def scale_shared_rows(gathered: torch.Tensor, rows: torch.Tensor, uses: torch.Tensor, curvature: torch.Tensor,
                      rule: str, step_size: float | None, num_rows: int) -> None:
    """Scale the gradient reaching `gathered` (..., d), the vectors of output rows `rows` (...).

    Per gathered vector: `uses` (...) how many examples pushed on it (0 where masked
    out), `curvature` (...) their summed trace contribution (`logistic_curvature`).
    A row gathered several times adds them up. `step_size` is the learning rate of the
    SGD step the loss feeds; without one (a language model's mean loss, or the objective
    used as a plain loss) there is no summed step to tame and every rule leaves the
    exact gradient.
    """
    if rule == "sum" or step_size is None or not gathered.requires_grad:
        return
    with torch.no_grad():
        flat_rows = rows.reshape(-1)
        total = torch.zeros(num_rows, dtype=gathered.dtype, device=gathered.device)
        if rule == "mean":
            total.index_add_(0, flat_rows, uses.reshape(-1).to(gathered.dtype))
            scale = 1.0 / total.clamp(min=1.0)
        else:
            total.index_add_(0, flat_rows, curvature.reshape(-1).to(gathered.dtype))
            scale = (1.0 / (step_size * total).clamp(min=1e-30)).clamp(max=1.0)
        share = scale[rows].unsqueeze(-1)                                      # (..., 1)
    gathered.register_hook(lambda grad: grad * share)
