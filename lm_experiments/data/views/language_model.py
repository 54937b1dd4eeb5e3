"""Views for language models: how a split's id stream becomes batches of (inputs, targets).

Four shapes, one per model family:

- `BPTTView` (RNN/GRU/LSTM): the stream as `batch_size` parallel columns walked in
  order, `bptt` tokens at a time, so a recurrent model can carry its hidden state
  from one block to the next (truncated backpropagation through time).
- `ContextWindowView` (NNLM): the n-1 ids before each token, every position of the stream.
- `TokenWindowView` (Transformer): random windows of `block_size` tokens for training;
  for evaluation, windows `eval_stride` apart that score each token exactly once,
  with at least `block_size - eval_stride` tokens of context after the first window.
- `WholeSplitView` (counting n-grams): each split in one piece.

Every evaluation view scores every token of the split exactly once: the split is
read as if an `<eos>` came before it (the previous sentence ended), so the number
of predicted tokens is the split's words + `<eos>` count the papers report.
Targets that are padding carry `IGNORE` (-100, `F.cross_entropy`'s ignore_index).
"""

import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.batches import IGNORE, BPTTBlock, ContextWindows, TokenChunk, TokenWindows
from lm_experiments.data.views.base import LoaderSettings, View, ViewOptions
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


def _as_tensor(stream) -> torch.Tensor:
    return torch.from_numpy(np.asarray(stream, dtype=np.int64))


def shifted_with_start(stream, start_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), both (N,): every token of the split is a target, preceded by `start_id`."""
    targets = _as_tensor(stream)
    inputs = torch.cat([torch.tensor([start_id]), targets[:-1]])
    return inputs, targets


def _keep_batch(batch):
    """Collate for datasets that fetch whole batches themselves (`__getitems__`)."""
    return batch


class ColumnBlocks(Dataset):
    """Item i: block i of the (B, L) column layout, `bptt` steps of every column.

    `pad=True` keeps every target (the last column is padded with IGNORE targets);
    `pad=False` drops the N mod B leftover tokens, as the PyTorch word-language-model
    example does for training. `columns` keeps some of the B columns: a DDP process's share,
    so that each process walks its own columns in order and all walk the same number of blocks.
    """

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int, bptt: int, pad: bool,
                 pad_id: int, columns: slice = slice(None)):
        count = inputs.numel()
        length = -(-count // batch_size) if pad else count // batch_size
        if length == 0:
            raise UserError(f"The split has {count} tokens, fewer than data.batch_size={batch_size} columns. "
                            f"Lower data.batch_size.")
        total = batch_size * length
        if pad:
            inputs = torch.cat([inputs, inputs.new_full((total - count,), pad_id)])
            targets = torch.cat([targets, targets.new_full((total - count,), IGNORE)])
        self.inputs = inputs[:total].view(batch_size, length)[columns]    # (B, L)
        self.targets = targets[:total].view(batch_size, length)[columns]  # (B, L)
        self.bptt = bptt

    def __len__(self) -> int:
        return -(-self.inputs.shape[1] // self.bptt)

    def __getitem__(self, index: int) -> BPTTBlock:
        if not 0 <= index < len(self):
            raise IndexError(index)
        span = slice(index * self.bptt, (index + 1) * self.bptt)
        targets = self.targets[:, span]
        return BPTTBlock(inputs=self.inputs[:, span], targets=targets, starts_fresh=index == 0,
                         n_words=int((targets != IGNORE).sum()))


class StreamWindows(Dataset):
    """Item i: `length` consecutive ids starting at `starts[i]`, fetched a whole batch at a time.

    `split_at=None`: next-token prediction at every position (`TokenWindows`);
    `split_at=k`: the first k ids predict the id after them (`ContextWindows`).
    """

    def __init__(self, stream: torch.Tensor, length: int, starts: torch.Tensor, split_at: int | None):
        self.stream, self.length, self.starts = stream, length, starts
        self.offsets = torch.arange(length)
        self.split_at = split_at

    def __len__(self) -> int:
        return self.starts.numel()

    def __getitems__(self, indices: list[int]) -> TokenWindows | ContextWindows:
        windows = self.stream[self.starts[torch.as_tensor(indices)][:, None] + self.offsets]  # (B, length)
        if self.split_at is None:
            return TokenWindows(inputs=windows[:, :-1], targets=windows[:, 1:], n_words=windows[:, 1:].numel())
        targets = windows[:, self.split_at]
        return ContextWindows(inputs=windows[:, : self.split_at], targets=targets, n_words=targets.numel())

    def __getitem__(self, index: int):
        raise TypeError("StreamWindows is read a batch at a time (__getitems__)")


class TensorBatches(Dataset):
    """Precomputed (W, T) inputs/targets; a batch of rows per fetch."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor):
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitems__(self, indices: list[int]) -> TokenWindows:
        rows = torch.as_tensor(indices)
        targets = self.targets[rows]
        return TokenWindows(inputs=self.inputs[rows], targets=targets, n_words=int((targets != IGNORE).sum()))

    def __getitem__(self, index: int):
        raise TypeError("TensorBatches is read a batch at a time (__getitems__)")


class BPTTView(View):
    """Truncated BPTT blocks for recurrent models (Zaremba et al. 2014; the PyTorch example)."""

    batch_type = BPTTBlock
    scores_held_out = True

    def __init__(self, vocab: Vocabulary, options: ViewOptions):
        super().__init__(vocab, options)
        self.start_id = vocab.eos_index

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        """Blocks in order (the hidden state flows from one to the next), so never shuffled. Under DDP the
        stream is laid out in `batch_size` x world columns and each process takes `batch_size` of them
        (`data.batch_size` is per process, as in Lightning)."""
        tokens, shard, size = _as_tensor(stream), settings.shard, self.options.batch_size
        blocks = ColumnBlocks(tokens[:-1], tokens[1:], size * shard.world, self.options.bptt, pad=False,
                              pad_id=self.start_id, columns=slice(shard.rank * size, (shard.rank + 1) * size))
        return settings.loader(blocks, batch_size=None, shuffle=False)

    def eval_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        """`eval_batch_size` columns (at least one per process), shared out between the processes."""
        inputs, targets = shifted_with_start(stream, self.start_id)
        columns = max(self.options.eval_batch_size, settings.shard.world)
        blocks = ColumnBlocks(inputs, targets, columns, self.options.bptt, pad=True, pad_id=self.start_id,
                              columns=settings.shard.span(columns))
        return settings.loader(blocks, batch_size=None, shuffle=False)


class ContextWindowView(View):
    """(n-1 previous ids, next id) at every position; the stream starts after `order - 1` `<eos>`."""

    batch_type = ContextWindows
    scores_held_out = True

    def __init__(self, vocab: Vocabulary, options: ViewOptions, order: int = 5):
        super().__init__(vocab, options)
        self.order = positive_int(order, "model.order")
        if self.order < 2:
            raise UserError(f"model.order must be at least 2 for a neural n-gram model, got {order}.")
        self.start_id = vocab.eos_index

    def _windows(self, stream, positions: slice = slice(None)) -> StreamWindows:
        tokens = _as_tensor(stream)
        padded = torch.cat([tokens.new_full((self.order - 1,), self.start_id), tokens])
        return StreamWindows(padded, self.order, torch.arange(tokens.numel())[positions], split_at=self.order - 1)

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        windows = self._windows(stream)
        sampler = settings.shard.shuffled(windows, settings.shuffle)
        return settings.loader(windows, batch_size=self.options.batch_size,
                               shuffle=settings.shuffle if sampler is None else None, sampler=sampler,
                               collate_fn=_keep_batch)

    def eval_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        windows = self._windows(stream, settings.shard.span(len(stream)))
        return settings.loader(windows, batch_size=self.options.eval_batch_size, shuffle=False, collate_fn=_keep_batch)


def sliding_windows(inputs: torch.Tensor, targets: torch.Tensor, block_size: int, stride: int,
                    pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of `block_size` inputs, `stride` apart, whose unmasked targets cover each position once.

    Window j starts at j * stride; it scores the positions after the previous window's
    end (all of them for j = 0), so every scored token but the first window's sees at
    least `block_size - stride` tokens of context. Returns (W, block_size) inputs and
    targets (IGNORE where not scored or past the end).
    """
    count = inputs.numel()
    starts = torch.arange(0, max(count - block_size, 0) + stride, stride)
    starts = starts[(starts == 0) | (starts + block_size - stride < count)]
    positions = starts[:, None] + torch.arange(block_size)                    # (W, T)
    inside = positions < count
    previous_end = torch.cat([starts.new_zeros(1), (starts[:-1] + block_size).clamp(max=count)])
    scored = inside & (positions >= previous_end[:, None])
    clipped = positions.clamp(max=count - 1)
    window_inputs = torch.where(inside, inputs[clipped], pad_id)
    window_targets = torch.where(scored, targets[clipped], IGNORE)
    return window_inputs, window_targets


class TokenWindowView(View):
    """Transformer data: random training windows, sliding evaluation windows."""

    batch_type = TokenWindows
    scores_held_out = True

    def __init__(self, vocab: Vocabulary, options: ViewOptions, block_size: int = 128,
                 eval_stride: int | None = None):
        super().__init__(vocab, options)
        self.block_size = positive_int(block_size, "model.block_size")
        self.eval_stride = positive_int(eval_stride if eval_stride is not None else max(block_size // 2, 1),
                                        "model.eval_stride")
        if self.eval_stride > self.block_size:
            raise UserError(f"model.eval_stride={eval_stride} must not exceed model.block_size={block_size}.")
        self.start_id = vocab.eos_index

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        """An epoch = N / block_size windows at random starts (so about one pass over the tokens, shared
        between the processes under DDP)."""
        tokens = _as_tensor(stream)
        span = self.block_size + 1
        if tokens.numel() < span:
            raise UserError(f"The training split has {tokens.numel()} tokens, fewer than model.block_size + 1 = "
                            f"{span}. Lower model.block_size.")
        windows = StreamWindows(tokens, span, torch.arange(tokens.numel() - span + 1), split_at=None)
        per_epoch = max(tokens.numel() // self.block_size, 1)
        sampler = settings.shard.random_draws(windows, per_epoch) if settings.shuffle else None
        return settings.loader(windows, batch_size=self.options.batch_size, sampler=sampler, collate_fn=_keep_batch)

    def eval_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        inputs, targets = shifted_with_start(stream, self.start_id)
        window_inputs, window_targets = sliding_windows(inputs, targets, self.block_size, self.eval_stride,
                                                        self.start_id)
        part = settings.shard.span(window_inputs.shape[0])
        windows = TensorBatches(window_inputs[part], window_targets[part])
        return settings.loader(windows, batch_size=self.options.eval_batch_size, shuffle=False, collate_fn=_keep_batch)


class WholeSplit(Dataset):
    """One item: the whole split as one (N,) tensor over the stream's own memory (a memory map stays one: the
    n-gram model reads it in chunks)."""

    def __init__(self, stream):
        self.stream = stream
        with warnings.catch_warnings():  # a read-only memory map: the counting never writes to it
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            self.tokens = torch.from_numpy(np.asarray(stream))

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> TokenChunk:
        if index != 0:
            raise IndexError(index)
        return TokenChunk(self.tokens, source=self.stream)


class WholeSplitView(View):
    """The n-gram model's view: each split in one piece; sentences are read from its `<eos>` ids."""

    batch_type = TokenChunk
    scores_held_out = True

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        return DataLoader(WholeSplit(stream), batch_size=None, shuffle=False)

    def eval_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        return DataLoader(WholeSplit(stream), batch_size=None, shuffle=False)
