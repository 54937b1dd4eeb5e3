"""Windows for a bidirectional language model (ELMo's biLM): each window is read forwards and backwards.

Training draws random windows of `block_size` tokens, every position predicting its
neighbour in both directions. Evaluation covers the split with windows that overlap by
one token (the last window moved back to end at the split's end), and marks which
predictions each window scores, so every token but the first is predicted once by the
forward model and every token but the last once by the backward model.
"""

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.batches import BiWindows
from lm_experiments.data.views.base import LoaderSettings, View, ViewOptions
from lm_experiments.data.views.language_model import _keep_batch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


class Windows(Dataset):
    """Item i: the `length` ids from `starts[i]`, with its scored masks; fetched a whole batch at a time."""

    def __init__(self, stream: torch.Tensor, length: int, starts: torch.Tensor, forward: torch.Tensor,
                 backward: torch.Tensor):
        self.stream, self.starts, self.offsets = stream, starts, torch.arange(length)
        self.forward, self.backward = forward, backward  # (W, T) bool each

    def __len__(self) -> int:
        return self.starts.numel()

    def __getitems__(self, indices: list[int]) -> BiWindows:
        rows = torch.as_tensor(indices)
        forward = self.forward[rows]
        return BiWindows(tokens=self.stream[self.starts[rows][:, None] + self.offsets], forward_scored=forward,
                         backward_scored=self.backward[rows], n_words=int(forward.sum()))

    def __getitem__(self, index: int):
        raise TypeError("Windows is read a batch at a time (__getitems__)")


def covering_windows(count: int, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts (W,), forward (W, T), backward (W, T)): windows one token apart in overlap that cover `count`
    tokens, each prediction scored by exactly one window."""
    step = length - 1
    starts = np.minimum(np.arange(math.ceil((count - 1) / step)) * step, count - length)
    positions = starts[:, None] + np.arange(length)                                          # (W, T) global
    previous = np.concatenate([[-length], starts[:-1]])[:, None]                               # (W, 1)
    forward = (np.arange(length) < length - 1) & (positions + 1 > previous + length - 1)       # target t + 1 new
    backward = (np.arange(length) > 0) & (positions - 1 > previous + length - 2)              # target t - 1 new
    return starts, forward, backward


class BiWindowView(View):
    """`BiWindows` of `block_size` tokens (`data.view.block_size`); see the module docstring."""

    batch_type = BiWindows
    scores_held_out = True

    def __init__(self, vocab: Vocabulary, options: ViewOptions, block_size: int = 20):
        super().__init__(vocab, options)
        self.block_size = positive_int(block_size, "data.view.block_size")
        if self.block_size < 2:
            raise UserError("data.view.block_size must be at least 2 (a token and its neighbour).")

    def _length(self, tokens: torch.Tensor) -> int:
        if tokens.numel() < 2:
            raise UserError(f"A split of {tokens.numel()} token(s) has nothing for a language model to predict.")
        return min(self.block_size, tokens.numel())

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        """An epoch = N / block_size windows at random starts, every neighbour predicted in both directions."""
        tokens = torch.from_numpy(np.asarray(stream, dtype=np.int64))
        length = self._length(tokens)
        starts = torch.arange(tokens.numel() - length + 1)
        forward = (torch.arange(length) < length - 1).expand(len(starts), length)
        backward = (torch.arange(length) > 0).expand(len(starts), length)
        windows = Windows(tokens, length, starts, forward, backward)
        per_epoch = max(tokens.numel() // length, 1)
        sampler = settings.shard.random_draws(windows, per_epoch) if settings.shuffle else None
        return settings.loader(windows, batch_size=self.options.batch_size, sampler=sampler, collate_fn=_keep_batch)

    def eval_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        tokens = torch.from_numpy(np.asarray(stream, dtype=np.int64))
        length = self._length(tokens)
        starts, forward, backward = covering_windows(tokens.numel(), length)
        part = settings.shard.span(len(starts))
        windows = Windows(tokens, length, torch.from_numpy(starts[part]), torch.from_numpy(forward[part]),
                          torch.from_numpy(backward[part]))
        return settings.loader(windows, batch_size=self.options.eval_batch_size, shuffle=False, collate_fn=_keep_batch)
