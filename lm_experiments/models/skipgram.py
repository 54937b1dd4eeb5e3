"""Skip-gram (Mikolov et al. 2013): the center word's vector predicts each context word."""

from lm_experiments.models.embedding import EmbeddingModel


class SkipGram(EmbeddingModel):
    """Encoder = a lookup of the center word; any objective scores the context word."""

    def __init__(self, vocab, objective, optimizer, scheduler=None, vector_size: int = 100,
                 examples_per_step: int = 1024):
        super().__init__(vocab, objective, optimizer, scheduler, vector_size, examples_per_step)
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])

    def pair_losses(self, batch):
        hidden = self.input(batch["centers"])              # (P, d)
        return self.objective(hidden, batch["contexts"])   # (P,)
