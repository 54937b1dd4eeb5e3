"""The Lightning DataModule: corpus -> cached id stream -> the view's batches (expanded on the device)."""

import logging
from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from lm_experiments.config_options import built_class
from lm_experiments.data.corpora import Corpus
from lm_experiments.data.sharding import Shard
from lm_experiments.data.stream import EncodedCorpus, load_encoded
from lm_experiments.data.views.base import LoaderSettings, View, ViewOptions, pins_memory
from lm_experiments.data.views.sentences import LabelledView
from lm_experiments.errors import UserError, positive_int

log = logging.getLogger(__name__)


def held_out_splits(splits: dict, fraction: float) -> dict:
    """The corpus's splits, with `fraction` of the training tokens taken from its end for each of
    `valid` and `test` where the corpus has none (a single file: text8, the user's own text), so a
    language model has text to score. The vocabulary was counted over the whole file; the held-out
    tokens themselves are never trained on."""
    missing = [split for split in ("valid", "test") if split not in splits]
    if not missing or fraction == 0:
        return splits
    train = splits["train"]
    size = int(len(train) * fraction)
    if size < 2:
        raise UserError(f"data.holdout={fraction} of the {len(train)} training tokens leaves {size} token(s) "
                        f"to score; give a larger file, a larger data.holdout, or a folder with valid/test files.")
    kept = len(train) - size * len(missing)
    held = {split: train[kept + i * size: kept + (i + 1) * size] for i, split in enumerate(missing)}
    log.info("no %s split in the corpus: the last %d training tokens (data.holdout=%g each) are held out as %s",
             " or ".join(missing), size * len(missing), fraction, " and ".join(missing))
    return {**splits, "train": train[:kept], **held}


class CorpusDataModule(L.LightningDataModule):
    """Owns the corpus, its vocabulary and the view that turns the id streams into batches.

    `view` is the `data.view` node, completed here with the vocabulary and the view
    options (`window`, `shrink_windows`, `sample`, `batch_words`, `batch_size`, `bptt`, `eval_batch_size`,
    checked once in `ViewOptions`). The model's config picks the view, since it decides
    what examples the model reads. `path` and `epochs` are only the config's handles for
    `data.path` (the corpus node interpolates it) and for the corpus-sized default of
    `trainer.max_epochs`. `vocabulary` (a trained model's, given by `lm_experiments.cli.evaluate`)
    replaces the one built from the training split, so the model can score any corpus.
    """

    def __init__(self, corpus: Corpus, view, cache_dir: str = "~/.cache/lm_experiments",
                 tokenizer: str = "whitespace", lowercase: bool = False, add_eos: bool = True,
                 min_count: int = 5, max_size: int | None = None, batch_words: int = 4096,
                 window: int = 5, shrink_windows: bool = True, sample: float = 1e-3, batch_size: int = 20,
                 bptt: int = 35, eval_batch_size: int = 10, shuffle: bool = True, num_workers: int = 0, seed: int = 0,
                 holdout: float = 0.05, path: str | None = None, epochs: int | None = None,
                 vocabulary=None):
        super().__init__()
        view_class = built_class(view)
        if issubclass(view_class, LabelledView):
            raise UserError(f"This model classifies labelled sentences (its data view is {view_class.__name__}), "
                            f"and data={corpus.name} is running text: pick data=mr, sst or labelled_file.")
        self.corpus = corpus
        self.view_factory = view
        self.cache_dir = Path(cache_dir).expanduser()
        self.tokenizer, self.lowercase, self.add_eos = tokenizer, lowercase, add_eos
        self.min_count = positive_int(min_count, "data.min_count")
        self.max_size = max_size
        if max_size is not None:
            positive_int(max_size, "data.max_size")
        self.view_options = ViewOptions(window=window, shrink_windows=shrink_windows, sample=sample,
                                        batch_words=batch_words, batch_size=batch_size, bptt=bptt,
                                        eval_batch_size=eval_batch_size, seed=seed)
        self.shuffle, self.num_workers, self.seed = shuffle, num_workers, seed
        if not 0 <= holdout < 0.5:
            raise UserError(f"data.holdout={holdout} must be at least 0 and below 0.5 (a fraction of the "
                            f"training tokens held out for each missing split).")
        self.holdout = holdout
        self.fixed_vocabulary = vocabulary
        self.encoded: EncodedCorpus | None = None
        self.splits: dict = {}
        self.view: View | None = None

    @property
    def vocab(self):
        self.setup()
        return self.encoded.vocab

    @property
    def labels(self) -> None:
        """Running text has no class labels (the labelled data module's are the classifier's classes)."""
        return None

    def setup(self, stage: str | None = None) -> None:
        """Load (or build once) the encoded corpus and the view; safe to call repeatedly."""
        if self.encoded is not None:
            return
        self.encoded = load_encoded(self.corpus, self.cache_dir, tokenizer=self.tokenizer,
                                    lowercase=self.lowercase, add_eos=self.add_eos,
                                    min_count=self.min_count, max_size=self.max_size,
                                    vocabulary=self.fixed_vocabulary)
        self.view = self.view_factory(vocab=self.encoded.vocab, options=self.view_options)
        # only runs that score held-out text (language models) hold some out; embeddings train on all of it
        self.splits = held_out_splits(self.encoded.splits, self.holdout) if self.view.scores_held_out \
            else self.encoded.splits
        train = self.splits["train"]
        log.info("%s: %d training tokens, vocabulary %d (%s cache %s)", self.corpus.name, len(train),
                 len(self.encoded.vocab), "reused" if self.encoded.reused else "built", self.encoded.cache_dir)

    def loader_settings(self) -> LoaderSettings:
        """This process's part of the data (the trainer's rank among its processes under DDP) and loader options."""
        trainer = self.trainer
        shard = Shard(trainer.global_rank, trainer.world_size) if trainer is not None else Shard()
        return LoaderSettings(cache_dir=self.encoded.cache_dir, shuffle=self.shuffle, num_workers=self.num_workers,
                              seed=self.seed, shard=shard, pin_memory=pins_memory(trainer))

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return self.view.train_loader(self.splits["train"], self.loader_settings())

    def has_split(self, split: str) -> bool:
        """Whether the corpus has `split` and the view scores held-out text (language models)."""
        self.setup()
        return self.view.scores_held_out and split in self.splits

    def _eval_loader(self, split: str):
        if not self.has_split(split):
            return []
        return self.view.eval_loader(self.splits[split], self.loader_settings())

    def val_dataloader(self):
        return self._eval_loader("valid")

    def test_dataloader(self):
        return self._eval_loader("test")

    def state_dict(self) -> dict:
        """Checkpointed by Lightning: the view's generators (a resumed run draws the examples it would have)."""
        return {"view": self.view.random_state()} if self.view is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        self.setup()
        self.view.load_random_state(state_dict.get("view", {}))

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """The view's last step, on the device the model runs on (word2vec views expand chunks here)."""
        return self.view.on_device(batch)
