"""The Lightning DataModule: corpus -> cached id stream -> chunks -> (on device) the model's view."""

import inspect
import logging
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.corpora import Corpus
from lm_experiments.data.sharding import Shard
from lm_experiments.data.stream import EncodedCorpus, load_encoded
from lm_experiments.errors import positive_int

log = logging.getLogger(__name__)


class TokenChunks(Dataset):
    """Consecutive chunks of `chunk_tokens` ids from a memory-mapped stream; item i is chunk i."""

    def __init__(self, stream, chunk_tokens: int):
        self.stream = stream
        self.chunk_tokens = chunk_tokens

    def __len__(self) -> int:
        return -(-len(self.stream) // self.chunk_tokens)

    def __getitem__(self, index: int) -> torch.Tensor:
        start = index * self.chunk_tokens
        return torch.from_numpy(self.stream[start: start + self.chunk_tokens].astype("int64"))  # (chunk,)


class CorpusDataModule(L.LightningDataModule):
    """Owns the corpus, its vocabulary and the view that turns id chunks into examples.

    `window` and `sample` (embeddings), `batch_size`, `bptt` and `eval_batch_size`
    (language models) live here because they describe how the stream becomes
    examples; the model decides *which* view, and each view takes the options its
    signature names. Language-model views also make the validation and test loaders. `path` and `epochs` are only the
    config's handles for `data.path` (the corpus node interpolates it) and for the
    corpus-sized default of `trainer.max_epochs`.
    """

    def __init__(self, corpus: Corpus, view=None, cache_dir: str = "~/.cache/lm_experiments",
                 tokenizer: str = "whitespace", lowercase: bool = False, add_eos: bool = True,
                 min_count: int = 5, max_size: int | None = None, batch_words: int = 4096,
                 window: int = 5, sample: float = 1e-3, batch_size: int = 20, bptt: int = 35,
                 eval_batch_size: int = 10, shuffle: bool = True, num_workers: int = 0, seed: int = 0,
                 path: str | None = None, epochs: int | None = None):
        super().__init__()
        self.corpus = corpus
        self.view_factory = view
        self.cache_dir = Path(cache_dir).expanduser()
        self.tokenizer, self.lowercase, self.add_eos = tokenizer, lowercase, add_eos
        self.min_count = positive_int(min_count, "data.min_count")
        self.max_size = max_size
        if max_size is not None:
            positive_int(max_size, "data.max_size")
        self.batch_words = positive_int(batch_words, "data.batch_words")
        self.view_options = {"window": window, "sample": sample, "seed": seed, "batch_size": batch_size,
                             "bptt": bptt, "eval_batch_size": eval_batch_size}
        self.shuffle, self.num_workers, self.seed = shuffle, num_workers, seed
        self.encoded: EncodedCorpus | None = None
        self.view = None

    @property
    def vocab(self):
        self.setup()
        return self.encoded.vocab

    def setup(self, stage: str | None = None) -> None:
        """Load (or build once) the encoded corpus and the view; safe to call repeatedly."""
        if self.encoded is not None:
            return
        self.encoded = load_encoded(self.corpus, self.cache_dir, tokenizer=self.tokenizer,
                                    lowercase=self.lowercase, add_eos=self.add_eos,
                                    min_count=self.min_count, max_size=self.max_size)
        train = self.encoded.splits["train"]
        log.info("%s: %d training tokens, vocabulary %d (%s cache %s)", self.corpus.name, len(train),
                 len(self.encoded.vocab), "reused" if self.encoded.reused else "built", self.encoded.cache_dir)
        if self.view_factory is not None:
            accepted = inspect.signature(self.view_factory).parameters
            options = {k: v for k, v in self.view_options.items() if k in accepted}
            self.view = self.view_factory(vocab=self.encoded.vocab, **options)

    @property
    def shard(self) -> Shard:
        """This process's part of the data: the trainer's rank among its processes (DDP), else everything."""
        trainer = self.trainer
        return Shard(trainer.global_rank, trainer.world_size) if trainer is not None else Shard()

    def train_dataloader(self) -> DataLoader:
        self.setup()
        stream, shard = self.encoded.splits["train"], self.shard
        if hasattr(self.view, "train_loader"):  # language-model views batch the stream themselves
            return self.view.train_loader(stream, self.encoded.cache_dir, shuffle=self.shuffle,
                                          num_workers=self.num_workers, shard=shard)
        if hasattr(self.view, "train_dataset"):  # views with examples of their own (co-occurrence cells)
            chunks = self.view.train_dataset(stream, self.encoded.cache_dir)
        else:
            chunks = TokenChunks(stream, self.batch_words)
        sampler = shard.shuffled(chunks, self.shuffle, self.seed)
        return DataLoader(chunks, batch_size=None, shuffle=self.shuffle if sampler is None else None,
                          sampler=sampler, num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def has_split(self, split: str) -> bool:
        """Whether the corpus has `split` and the view can score it (language models)."""
        self.setup()
        return hasattr(self.view, "eval_loader") and split in self.encoded.splits

    def _eval_loader(self, split: str):
        if not self.has_split(split):
            return []
        return self.view.eval_loader(self.encoded.splits[split], num_workers=self.num_workers, shard=self.shard)

    def val_dataloader(self):
        return self._eval_loader("valid")

    def test_dataloader(self):
        return self._eval_loader("test")

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Expand id chunks into examples on the device the model runs on (views that are callables)."""
        return self.view(batch) if callable(self.view) else batch
