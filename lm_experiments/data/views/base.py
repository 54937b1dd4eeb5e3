"""The one view protocol: what every data view offers the data module, and the options it may read."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.sharding import WHOLE, Shard
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


@dataclass(frozen=True)
class ViewOptions:
    """The data options views read (`data.window`, `data.batch_size`, ...), checked once with their config names.

    They live in the `data` node because they say how the corpus becomes examples, and
    a sweep varies them there (`data.window=2,5,10`); each view reads the ones it needs.
    Options of one view only (GloVe's weighting, the Transformer's block size) are in
    `data.view` beside its `_target_`.
    """

    window: int = 5            # word2vec's maximum window (each center draws 1..window)
    shrink_windows: bool = True  # gensim's name: false gives every center the whole window
    sample: float = 1e-3       # word2vec's subsampling threshold (0: off)
    batch_words: int = 8192    # corpus words per chunk shipped to the device
    batch_size: int = 20       # language models: sequences per batch
    bptt: int = 35             # recurrent models: steps per truncated-BPTT block
    eval_batch_size: int = 10  # language models: columns / windows per batch when scoring held-out text
    seed: int = 0

    def __post_init__(self):
        for name in ("window", "batch_words", "batch_size", "bptt", "eval_batch_size"):
            positive_int(getattr(self, name), f"data.{name}")
        if isinstance(self.sample, bool) or not (isinstance(self.sample, int | float) and self.sample >= 0):
            raise UserError(f"data.sample must be a number >= 0 (0 turns subsampling off), got {self.sample!r}.")
        if not isinstance(self.shrink_windows, bool):
            raise UserError(f"data.shrink_windows must be true or false, got {self.shrink_windows!r}.")


VIEW_OPTIONS = tuple(f.name for f in fields(ViewOptions) if f.name != "seed")


@dataclass(frozen=True)
class LoaderSettings:
    """How the data module wants a view's loaders made: caching, order, worker processes, pinning, this process's
    shard."""

    cache_dir: Path | None = None  # beside the encoded stream: where a view caches what it derives (co-occurrences)
    shuffle: bool = True
    num_workers: int = 0
    seed: int = 0
    shard: Shard = field(default=WHOLE)
    pin_memory: bool = False  # batches in page-locked memory: Lightning's copy to a CUDA device then does not block

    def loader(self, dataset: Dataset, **options) -> DataLoader:
        """A DataLoader over `dataset` with these worker and pinning settings (`options`: batching and order)."""
        return DataLoader(dataset, num_workers=self.num_workers, pin_memory=self.pin_memory, **options)


def pins_memory(trainer) -> bool:
    """Whether batches should be pinned: only for a CUDA device (pinning for the CPU is a wasted copy)."""
    return trainer is not None and trainer.strategy.root_device.type == "cuda"


class View(ABC):
    """Turns id streams into batches of `batch_type`.

    `train_loader` batches the training split; views whose task scores held-out text
    (`scores_held_out`) also batch the validation and test splits with `eval_loader`,
    covering every token exactly once across the processes. `on_device` runs after a
    batch reaches the model's device (so expansions run as fast there as the model).
    """

    batch_type: ClassVar[type]
    scores_held_out: ClassVar[bool] = False

    def __init__(self, vocab: Vocabulary, options: ViewOptions):
        self.vocab = vocab
        self.options = options

    @abstractmethod
    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        """Batches of the training split (`stream`: (N,) ids)."""

    def eval_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        """Batches of a held-out split, each token scored once; only views with `scores_held_out`."""
        raise TypeError(f"{type(self).__name__} does not score held-out text")

    def on_device(self, batch):
        """The batch the task trains on, from the one the loader shipped (already on the model's device)."""
        return batch

    def random_state(self) -> dict:
        """The state of the view's own generators (checkpointed, so a resumed run draws on from it)."""
        return {}

    def load_random_state(self, state: dict) -> None:
        """Continue from a `random_state()`; a view without generators of its own has nothing to restore."""
        del state


def batches_loader(dataset: Dataset, settings: LoaderSettings) -> DataLoader:
    """A loader over a dataset whose items are whole batches: shuffled each epoch, this process's part only."""
    sampler = settings.shard.shuffled(dataset, settings.shuffle, settings.seed)
    return settings.loader(dataset, batch_size=None, shuffle=settings.shuffle if sampler is None else None,
                           sampler=sampler, persistent_workers=settings.num_workers > 0)
