"""Learning-rate schedules, built once the trainer knows how many steps there are."""

from torch.optim.lr_scheduler import LambdaLR


def linear_decay(optimizer, total_steps: int, final_ratio: float = 1e-4 / 0.025) -> LambdaLR:
    """word2vec's schedule: lr falls linearly from its start to `final_ratio` x start (gensim's min_alpha)."""
    total = max(int(total_steps), 1)
    return LambdaLR(optimizer, lambda step: max(final_ratio, 1.0 - (1.0 - final_ratio) * step / total))


def constant(optimizer, total_steps: int) -> LambdaLR:
    return LambdaLR(optimizer, lambda step: 1.0)
