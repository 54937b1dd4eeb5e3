"""Tokenize a corpus once, cache the result on disk, and serve memory-mapped id streams.

Two cache levels, so that changing `min_count` never re-reads the text:

1. `tokens/<corpus>-<key>/`: every split as provisional ids (first-seen order), the
   provisional word list and training counts. Keyed by the files' fingerprints and
   the tokenizer settings.
2. `.../vocab-<key>/`: each split re-encoded with the final vocabulary (a vectorised
   remap), keyed additionally by the vocabulary settings. Loaded with `mmap_mode="r"`.

Each level is a cache entry (`cache_entry.py`): built atomically, checked against its
manifest of sizes and checksums when opened, and rebuilt when damaged.
"""

import hashlib
import itertools
import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lm_experiments.data.array_files import NpyWriter, blocks
from lm_experiments.data.cache_entry import open_entry
from lm_experiments.data.corpora import Corpus
from lm_experiments.data.reading import iter_line_pieces, open_text, text_size
from lm_experiments.data.tokenizers import make_tokenizer
from lm_experiments.data.vocab import EOS, SPECIALS, Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)
FORMAT_VERSION = 2  # 2: entries carry a manifest of sizes and checksums


def _key(payload: dict) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

WRITE_BLOCK = 1 << 22  # tokens written, counted or re-encoded at a time


@dataclass
class EncodedCorpus:
    vocab: Vocabulary
    splits: dict[str, np.ndarray]  # split -> (N,) int32 ids, memory-mapped
    cache_dir: Path                # where the encoded splits live (reused by later runs)
    reused: bool                   # True when nothing had to be tokenized


def _tokenize_to_dir(corpus: Corpus, cache_dir: Path, tokenizer: str, lowercase: bool, add_eos: bool,
                     out: Path) -> None:
    split_text = make_tokenizer(tokenizer, lowercase)
    ids_of = defaultdict(itertools.count().__next__)  # word -> provisional id, in first-seen order
    files = corpus.files(cache_dir)
    distinct = {(source.path, source.member): split for split, source in reversed(files.items())}
    progress = ProgressLog(log, f"tokenizing {corpus.name}",
                           sum(text_size(path, member) for path, member in distinct))
    tokens_seen = 0
    for split, source in files.items():
        first = distinct[(source.path, source.member)]
        if first != split:  # the same text as an earlier split (a file scored whole): its tokens once, linked
            os.link(out / f"{first}.npy", out / f"{split}.npy")
            continue
        writer, chunks, buffered = NpyWriter(out / f"{split}.npy", np.int32), [], 0
        try:
            with open_text(source.path, source.member, source.encoding) as handle:
                for text, ends_line in iter_line_pieces(handle):
                    tokens = split_text(text)
                    if add_eos and ends_line:
                        tokens.append(EOS)
                    if tokens:
                        chunks.append(np.fromiter((ids_of[t] for t in tokens), dtype=np.int32, count=len(tokens)))
                        tokens_seen += len(tokens)
                        buffered += len(tokens)
                    if buffered >= WRITE_BLOCK:  # written as it comes: memory is the block, not the corpus
                        writer.append(np.concatenate(chunks))
                        chunks, buffered = [], 0
                    progress.advance(len(text) + ends_line, f"{tokens_seen:,} tokens")
        except UnicodeDecodeError as error:
            raise UserError(f"{source.path} is not valid {source.encoding} text ({error}). Pass the file's "
                            f"encoding as data.corpus.encoding=latin-1 (or whatever it is).") from error
        if chunks:
            writer.append(np.concatenate(chunks))
        writer.close()
    progress.finish(f"{tokens_seen:,} tokens, {len(ids_of):,} distinct")
    words = list(ids_of)
    counts = np.zeros(len(words), dtype=np.int64)
    for _, block in blocks(np.load(out / "train.npy", mmap_mode="r"), WRITE_BLOCK):
        counts += np.bincount(block, minlength=len(words))
    np.save(out / "counts.npy", counts)
    (out / "words.txt").write_text("\n".join(words), encoding="utf-8")


def load_encoded(corpus: Corpus, cache_dir, *, tokenizer: str = "whitespace", lowercase: bool = False,
                 add_eos: bool = True, min_count: int = 5, max_size: int | None = None,
                 vocabulary: Vocabulary | None = None) -> EncodedCorpus:
    """The corpus as id streams under a vocabulary built from its training split, or under `vocabulary` (a
    trained model's, to score another corpus with it: its words outside that vocabulary read `<unk>`)."""
    cache_dir = Path(cache_dir).expanduser()
    token_key = _key({"v": FORMAT_VERSION, "source": corpus.fingerprint(cache_dir), "tokenizer": tokenizer,
                      "lowercase": lowercase, "add_eos": add_eos})
    token_dir = cache_dir / "tokens" / f"{corpus.name}-{token_key}"

    def tokenize(tmp: Path) -> None:
        log.info("Tokenizing %s into %s (once; later runs reuse it)", corpus.name, token_dir)
        _tokenize_to_dir(corpus, cache_dir, tokenizer, lowercase, add_eos, tmp)

    reused = open_entry(token_dir, tokenize, f"tokenized {corpus.name}")
    split_names = sorted(p.stem for p in token_dir.glob("*.npy") if p.stem != "counts")
    counts = np.load(token_dir / "counts.npy")
    words = (token_dir / "words.txt").read_text(encoding="utf-8").split("\n") if counts.size else []
    if sum(c for w, c in zip(words, counts.tolist()) if w not in SPECIALS) == 0:
        raise UserError(f"The {corpus.name} training text has no words "
                        f"({corpus.files(cache_dir)['train'].path}). Check data.path and data.tokenizer.")

    settings = {"min_count": min_count, "max_size": max_size} if vocabulary is None else \
        {"vocabulary": hashlib.sha1("\n".join(vocabulary.itos).encode()).hexdigest()}
    vocab_dir = token_dir / f"vocab-{_key(settings)}"

    def encode(tmp: Path) -> None:
        vocab = vocabulary or Vocabulary.build(words, counts, min_count=min_count, max_size=max_size)
        remap = vocab.lookup(words).astype(np.int32)  # provisional id -> final id
        for split in split_names:
            writer = NpyWriter(tmp / f"{split}.npy", np.int32)
            for _, block in blocks(np.load(token_dir / f"{split}.npy", mmap_mode="r"), WRITE_BLOCK):
                writer.append(remap[block])
            writer.close()
        vocab.save(tmp / "vocab.tsv")

    open_entry(vocab_dir, encode, f"encoding of {corpus.name}")
    vocab = Vocabulary.load(vocab_dir / "vocab.tsv")
    splits = {split: np.load(vocab_dir / f"{split}.npy", mmap_mode="r") for split in split_names}
    return EncodedCorpus(vocab=vocab, splits=splits, cache_dir=vocab_dir, reused=reused)
