"""Hierarchical softmax (Morin & Bengio 2005; word2vec's `hs=1`) over a Huffman tree."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.objectives.base import FusedOutputSide, Objective
from lm_experiments.objectives.huffman import huffman_tree
from lm_experiments.objectives.shared_rows import logistic_curvature, scale_shared_rows, shared_row_rule


class HierarchicalSoftmax(Objective):
    """log p(w | h) = sum over w's path of log s((1 - 2 code) h . v_node): V-1 inner-node vectors,
    O(log V) work per example, and a properly normalized distribution over all V words.

    Word2vec updates the nodes after every example, so the root, which is on every
    path, moves a little at a time and its sigmoid saturates between updates. A step
    over many examples at once adds all their gradients to the root and the nodes
    near it; summed, that diverged (5 epochs, dim 200), and averaged, those nodes
    learned far too slowly. `shared_rows` picks the rule (`shared_rows.py`; `newton`
    by default). Language models pass no step size: their loss is already a mean and
    takes the exact gradient.
    """

    def __init__(self, vocab: Vocabulary, dim: int, sparse: bool = False, shared_rows: str = "newton"):
        super().__init__(vocab, dim, sparse)
        codes, points, lengths = huffman_tree(vocab.counts.clip(min=1))
        self.register_buffer("codes", torch.from_numpy(codes), persistent=False)      # (V, L)
        self.register_buffer("points", torch.from_numpy(points), persistent=False)    # (V, L)
        self.register_buffer("mask", torch.arange(codes.shape[1])[None, :] < torch.from_numpy(lengths)[:, None],
                             persistent=False)                                        # (V, L)
        self.nodes = nn.Embedding(len(vocab) - 1, dim, sparse=sparse)  # word2vec's syn1, zero-initialised
        nn.init.zeros_(self.nodes.weight)
        self.shared_rows = shared_row_rule(shared_rows)

    def fused_output_side(self) -> FusedOutputSide:
        return FusedOutputSide(self.nodes.weight, 0, self.codes.contiguous(), self.points.contiguous(),
                               self.mask.sum(1).contiguous())

    def _path_log_prob(self, scores: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """scores (..., L) of each word's path nodes -> log p (...)."""
        sign = 1.0 - 2.0 * self.codes[words].to(scores.dtype)
        return (F.logsigmoid(sign * scores) * self.mask[words]).sum(-1)

    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, step_size: float | None = None) -> torch.Tensor:
        """hidden (P, d), targets (P,) -> loss per example (P,)."""
        points = self.points[targets]                                  # (P, L)
        nodes = self.nodes(points)                                     # (P, L, d)
        scores = torch.bmm(nodes, hidden.unsqueeze(2)).squeeze(2)      # (P, L)
        if self.shared_rows != "sum" and nodes.requires_grad:
            uses = self.mask[targets].to(scores.dtype)                 # (P, L): padding positions are no use
            curvature = logistic_curvature(scores.detach(), hidden.detach().pow(2).sum(-1, keepdim=True)) * uses
            scale_shared_rows(nodes, points, uses, curvature, self.shared_rows, step_size,
                              self.nodes.num_embeddings)
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
