"""Skip-gram (Mikolov et al. 2013): the center word's vector predicts each context word."""

from typing import ClassVar

import torch

from lm_experiments.data.batches import PairBatch, WordWindows
from lm_experiments.data.views.word_windows import skipgram_pairs
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.models.base import TokenEmbedder, WordEmbeddingEncoder
from lm_experiments.models.embedders import WordLookup


class SkipGram(WordEmbeddingEncoder):
    """Encoder = a lookup of one word of each (center, context) pair; any objective scores the other.

    As in word2vec and gensim, the context word's vector predicts the center word
    (`input_side = "context"`): with a dynamic window both directions make the same set of
    pairs, but training the input rows of the many context words against the center's
    output row, example after example, measured better (benchmarks/README.md) than updating
    one center's input row for all its contexts in a row. fastText, whose input is the center's
    bag of n-grams, predicts the other way.
    """

    example_type = PairBatch
    input_side: ClassVar[str] = "context"

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, embedder: TokenEmbedder | None = None):
        super().__init__()
        self.embedder = embedder if embedder is not None else WordLookup(vocab, vector_size)
        self.output_dim = self.embedder.output_dim

    def examples(self, windows: WordWindows) -> PairBatch:
        return skipgram_pairs(windows)

    def forward(self, batch: PairBatch) -> torch.Tensor:
        return self.embedder(batch.contexts if self.input_side == "context" else batch.centers)  # (P, d)

    def targets(self, batch: PairBatch) -> torch.Tensor:
        return batch.centers if self.input_side == "context" else batch.contexts
