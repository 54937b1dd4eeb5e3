"""Kim's (2014) convolutional sentence classifier: filters of several widths over the word vectors, ReLU,
max-over-time pooling; the classification head (dropout 0.5, max-norm 3) is the task's `sampler`."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.batches import SentenceBatch
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int
from lm_experiments.models.base import BidirectionalLMEncoder, SentenceEncoder
from lm_experiments.models.sentence_embedding import SentenceEmbedding, masked_embeddings
from lm_experiments.vectors.pretrained import PretrainedRows


class TextCNN(SentenceEncoder):
    """(B, T) padded ids -> (B, maps x len(widths)).

    Each filter slides over the sentence padded with width-1 zero vectors on both sides
    (a wide convolution, as Kim pads), so a sentence shorter than a filter still gives
    it windows; the max is taken over the windows that overlap the sentence, never over
    the batch's extra padding. In `multichannel` mode a filter spans both channels (its
    input is the frozen and the trained vector side by side) and sums them.
    """

    batch_type = SentenceBatch

    def __init__(self, vocab: Vocabulary, embedding_dim: int = 300, embedding: str = "rand",
                 pretrained: str | None = None, init_range: float = 0.25, elmo_dropout: float = 0.5,
                 elmo: str | None = None, bilm: BidirectionalLMEncoder | None = None,
                 pretrained_rows: PretrainedRows | None = None,
                 widths: tuple[int, ...] = (3, 4, 5), maps: int = 100):
        super().__init__()
        widths = tuple(widths)
        if not widths:
            raise UserError("model.widths must list at least one filter width (Kim: [3, 4, 5]).")
        for width in widths:
            positive_int(width, "model.widths[...]")
        self.embedding = SentenceEmbedding(vocab, embedding_dim, embedding, pretrained, init_range, elmo_dropout,
                                           elmo, bilm, pretrained_rows)
        self.widths = widths
        self.convolutions = nn.ModuleList(nn.Conv1d(self.embedding.output_dim, positive_int(maps, "model.maps"),
                                                    width, padding=width - 1) for width in widths)
        self.output_dim = maps * len(widths)

    def forward(self, batch: SentenceBatch) -> torch.Tensor:
        vectors = masked_embeddings(self.embedding, batch.tokens, batch.mask).transpose(1, 2)   # (B, d, T)
        pooled = []
        for width, convolution in zip(self.widths, self.convolutions):
            features = F.relu(convolution(vectors))                                          # (B, maps, T+w-1)
            windows = torch.arange(features.shape[-1], device=features.device)
            overlaps = windows[None, :] < (batch.lengths[:, None] + width - 1)               # (B, T+w-1)
            pooled.append(features.masked_fill(~overlaps[:, None, :], float("-inf")).amax(dim=-1))
        return torch.cat(pooled, dim=-1)
