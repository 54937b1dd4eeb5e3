"""What every word-embedding model shares: small SGD steps over big chunks, loss logging, exports."""

import lightning as L
import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import positive_int
from lm_experiments.models.replicas import summed_replica_updates
from lm_experiments.models.vocab_checkpoint import VocabularyCheckpoint


def split_examples(batch: dict, size: int, order: torch.Tensor):
    """Yield sub-batches of `size` examples (in `order`) from a dict of (P, ...) tensors."""
    tensors = {k: v for k, v in batch.items() if torch.is_tensor(v) and v.dim() > 0}
    for start in range(0, order.numel(), size):
        part = order[start: start + size]
        yield {k: v[part] for k, v in tensors.items()}


class EmbeddingModel(VocabularyCheckpoint, L.LightningModule):
    """Base class. Subclasses build their layers and implement `pair_losses` and `input_vectors`.

    One Lightning batch is a whole chunk of the corpus, expanded into examples on the
    device in one go; the module then takes SGD steps of `examples_per_step` shuffled
    examples each (manual optimization). Each step minimises the *sum* of its
    examples' losses, so an example moves the weights by lr x its gradient, as in
    word2vec and gensim (lr=0.025 means gensim's alpha=0.025). Word2vec steps after
    every example; a few hundred to a few thousand per step keeps its quality, while
    much larger steps add up hundreds of updates of the most frequent words and
    diverge. `train/loss` is the mean per example. Under DDP each process steps on its
    own chunks and the processes add up their changes after every batch (`replicas.py`).
    """

    distributed_strategies = ("ddp",)  # per-row sparse steps: FSDP cannot shard them

    def __init__(self, vocab: Vocabulary, objective, optimizer, scheduler=None, vector_size: int = 100,
                 examples_per_step: int = 1024):
        super().__init__()
        self.vocab = vocab
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.vector_size = positive_int(vector_size, "model.vector_size")
        self.examples_per_step = positive_int(examples_per_step, "model.examples_per_step")
        self.automatic_optimization = False
        self.input = self.build_input()
        self.objective = objective(vocab=vocab, dim=vector_size)

    def build_input(self) -> nn.Module:
        """The input vectors: word2vec's syn0, uniform in [-0.5/d, 0.5/d)."""
        embedding = nn.Embedding(len(self.vocab), self.vector_size, sparse=True)
        nn.init.uniform_(embedding.weight, -0.5 / self.vector_size, 0.5 / self.vector_size)
        return embedding

    def pair_losses(self, batch: dict) -> torch.Tensor:
        """Loss per example (P,) for one step's examples."""
        raise NotImplementedError

    def input_vectors(self) -> torch.Tensor:
        """(V, d) word vectors, aligned with `self.vocab.itos`."""
        return self.input.weight

    def word_vectors(self) -> tuple[list[str], torch.Tensor]:
        """(words, (n, d) vectors) without specials, most frequent first: what is evaluated and exported."""
        start = self.vocab.num_specials
        return self.vocab.words, self.input_vectors()[start:].detach()

    def training_step(self, batch: dict, batch_idx: int):
        optimizer, scheduler = self.optimizers(), self.lr_schedulers()
        examples = next(v for v in batch.values() if torch.is_tensor(v) and v.dim() > 0).shape[0]
        total, count = torch.zeros((), device=self.device), 0
        order = torch.randperm(examples, device=self.device)
        if hasattr(self.objective, "step_size"):  # rows a whole step shares are capped relative to the lr
            self.objective.step_size = optimizer.param_groups[0]["lr"]  # (the scheduler steps once per batch)
        with summed_replica_updates(self.parameters(), self.trainer.strategy.model):
            for part in split_examples(batch, self.examples_per_step, order):
                losses = self.pair_losses(part)
                self.manual_backward(losses.sum())
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                total += losses.detach().sum()
                count += losses.numel()
        if scheduler is not None:
            scheduler.step()
        if count:
            self.log("train/loss", total / count, on_step=True, on_epoch=True, prog_bar=True, batch_size=count)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
