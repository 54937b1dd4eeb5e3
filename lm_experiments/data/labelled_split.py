"""A labelled split encoded once into flat arrays, so batches are gathered with array indexing.

Sentences are concatenated into one id array with offsets; trees into one node array
per field with node offsets (children as indices inside their own tree). The views
(`data/views/sentences.py`) cut batches out of these without a Python loop per example.
"""

from dataclasses import dataclass

import numpy as np

from lm_experiments.data.batches import IGNORE
from lm_experiments.data.labelled import Example
from lm_experiments.data.tokenizers import make_tokenizer
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, listed


@dataclass(frozen=True)
class TreeArrays:
    """Every tree of a split, nodes in post-order within each tree, trees one after another."""

    node_offsets: np.ndarray  # (S+1,) tree s owns nodes node_offsets[s]:node_offsets[s+1]
    children: np.ndarray      # (N, K) child indices within the node's own tree, -1 padding
    words: np.ndarray         # (N,) word id at leaves, 0 at inner nodes
    is_leaf: np.ndarray       # (N,) bool
    height: np.ndarray        # (N,) 0 at leaves, 1 + the tallest child's height above
    span_start: np.ndarray    # (N,) the node's phrase: its sentence's tokens span_start:span_end
    span_end: np.ndarray
    labels: np.ndarray        # (N,) class index, IGNORE where the node is no example


@dataclass(frozen=True)
class LabelledSplit:
    ids: np.ndarray       # (total,) every sentence's token ids, concatenated
    offsets: np.ndarray   # (S+1,) sentence s is ids[offsets[s]:offsets[s+1]]
    labels: np.ndarray    # (S,) class index of each sentence, IGNORE where it is not scored
    trees: TreeArrays | None

    def __len__(self) -> int:
        return len(self.labels)


def retokenized(examples: list[Example], tokenizer: str, lowercase: bool) -> list[Example]:
    """The examples' tokens re-read by `data.tokenizer` (`whitespace` keeps them) and lowercased; a tree's
    leaves can only be lowercased, since another tokenization would no longer fit its structure."""
    split = make_tokenizer(tokenizer, lowercase)
    if tokenizer != "whitespace" and any(e.tree is not None for e in examples):
        raise UserError(f"data.tokenizer={tokenizer} would change the leaves of the parse trees: use "
                        f"data.tokenizer=whitespace with a treebank (data.lowercase still applies).")
    if tokenizer == "whitespace" and not lowercase:
        return examples
    return [Example(tuple(split(" ".join(e.tokens))), e.label, e.tree, e.node_labels) for e in examples]


def _label_index(label: str | None, index: dict[str, int]) -> int:
    return IGNORE if label is None else index[label]


def encode_trees(examples: list[Example], vocab: Vocabulary, index: dict[str, int]) -> TreeArrays:
    sizes = np.array([e.tree.size for e in examples], dtype=np.int64)
    width = max(max((len(k) for e in examples for k in e.tree.children), default=0), 1)
    total = int(sizes.sum())
    children = np.full((total, width), -1, dtype=np.int64)
    words = np.zeros(total, dtype=np.int64)
    is_leaf = np.zeros(total, dtype=bool)
    height = np.zeros(total, dtype=np.int64)
    span = np.zeros((total, 2), dtype=np.int64)
    labels = np.empty(total, dtype=np.int64)
    node = 0
    for example in examples:
        tree = example.tree
        leaf_ids = vocab.lookup(list(example.tokens))
        leaf = 0
        spans = tree.spans()
        for i, (kids, word) in enumerate(zip(tree.children, tree.words)):
            children[node + i, : len(kids)] = kids
            if word is not None:
                words[node + i], is_leaf[node + i] = leaf_ids[leaf], True
                leaf += 1
            else:
                height[node + i] = 1 + max(height[node + k] for k in kids)
        span[node: node + tree.size] = spans
        labels[node: node + tree.size] = [_label_index(label, index) for label in example.node_labels]
        node += tree.size
    return TreeArrays(np.concatenate([[0], np.cumsum(sizes)]), children, words, is_leaf, height,
                      span[:, 0].copy(), span[:, 1].copy(), labels)


def encode_split(examples: list[Example], vocab: Vocabulary, labels: list[str], name: str) -> LabelledSplit:
    """Ids and label indices of a split; a label the training split does not have is an error."""
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({e.label for e in examples if e.label is not None and e.label not in index} |
                     {label for e in examples if e.node_labels for label in e.node_labels
                      if label is not None and label not in index})
    if unknown:
        raise UserError(f"The {name} split has label(s) {listed(unknown, 5)} that the training split does not have "
                        f"({listed(labels)}): the splits must share one label set.")
    lengths = np.array([len(e.tokens) for e in examples], dtype=np.int64)
    ids = vocab.lookup([token for e in examples for token in e.tokens])
    has_trees = bool(examples) and all(e.tree is not None for e in examples)
    return LabelledSplit(ids, np.concatenate([[0], np.cumsum(lengths)]),
                         np.array([_label_index(e.label, index) for e in examples], dtype=np.int64),
                         encode_trees(examples, vocab, index) if has_trees else None)
