"""The word-embedding task: a word2vec-family encoder x any objective, trained by an updater."""

from pathlib import Path

import torch

from lm_experiments.data.batches import WordWindows
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.models.base import WordEmbeddingEncoder
from lm_experiments.tasks.base import Provides, Task
from lm_experiments.updaters.base import EXAMPLES, AutogradSGD, Updater
from lm_experiments.vectors import export_fasttext_vectors, export_word_vectors, fasttext_keyed_vectors, keyed_vectors


class WordEmbeddingTask(Task):
    """Skip-gram, CBOW and fastText: `model` turns a batch of examples into hidden vectors, the objective
    (any `sampler`) scores them against the batch's targets, the updater takes the steps.

    One Lightning batch is a whole chunk of the corpus, subsampled and given its windows
    on the device in one go (`WordWindows`, the view's `on_device`); the updater then
    trains on its examples (manual optimization): many small autograd SGD steps, or a
    fused kernel's per-example steps. `train/loss` is the mean loss per example.
    The word vectors are the encoder's input embeddings; they are evaluated by the
    embedding callbacks and exported in word2vec's formats.
    """

    def __init__(self, vocab: Vocabulary, model: WordEmbeddingEncoder, objective, optimizer, scheduler=None,
                 updater: Updater | None = None):
        super().__init__(vocab, optimizer, scheduler)
        self.check_part(model, WordEmbeddingEncoder, "a word-embedding encoder (model=skipgram, cbow, fasttext, "
                                                     "fasttext_cbow)")
        self.model = model
        self.check_objective(objective)
        self.objective = objective(vocab=vocab, dim=model.output_dim, sparse=True)
        self.declare(updates=EXAMPLES)  # (check_updater reads it)
        self.updater = self.check_updater(updater if updater is not None else AutogradSGD())
        self.automatic_optimization = False
        unseen = {Provides.UNSEEN_WORD_VECTORS} if model.embedder.handles_unseen_words else set()
        self.declare(batch_types=(WordWindows,), update_rule=self.updater.description,
                     metrics=("val/analogy", "val/ws353", "val/simlex"), optimized_metric="val/analogy",
                     provides={Provides.WORD_VECTORS, Provides.THROUGHPUT, *unseen}, artifact_type="embeddings",
                     distributed_strategies=("ddp",))  # per-row sparse steps: FSDP cannot shard them

    @property
    def name(self) -> str:
        return type(self.model).__name__

    def example_losses(self, batch, step_size: float | None = None) -> torch.Tensor:
        """Loss per example (P,) of one step's examples; `step_size` is that step's learning rate."""
        return self.objective(self.model(batch), self.model.targets(batch), step_size=step_size)

    def on_train_start(self) -> None:
        self.updater.prepare(self)

    def training_step(self, batch, batch_idx: int):
        total, count = self.updater.train_batch(self, batch)
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()
        if count:
            self.log_train_loss(total / count, count)

    def word_vectors(self) -> tuple[list[str], torch.Tensor]:
        """(words, (n, d) vectors) without specials, most frequent first: what is evaluated and exported."""
        return self.vocab.words, self.model.embedder.word_vectors()[self.vocab.num_specials:].detach()

    def vectors_for(self, words: list[str]) -> torch.Tensor:
        """(len(words), d) vectors for any words (with `Provides.UNSEEN_WORD_VECTORS`)."""
        return self.model.embedder.vectors_for(words)

    def keyed_vectors(self):
        """gensim KeyedVectors of the vectors; for fastText, FastTextKeyedVectors that answer unseen words."""
        if Provides.UNSEEN_WORD_VECTORS in self.provides:
            return fasttext_keyed_vectors(self.vocab.words, self.model.embedder.subword_state())
        return keyed_vectors(*self.word_vectors())

    def export(self, out_dir: Path) -> list[Path]:
        """vectors.txt and vectors.bin (gensim's KeyedVectors reads both); subword models add vectors.kv, gensim's
        FastTextKeyedVectors of their word and n-gram rows."""
        written = export_word_vectors(*self.word_vectors(), out_dir)
        if Provides.UNSEEN_WORD_VECTORS in self.provides:
            written += export_fasttext_vectors(self.vocab.words, self.model.embedder.subword_state(), out_dir)
        return written
