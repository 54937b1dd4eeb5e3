"""Typed batches: what a data view hands a task.

Each kind of training reads one shape of example, and each shape is a small
dataclass here, so a task's `training_step` names the type it takes instead of
reading dict keys that differ per view. Lightning moves dataclasses to the device
field by field. `n_words` is the number of corpus words a batch stands for (what
words/sec counts: before subsampling for the word2vec views, the scored tokens for
language models).
"""

from dataclasses import dataclass, fields, replace

import numpy as np
import torch

IGNORE = -100  # a target, label or node that is not scored (F.cross_entropy's ignore_index)


class Batch:
    """What every typed batch shares: a loader with `pin_memory=True` (the data module sets it for a CUDA device)
    calls `pin_memory()`, which it cannot do for a dataclass by itself."""

    def pin_memory(self):
        """The same batch with its tensors in page-locked memory, so the copy to the GPU overlaps the host's work."""
        return replace(self, **{f.name: value.pin_memory() for f in fields(self)
                                if torch.is_tensor(value := getattr(self, f.name))})


@dataclass
class TokenChunk(Batch):
    """Consecutive corpus ids: a chunk the word2vec views expand into examples on the device, or a whole split
    (counting n-gram models read everything at once; sentences end at `<eos>`)."""

    ids: torch.Tensor  # (N,)
    source: np.ndarray | None = None  # the same ids as the (memory-mapped) array they come from, for readers on the
    #                                   CPU that take it in blocks (n-gram counting) and so hold only a block of it

    @property
    def n_words(self) -> int:
        return int(self.ids.numel())


@dataclass
class WordWindows(Batch):
    """Kept corpus words with word2vec's random choices already drawn: the compact form of a chunk's examples.

    After frequent-word subsampling, `ids` are the words that stay, `sentence` numbers the
    sentence (line) each came from, and `span` is each word's dynamic window (1..window).
    Word j is a context of center i when 0 < |i - j| <= span[i] and both are in one
    sentence; skip-gram's pairs and CBOW's contexts are both read off this (`PairBatch`,
    `ContextBatch`), and a fused kernel walks it directly, as word2vec does.
    """

    ids: torch.Tensor       # (n,)
    sentence: torch.Tensor  # (n,)
    span: torch.Tensor      # (n,) in 1..window
    window: int
    n_words: int            # corpus words of the chunk, before subsampling

    @property
    def size(self) -> int:
        return int(self.ids.numel())


@dataclass
class PairBatch(Batch):
    """Skip-gram examples: (center, context) word pairs within a window; the encoder says which side predicts."""

    centers: torch.Tensor   # (P,)
    contexts: torch.Tensor  # (P,)
    n_words: int = 0        # corpus words of the chunk the pairs came from

    @property
    def size(self) -> int:
        return int(self.centers.numel())

    def select(self, index: torch.Tensor) -> "PairBatch":
        """The examples at `index` (one SGD step's share; its words are counted with the whole chunk)."""
        return PairBatch(self.centers[index], self.contexts[index])


@dataclass
class ContextBatch(Batch):
    """CBOW examples: each center word is predicted from its window, padded to 2 x window with a mask."""

    centers: torch.Tensor   # (P,)
    contexts: torch.Tensor  # (P, C)
    mask: torch.Tensor      # (P, C) True where `contexts` holds a real context word
    n_words: int = 0

    @property
    def size(self) -> int:
        return int(self.centers.numel())

    def select(self, index: torch.Tensor) -> "ContextBatch":
        return ContextBatch(self.centers[index], self.contexts[index], self.mask[index])


@dataclass
class CellBatch(Batch):
    """Cells of a co-occurrence matrix: (row word, column word, weighted count)."""

    rows: torch.Tensor    # (P,)
    cols: torch.Tensor    # (P,)
    values: torch.Tensor  # (P,) float

    @property
    def size(self) -> int:
        return int(self.values.numel())

    def select(self, index: torch.Tensor) -> "CellBatch":
        return CellBatch(self.rows[index], self.cols[index], self.values[index])


@dataclass
class BPTTBlock(Batch):
    """`bptt` steps of every column of a split laid out in columns (truncated backpropagation through time).

    `starts_fresh` marks a column's first block: a recurrent model starts from a new hidden
    state there and carries it from each block to the next otherwise. Padded targets are
    IGNORE (-100).
    """

    inputs: torch.Tensor   # (B, T)
    targets: torch.Tensor  # (B, T)
    starts_fresh: bool
    n_words: int           # scored targets


@dataclass
class TokenWindows(Batch):
    """Independent windows of consecutive tokens, every position predicting the next (Transformer)."""

    inputs: torch.Tensor   # (B, T)
    targets: torch.Tensor  # (B, T), IGNORE where not scored
    n_words: int
    starts_fresh: bool = True  # nothing is carried from one window to the next


@dataclass
class ContextWindows(Batch):
    """The n-1 tokens before each target (the feed-forward NNLM)."""

    inputs: torch.Tensor   # (B, n-1)
    targets: torch.Tensor  # (B,)
    n_words: int
    starts_fresh: bool = True


@dataclass
class SentenceBatch(Batch):
    """Labelled token sequences (sentences, or phrases of a treebank), right-padded; the mask is explicit."""

    tokens: torch.Tensor   # (B, T) ids; positions at or past `lengths` are padding
    lengths: torch.Tensor  # (B,) >= 1
    labels: torch.Tensor   # (B,) class index

    @property
    def mask(self) -> torch.Tensor:
        """(B, T) True at real tokens."""
        positions = torch.arange(self.tokens.shape[1], device=self.tokens.device)
        return positions[None, :] < self.lengths[:, None]

    @property
    def size(self) -> int:
        return int(self.labels.numel())


@dataclass
class TreeBatch(Batch):
    """Several parse trees as one forest whose nodes are sorted by height (leaves first), so every node's
    children come before it and each height is one contiguous slice: a Tree-LSTM takes one step per
    level for the whole batch. `labels` are IGNORE (-100) at nodes that are not scored (inner nodes
    when only sentences are, SST-2's neutral phrases)."""

    words: torch.Tensor     # (N,) id of a leaf's word, 0 at inner nodes
    is_leaf: torch.Tensor   # (N,) bool
    children: torch.Tensor  # (N, K) node indices in this batch, -1 where a node has fewer than K children
    labels: torch.Tensor    # (N,) class index or IGNORE
    roots: torch.Tensor     # (B,) each tree's root node
    level_sizes: tuple[int, ...]  # nodes of height 0, 1, 2, ... (sum N)

    @property
    def size(self) -> int:
        return int(self.roots.numel())


@dataclass
class BiWindows(Batch):
    """Windows of consecutive tokens for a bidirectional language model. `forward_scored[b, t]`: the forward
    state at t predicting token t + 1 is scored; `backward_scored[b, t]`: the backward state at t predicting
    token t - 1 is (evaluation scores each token once per direction; training every position)."""

    tokens: torch.Tensor           # (B, T)
    forward_scored: torch.Tensor   # (B, T) bool, False at t = T - 1
    backward_scored: torch.Tensor  # (B, T) bool, False at t = 0
    n_words: int
