"""Hierarchical softmax (Morin & Bengio 2005; word2vec's `hs=1`) over a Huffman tree."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.objectives.huffman import huffman_tree


class HierarchicalSoftmax(nn.Module):
    """log p(w | h) = sum over w's path of log s((1 - 2 code) h . v_node): V-1 inner-node vectors,
    O(log V) work per example, and a properly normalized distribution over all V words.

    Word2vec updates the nodes after every example, so the root, which is on every
    path, moves a little at a time and its sigmoid saturates between updates. A step
    over many examples at once would add all their gradients to the root and the
    nodes near it and diverge (seen at 5 epochs, dim 200); with `average_shared_rows`
    (the embedding models' default) a node used by c examples of a step takes the
    mean of their gradients instead of the sum. Nodes deep in the tree, used once per
    step, are unaffected. Language models pass False: their loss is already a mean.
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = True, average_shared_rows: bool = True):
        super().__init__()
        codes, points, lengths = huffman_tree(vocab.counts.clip(min=1))
        self.register_buffer("codes", torch.from_numpy(codes), persistent=False)      # (V, L)
        self.register_buffer("points", torch.from_numpy(points), persistent=False)    # (V, L)
        self.register_buffer("mask", torch.arange(codes.shape[1])[None, :] < torch.from_numpy(lengths)[:, None],
                             persistent=False)                                        # (V, L)
        self.nodes = nn.Embedding(len(vocab) - 1, dim, sparse=sparse)  # word2vec's syn1, zero-initialised
        nn.init.zeros_(self.nodes.weight)
        self.average_shared_rows = bool(average_shared_rows)

    def _path_log_prob(self, scores: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """scores (..., L) of each word's path nodes -> log p (...)."""
        sign = 1.0 - 2.0 * self.codes[words].to(scores.dtype)
        return (F.logsigmoid(sign * scores) * self.mask[words]).sum(-1)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        points = self.points[targets]                                  # (P, L)
        nodes = self.nodes(points)                                     # (P, L, d)
        if self.average_shared_rows and nodes.requires_grad:
            uses = torch.bincount(points[self.mask[targets]], minlength=self.nodes.num_embeddings)
            share = 1.0 / uses.clamp(min=1).to(nodes.dtype)[points].unsqueeze(-1)   # (P, L, 1)
            nodes.register_hook(lambda grad: grad * share)
        scores = torch.bmm(nodes, hidden.unsqueeze(2)).squeeze(2)      # (P, L)
        return -self._path_log_prob(scores, targets)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log p(target | h) per example (P,): the path probabilities are already normalized."""
        return self.forward(hidden, targets)

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(P, d) -> (P, V) normalized log-probabilities (every word's whole path)."""
        node_scores = hidden @ self.nodes.weight.T                     # (P, V-1)
        words = torch.arange(self.codes.shape[0], device=hidden.device)
        scores = node_scores[:, self.points]                           # (P, V, L)
        return self._path_log_prob(scores, words.expand(hidden.shape[0], -1))
