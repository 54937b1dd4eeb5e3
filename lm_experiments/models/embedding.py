"""What every word-embedding model shares: optimizer wiring, loss logging, exported vectors."""

import lightning as L
import torch

from lm_experiments.data.vocab import Vocabulary


class EmbeddingModel(L.LightningModule):
    """Base class. Subclasses build their layers and implement `pair_losses` and `input_vectors`.

    The loss handed to the optimizer is the *sum* over examples, so each example
    takes a full step of size lr, as in word2vec and gensim (alpha=0.025 means the
    same thing here); `train/loss` is logged as the mean per example.
    """

    def __init__(self, vocab: Vocabulary, optimizer, scheduler=None):
        super().__init__()
        self.vocab = vocab
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler

    def pair_losses(self, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def input_vectors(self) -> torch.Tensor:
        """(V, d) word vectors, aligned with `self.vocab.itos`."""
        raise NotImplementedError

    def word_vectors(self) -> tuple[list[str], torch.Tensor]:
        """(words, (n, d) vectors) without specials, most frequent first: what is evaluated and exported."""
        start = self.vocab.num_specials
        return self.vocab.words, self.input_vectors()[start:].detach()

    def training_step(self, batch: dict, batch_idx: int):
        losses = self.pair_losses(batch)
        if losses.numel() == 0:
            return None  # a chunk that yields no examples: skip the step
        self.log("train/loss", losses.detach().mean(), on_step=True, on_epoch=True, prog_bar=True,
                 batch_size=losses.numel())
        return losses.sum()

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vocab"] = {"itos": self.vocab.itos, "counts": self.vocab.counts.tolist()}
