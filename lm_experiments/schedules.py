"""Learning-rate schedules, built once the trainer knows how many steps (and steps per epoch) there are.

Every schedule is a partial that the module completes with `total_steps` and
`steps_per_epoch`, and is stepped once per optimizer step, except `plateau`, which
Lightning steps once per validation on `val/loss`.
"""

import math

from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from lm_experiments.errors import UserError


def linear_decay(optimizer, total_steps: int, steps_per_epoch: int = 1,
                 final_ratio: float = 1e-4 / 0.025) -> LambdaLR:
    """word2vec's schedule: lr falls linearly from its start to `final_ratio` x start (gensim's min_alpha)."""
    total = max(int(total_steps), 1)
    return LambdaLR(optimizer, lambda step: max(final_ratio, 1.0 - (1.0 - final_ratio) * step / total))


def constant(optimizer, total_steps: int, steps_per_epoch: int = 1) -> LambdaLR:
    return LambdaLR(optimizer, lambda step: 1.0)


def epoch_decay(optimizer, total_steps: int, steps_per_epoch: int = 1, decay: float = 0.5,
                start_epoch: int = 5) -> LambdaLR:
    """Zaremba et al. 2014: constant lr for the first `start_epoch - 1` epochs, then x `decay` every epoch."""
    if not 0 < decay <= 1:
        raise UserError(f"scheduler.decay must be in (0, 1], got {decay!r}.")
    per_epoch = max(int(steps_per_epoch), 1)
    return LambdaLR(optimizer, lambda step: decay ** max(0, step // per_epoch + 1 - (start_epoch - 1)))


def warmup_cosine(optimizer, total_steps: int, steps_per_epoch: int = 1, warmup_steps: int = 200,
                  final_ratio: float = 0.1) -> LambdaLR:
    """Linear warm-up over `warmup_steps`, then cosine decay to `final_ratio` x lr (Transformer training)."""
    total, warmup = max(int(total_steps), 1), max(int(warmup_steps), 0)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(total - warmup, 1))
        return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def plateau(optimizer, total_steps: int, steps_per_epoch: int = 1, factor: float = 0.25,
            patience: int = 0) -> ReduceLROnPlateau:
    """The PyTorch word-language-model example: divide lr by 4 when validation loss stops improving."""
    return ReduceLROnPlateau(optimizer, mode="min", factor=factor, patience=patience)
