"""(Deep) bidirectional recurrent sentence encoders (LSTM or GRU) over packed sequences."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lm_experiments.data.batches import SentenceBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import BidirectionalLMEncoder, SentenceEncoder
from lm_experiments.models.sentence_embedding import SentenceEmbedding
from lm_experiments.vectors.pretrained import PretrainedRows

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
POOLING = ("last", "max", "mean")


class BiRNN(SentenceEncoder):
    """(B, T) padded ids -> (B, hidden_dim x directions).

    Sentences are packed, so padding never enters a recurrence and the backward
    direction starts at each sentence's own last word. `pooling=last`: the final state of
    the top layer in each direction (forward at the last word, backward at the first);
    `max` / `mean`: over the top layer's outputs at the real positions only. `dropout`
    acts on the word vectors and between layers.
    """

    batch_type = SentenceBatch

    def __init__(self, vocab: Vocabulary, embedding_dim: int = 300, embedding: str = "rand",
                 pretrained: str | None = None, init_range: float = 0.25, elmo_dropout: float = 0.5,
                 elmo: str | None = None, bilm: BidirectionalLMEncoder | None = None,
                 pretrained_rows: PretrainedRows | None = None,
                 cell: str = "lstm", hidden_dim: int = 150, num_layers: int = 1,
                 bidirectional: bool = True, pooling: str = "last", dropout: float = 0.0):
        super().__init__()
        if cell not in CELLS:
            raise UserError(f"model.cell must be one of {', '.join(CELLS)}; got {cell!r}.")
        if pooling not in POOLING:
            raise UserError(f"model.pooling must be one of {', '.join(POOLING)}; got {pooling!r}.")
        self.embedding = SentenceEmbedding(vocab, embedding_dim, embedding, pretrained, init_range, elmo_dropout,
                                           elmo, bilm, pretrained_rows)
        self.dropout = nn.Dropout(probability(dropout, "model.dropout"))
        self.rnn = CELLS[cell](self.embedding.output_dim, positive_int(hidden_dim, "model.hidden_dim"),
                               num_layers=positive_int(num_layers, "model.num_layers"), batch_first=True,
                               bidirectional=bool(bidirectional), dropout=dropout if num_layers > 1 else 0.0)
        self.directions = 2 if bidirectional else 1
        self.cell, self.pooling = cell, pooling
        self.output_dim = hidden_dim * self.directions

    def forward(self, batch: SentenceBatch) -> torch.Tensor:
        vectors = self.dropout(self.embedding(batch.tokens, batch.mask))                                 # (B, T, d)
        packed = pack_padded_sequence(vectors, batch.lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed)
        if self.pooling == "last":
            hidden = final[0] if self.cell == "lstm" else final                          # (layers x dirs, B, H)
            return torch.cat(list(hidden[-self.directions:]), dim=-1)                       # (B, dirs x H)
        fill = float("-inf") if self.pooling == "max" else 0.0
        padded, _ = pad_packed_sequence(outputs, batch_first=True, padding_value=fill)      # (B, T', dirs x H)
        if self.pooling == "max":
            return padded.amax(dim=1)
        return padded.sum(dim=1) / batch.lengths[:, None].to(padded.dtype)
