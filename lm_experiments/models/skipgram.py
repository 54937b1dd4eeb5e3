"""Skip-gram (Mikolov et al. 2013): the center word's vector predicts each context word."""

import torch

from lm_experiments.data.batches import PairBatch, WordWindows
from lm_experiments.data.views.word_windows import skipgram_pairs
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.models.base import TokenEmbedder, WordEmbeddingEncoder
from lm_experiments.models.embedders import WordLookup


class SkipGram(WordEmbeddingEncoder):
    """Encoder = a lookup of the center word; any objective scores the context word."""

    example_type = PairBatch

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, embedder: TokenEmbedder | None = None):
        super().__init__()
        self.embedder = embedder if embedder is not None else WordLookup(vocab, vector_size)
        self.output_dim = self.embedder.output_dim

    def examples(self, windows: WordWindows) -> PairBatch:
        return skipgram_pairs(windows)

    def forward(self, batch: PairBatch) -> torch.Tensor:
        return self.embedder(batch.centers)  # (P, d)
