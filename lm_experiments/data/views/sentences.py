"""Views of labelled sentences: padded token batches (sequence encoders) and level-sorted forests (Tree-LSTMs).

Both read a `LabelledSplit` (flat arrays) and cut each batch out of it with array
indexing. With `phrases` (a treebank), training examples are every labelled node:
a sequence encoder reads each node's phrase as a sequence of its own, a tree encoder
scores every node of every tree (the sequence view keeps each distinct labelled phrase
once); evaluation always scores whole sentences.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from lm_experiments.data.batches import IGNORE, SentenceBatch, TreeBatch
from lm_experiments.data.labelled_split import LabelledSplit
from lm_experiments.data.views.base import LoaderSettings
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


@dataclass(frozen=True)
class LabelledViewOptions:
    """The data options the labelled views read (`data.batch_size`, ...), checked once."""

    batch_size: int = 50        # examples per training step (Kim: 50; Tai et al.: 25)
    eval_batch_size: int = 500  # sentences per batch when scoring valid and test
    phrases: bool = False       # treebanks: train on every labelled node, not only whole sentences

    def __post_init__(self):
        positive_int(self.batch_size, "data.batch_size")
        positive_int(self.eval_batch_size, "data.eval_batch_size")


class LabelledView:
    """Base of the views over labelled sentences: batches of examples in a random order each epoch (training)
    or in order (evaluation)."""

    batch_type: ClassVar[type]
    reads_trees: ClassVar[bool] = False

    def __init__(self, vocab: Vocabulary, options: LabelledViewOptions):
        self.vocab, self.options = vocab, options

    def check_split(self, split: LabelledSplit, corpus: str) -> None:
        """Refuse data this view cannot read, before anything trains."""
        if (self.options.phrases or self.reads_trees) and split.trees is None:
            needs = "a tree encoder (model=treelstm)" if self.reads_trees else "data.phrases=true"
            raise UserError(f"{needs} needs parse trees, and data={corpus} has none: use data=sst, or a sequence "
                            f"encoder (model=bow, textcnn, birnn) with data.phrases=false.")

    def train_loader(self, split: LabelledSplit, settings: LoaderSettings) -> DataLoader:
        examples = self.examples(split, training=True)
        # the global generator (seeded by the run's seed, and checkpointed): a resumed run shuffles on as it would
        order = BatchSampler(RandomSampler(range(len(examples))), self.options.batch_size, drop_last=False)
        return settings.loader(examples, sampler=order, batch_size=None)

    def eval_loader(self, split: LabelledSplit, settings: LoaderSettings) -> DataLoader:
        examples = self.examples(split, training=False)
        order = BatchSampler(SequentialSampler(range(len(examples))), self.options.eval_batch_size, drop_last=False)
        return settings.loader(examples, sampler=order, batch_size=None)

    def examples(self, split: LabelledSplit, training: bool) -> Dataset:
        raise NotImplementedError


class Sequences(Dataset):
    """Examples as (start, length, label) into a flat id array; an item is a whole padded batch."""

    def __init__(self, ids: np.ndarray, starts: np.ndarray, lengths: np.ndarray, labels: np.ndarray):
        keep = labels != IGNORE
        self.ids = torch.from_numpy(ids)
        self.starts = torch.from_numpy(starts[keep])
        self.lengths = torch.from_numpy(lengths[keep])
        self.labels = torch.from_numpy(labels[keep])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: list[int]) -> SentenceBatch:
        index = torch.as_tensor(index)
        lengths = self.lengths[index]
        positions = torch.arange(int(lengths.max()))
        mask = positions[None, :] < lengths[:, None]                                       # (B, T)
        gather = torch.where(mask, self.starts[index, None] + positions[None, :], 0)
        return SentenceBatch(self.ids[gather] * mask, lengths, self.labels[index])


def unique_phrases(ids: np.ndarray, starts: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct (phrase, label): the treebank labels each distinct
    phrase once (Socher et al.'s phrase dictionary); its trees repeat common ones ("the", ",") thousands
    of times, which would only reweight them. Done once per run, when the loader is made."""
    seen: dict[tuple, int] = {}
    for index, (start, length, label) in enumerate(zip(starts.tolist(), lengths.tolist(), labels.tolist())):
        seen.setdefault((label, *ids[start: start + length].tolist()), index)
    return np.fromiter(seen.values(), dtype=np.int64, count=len(seen))


class SentenceView(LabelledView):
    """Padded sentences (`SentenceBatch`) for bag-of-vectors, TextCNN and biRNN encoders."""

    batch_type = SentenceBatch

    def examples(self, split: LabelledSplit, training: bool) -> Sequences:
        lengths = np.diff(split.offsets)
        if training and self.options.phrases:
            trees = split.trees
            tree_of_node = np.repeat(np.arange(len(split)), np.diff(trees.node_offsets))
            starts, lengths = split.offsets[tree_of_node] + trees.span_start, trees.span_end - trees.span_start
            first = unique_phrases(split.ids, starts, lengths, trees.labels)
            return Sequences(split.ids, starts[first], lengths[first], trees.labels[first])
        return Sequences(split.ids, split.offsets[:-1], lengths, split.labels)


class Forests(Dataset):
    """Trees of a split; an item is a `TreeBatch` of the trees at the given indices."""

    def __init__(self, split: LabelledSplit, every_node: bool):
        trees = split.trees
        self.offsets = trees.node_offsets
        self.children, self.words, self.is_leaf = trees.children, trees.words, trees.is_leaf
        self.height = trees.height
        labels = np.full(len(trees.labels), IGNORE, dtype=np.int64)
        roots = trees.node_offsets[1:] - 1
        labels[roots] = split.labels
        self.labels = trees.labels if every_node else labels
        self.scored = np.flatnonzero(split.labels != IGNORE) if not every_node else np.arange(len(split))

    def __len__(self) -> int:
        return len(self.scored)

    def __getitem__(self, index: list[int]) -> TreeBatch:
        picked = self.scored[np.asarray(index)]
        starts, sizes = self.offsets[picked], np.diff(self.offsets)[picked]
        base = np.concatenate([[0], np.cumsum(sizes)[:-1]])                   # (B,) first node of each tree
        nodes = np.repeat(starts - base, sizes) + np.arange(sizes.sum())      # (N,) rows of the split's arrays
        tree_base = np.repeat(base, sizes)
        order = np.argsort(self.height[nodes], kind="stable")                 # leaves first, then by height
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        local = self.children[nodes]
        children = np.where(local >= 0, position[np.maximum(local + tree_base[:, None], 0)], -1)[order]
        return TreeBatch(words=torch.from_numpy(self.words[nodes][order]),
                         is_leaf=torch.from_numpy(self.is_leaf[nodes][order]),
                         children=torch.from_numpy(children),
                         labels=torch.from_numpy(self.labels[nodes][order]),
                         roots=torch.from_numpy(position[base + sizes - 1]),
                         level_sizes=tuple(np.bincount(self.height[nodes]).tolist()))


class TreeView(LabelledView):
    """Forests of parse trees (`TreeBatch`) for Tree-LSTMs."""

    batch_type = TreeBatch
    reads_trees = True

    def examples(self, split: LabelledSplit, training: bool) -> Forests:
        return Forests(split, every_node=training and self.options.phrases)
