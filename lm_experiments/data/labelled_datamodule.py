"""The Lightning DataModule of labelled sentences: source -> vocabulary and label set (training split only)
-> encoded splits -> the view's batches."""

import logging
from pathlib import Path

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from lm_experiments.config_options import built_class
from lm_experiments.data.labelled import LabelledSource
from lm_experiments.data.labelled_split import LabelledSplit, encode_split, retokenized
from lm_experiments.data.tokenizers import make_tokenizer
from lm_experiments.data.views.base import LoaderSettings, pins_memory
from lm_experiments.data.views.sentences import LabelledView, LabelledViewOptions
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int

log = logging.getLogger(__name__)


class LabelledDataModule(L.LightningDataModule):
    """Owns the labelled splits, their vocabulary and label set, and the view that batches them.

    The vocabulary (words seen `min_count` times, at most `max_size`) and the label set
    come from the training split only, so nothing about valid or test leaks into the
    model; a valid or test label the training split lacks is an error. `view` is the
    `data.view` partial the model's config picks (padded sentences or trees).
    `path`, `fold`, `labels`, `holdout` and `epochs` are only the config's handles for
    the source's options (its node interpolates them) and the default `trainer.max_epochs`.
    `vocabulary` and `label_set` (a trained classifier's, given by `lm_experiments.cli.evaluate`)
    replace the ones built from the training split.
    """

    def __init__(self, source: LabelledSource, view, cache_dir: str = "~/.cache/lm_experiments",
                 tokenizer: str = "whitespace", lowercase: bool = False, min_count: int = 1,
                 max_size: int | None = None, batch_size: int = 50,
                 eval_batch_size: int = 500, phrases: bool = False, num_workers: int = 0,
                 path: str | None = None, fold: int | None = None, labels: str | None = None,
                 holdout: float | None = None, epochs: int | None = None, vocabulary: Vocabulary | None = None,
                 label_set: list[str] | None = None):
        super().__init__()
        view_class = built_class(view)
        if not issubclass(view_class, LabelledView):
            raise UserError(f"data={source.name} holds labelled sentences, but this model reads running text "
                            f"(its data view is {view_class.__name__}): train a sentence classifier on it "
                            f"(model=bow, textcnn, birnn, treelstm), or pick a text corpus (data=lee, text8, ...).")
        self.source, self.view_factory = source, view
        self.cache_dir = Path(cache_dir).expanduser()
        make_tokenizer(tokenizer, lowercase)  # an unknown name fails here, before any file is read
        self.tokenizer, self.lowercase = tokenizer, lowercase
        self.min_count = positive_int(min_count, "data.min_count")
        self.max_size = None if max_size is None else positive_int(max_size, "data.max_size")
        self.options = LabelledViewOptions(batch_size=batch_size, eval_batch_size=eval_batch_size,
                                           phrases=bool(phrases))
        self.num_workers = num_workers
        self.fixed_vocabulary, self.fixed_labels = vocabulary, label_set
        self.splits: dict[str, LabelledSplit] = {}
        self._vocab: Vocabulary | None = None
        self._labels: list[str] | None = None
        self.view: LabelledView | None = None

    @property
    def vocab(self) -> Vocabulary:
        self.setup()
        return self._vocab

    @property
    def labels(self) -> list[str]:
        """The class names, sorted; a class's index is its position."""
        self.setup()
        return self._labels

    def setup(self, stage: str | None = None) -> None:
        if self._vocab is not None:
            return
        examples = self.source.splits(self.cache_dir)
        examples = {split: retokenized(part, self.tokenizer, self.lowercase) for split, part in examples.items()}
        train = examples["train"]
        if not train:
            raise UserError(f"The training split of data={self.source.name} holds no labelled sentence.")
        self._vocab = self.fixed_vocabulary or self._build_vocabulary(train)
        self._labels = list(self.fixed_labels) if self.fixed_labels is not None else self._label_set(train)
        self.splits = {split: encode_split(part, self._vocab, self._labels, split) for split, part in examples.items()}
        self.view = self.view_factory(vocab=self._vocab, options=self.options)
        self.view.check_split(self.splits["train"], self.source.name)
        log.info("%s: %s sentences, vocabulary %d, labels %s", self.source.name,
                 " / ".join(f"{len(s)} {name}" for name, s in self.splits.items()), len(self._vocab),
                 ", ".join(self._labels))

    def _build_vocabulary(self, train) -> Vocabulary:
        words, counts = np.unique([t for e in train for t in e.tokens], return_counts=True)
        return Vocabulary.build(words.tolist(), counts, min_count=self.min_count, max_size=self.max_size)

    def _label_set(self, train) -> list[str]:
        labels = {e.label for e in train if e.label is not None} | \
                 {label for e in train if e.node_labels for label in e.node_labels if label is not None}
        if len(labels) < 2:
            raise UserError(f"The training split of data={self.source.name} has {len(labels)} label(s) "
                            f"({', '.join(sorted(labels))}): a classifier needs at least two.")
        return sorted(labels, key=lambda label: (not label.isdigit(), int(label) if label.isdigit() else 0, label))

    def has_split(self, split: str) -> bool:
        self.setup()
        return split in self.splits and len(self.splits[split]) > 0

    def loader_settings(self) -> LoaderSettings:
        """Worker processes, and pinned batches where the trainer runs on a CUDA device."""
        return LoaderSettings(num_workers=self.num_workers, pin_memory=pins_memory(self.trainer))

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return self.view.train_loader(self.splits["train"], self.loader_settings())

    def _eval_loader(self, split: str):
        return self.view.eval_loader(self.splits[split], self.loader_settings()) if self.has_split(split) else []

    def val_dataloader(self):
        return self._eval_loader("valid")

    def test_dataloader(self):
        return self._eval_loader("test")
