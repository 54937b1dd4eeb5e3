"""Skip-gram (Mikolov et al. 2013): the center word's vector predicts each context word."""

from torch import nn

from lm_experiments.errors import positive_int
from lm_experiments.models.embedding import EmbeddingModel


class SkipGram(EmbeddingModel):
    """Encoder = a lookup of the center word; any objective scores the context word."""

    def __init__(self, vocab, objective, optimizer, scheduler=None, vector_size: int = 100,
                 examples_per_step: int = 1024):
        super().__init__(vocab, optimizer, scheduler, examples_per_step)
        self.vector_size = positive_int(vector_size, "model.vector_size")
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])
        self.input = nn.Embedding(len(vocab), vector_size, sparse=True)
        # word2vec's syn0 initialisation: uniform in [-0.5/d, 0.5/d)
        nn.init.uniform_(self.input.weight, -0.5 / vector_size, 0.5 / vector_size)
        self.objective = objective(vocab=vocab, dim=vector_size)

    def pair_losses(self, batch):
        hidden = self.input(batch["centers"])              # (P, d)
        return self.objective(hidden, batch["contexts"])   # (P,)

    def input_vectors(self):
        return self.input.weight
