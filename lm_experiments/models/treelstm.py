"""Tai, Socher & Manning's (2015) Tree-LSTMs: Child-Sum and N-ary (binary constituency trees), level by level.

Every node has an input (its word's vector at a leaf; zeros at the inner nodes of a
constituency tree, which have no word) and the states of its children:

- Child-Sum: h~ = sum_k h_k; [i, o, u] = W x + U h~ + b; f_k = sigmoid(W_f x + U_f h_k + b_f)
- N-ary:     [i, o, u] = W x + sum_l U_l h_l + b; f_k = sigmoid(W_f x + sum_l U_kl h_l + b_f)

then c = sigmoid(i) * tanh(u) + sum_k f_k * c_k and h = sigmoid(o) * tanh(c). A batch
is one forest sorted by height (`TreeBatch`), so one step computes every node of one
height across all its trees; a missing child has zero state.
"""

import torch
from torch import nn

from lm_experiments.data.batches import TreeBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import SentenceEncoder
from lm_experiments.models.sentence_embedding import SentenceEmbedding
from lm_experiments.vectors.pretrained import PretrainedRows

VARIANTS = ("nary", "childsum")


class ChildSumCell(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int):
        super().__init__()
        self.input_gates = nn.Linear(input_dim, 4 * hidden_dim)       # W for i, o, u and W_f (with the biases)
        self.child_iou = nn.Linear(hidden_dim, 3 * hidden_dim, bias=False)
        self.child_forget = nn.Linear(hidden_dim, hidden_dim, bias=False)

    def forward(self, x: torch.Tensor, child_h: torch.Tensor, child_c: torch.Tensor):
        """x (n, d_in), child_h / child_c (n, K, H) -> h, c (n, H)."""
        iou, forget_in = self.input_gates(x).split([3 * child_h.shape[-1], child_h.shape[-1]], dim=-1)
        i, o, u = (iou + self.child_iou(child_h.sum(dim=1))).chunk(3, dim=-1)
        f = torch.sigmoid(forget_in[:, None, :] + self.child_forget(child_h))               # (n, K, H)
        c = torch.sigmoid(i) * torch.tanh(u) + (f * child_c).sum(dim=1)
        return torch.sigmoid(o) * torch.tanh(c), c


class NaryCell(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, arity: int):
        super().__init__()
        self.arity = arity
        self.input_gates = nn.Linear(input_dim, (3 + arity) * hidden_dim)  # W for i, o, u and one W_f per child
        self.child_iou = nn.Linear(arity * hidden_dim, 3 * hidden_dim, bias=False)      # [U_1 ... U_N]
        self.child_forget = nn.Linear(arity * hidden_dim, arity * hidden_dim, bias=False)  # U_kl, every k and l

    def forward(self, x: torch.Tensor, child_h: torch.Tensor, child_c: torch.Tensor):
        """x (n, d_in), child_h / child_c (n, N, H) -> h, c (n, H)."""
        n, _, hidden = child_h.shape
        iou, forget_in = self.input_gates(x).split([3 * hidden, self.arity * hidden], dim=-1)
        flat = child_h.reshape(n, self.arity * hidden)
        i, o, u = (iou + self.child_iou(flat)).chunk(3, dim=-1)
        f = torch.sigmoid(forget_in + self.child_forget(flat)).view(n, self.arity, hidden)
        c = torch.sigmoid(i) * torch.tanh(u) + (f * child_c).sum(dim=1)
        return torch.sigmoid(o) * torch.tanh(c), c


class TreeLSTM(SentenceEncoder):
    """A forest (`TreeBatch`, N nodes) -> (N, hidden_dim): every node's h, so the head can score every
    labelled phrase (`data.phrases=true`) or only the roots."""

    batch_type = TreeBatch

    def __init__(self, vocab: Vocabulary, embedding_dim: int = 300, embedding: str = "rand",
                 pretrained: str | None = None, init_range: float = 0.05, variant: str = "nary", arity: int = 2,
                 hidden_dim: int = 150, dropout: float = 0.0, pretrained_rows: PretrainedRows | None = None):
        super().__init__()
        if variant not in VARIANTS:
            raise UserError(f"model.variant must be one of {', '.join(VARIANTS)}; got {variant!r}.")
        if embedding == "elmo":
            raise UserError("model.embedding=elmo feeds sequence encoders (bow, textcnn, birnn); the Tree-LSTM reads "
                            "static vectors (rand, static, non_static, multichannel).")
        self.embedding = SentenceEmbedding(vocab, embedding_dim, embedding, pretrained, init_range,
                                           pretrained_rows=pretrained_rows)
        self.dropout = nn.Dropout(probability(dropout, "model.dropout"))
        hidden_dim = positive_int(hidden_dim, "model.hidden_dim")
        self.variant, self.arity = variant, positive_int(arity, "model.arity")
        self.cell = (NaryCell(self.embedding.output_dim, hidden_dim, self.arity) if variant == "nary"
                     else ChildSumCell(self.embedding.output_dim, hidden_dim))
        self.output_dim = hidden_dim

    def _children(self, batch: TreeBatch) -> torch.Tensor:
        """(N, K) child indices, padded with -1 to the cell's arity for the N-ary variant."""
        children = batch.children
        if self.variant == "childsum":
            return children
        if children.shape[1] > self.arity:
            raise UserError(f"model.variant=nary takes trees with at most model.arity={self.arity} children per "
                            f"node; these have up to {children.shape[1]}: use model.variant=childsum.")
        return nn.functional.pad(children, (0, self.arity - children.shape[1]), value=-1)

    def forward(self, batch: TreeBatch) -> torch.Tensor:
        leaf = batch.is_leaf[:, None].to(self.embedding.vectors.weight.dtype)
        x = self.dropout(self.embedding(batch.words)) * leaf                          # (N, d), zero at inner nodes
        children = self._children(batch) + 1                                           # 0: the zero state
        zero = x.new_zeros(1, self.output_dim)
        hs, cs = [zero], [zero]
        start = 0
        for size in batch.level_sizes:
            level = slice(start, start + size)
            done_h, done_c = torch.cat(hs), torch.cat(cs)                              # (1 + start, H)
            kids = children[level]                                                     # (n, K)
            h, c = self.cell(x[level], done_h[kids], done_c[kids])
            hs.append(h)
            cs.append(c)
            start += size
        return torch.cat(hs[1:])                                                       # (N, H)
