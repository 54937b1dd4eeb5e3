"""Word-word co-occurrence counts over the stream: GloVe's `cooccur` and the PPMI matrix's input.

Rules as in GloVe's cooccur.c: out-of-vocabulary words are dropped before windows
are formed, windows reset at line ends (`<eos>`), each pair within `window` is
counted in both directions, weighted 1/distance (`weighting="harmonic"`) or 1.
Counting runs on whole tensors per chunk and merges equal cells after each chunk,
so memory is bounded by the number of distinct cells, never by the corpus length.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lm_experiments.data.cache_entry import open_entry
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)
WEIGHTINGS = ("harmonic", "none")


@dataclass
class Cooccurrences:
    """Sparse symmetric counts: rows (N,), cols (N,), values (N,), over a V x V matrix."""

    rows: torch.Tensor
    cols: torch.Tensor
    values: torch.Tensor
    size: int

    def dense(self) -> torch.Tensor:
        matrix = torch.zeros(self.size, self.size, dtype=self.values.dtype)
        matrix[self.rows, self.cols] = self.values
        return matrix


def _merge(keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    unique, inverse = torch.unique(keys, return_inverse=True)
    return unique, torch.zeros(len(unique), dtype=values.dtype).index_add_(0, inverse, values)


def count_cooccurrences(stream: np.ndarray, vocab: Vocabulary, window: int = 10, weighting: str = "harmonic",
                        chunk_tokens: int = 1 << 20) -> Cooccurrences:
    positive_int(window, "data.window")
    if weighting not in WEIGHTINGS:
        raise UserError(f"data.view.weighting must be one of {', '.join(WEIGHTINGS)}; got {weighting!r}.")
    size = len(vocab)
    stream = np.asarray(stream, dtype=np.int64)
    sentences = np.cumsum(stream == vocab.eos_index)
    keep = stream >= vocab.num_specials  # drop <unk> (out of vocabulary) and <eos> (it ends a line)
    words, sentences = torch.from_numpy(stream[keep]), torch.from_numpy(sentences[keep])
    keys, values = torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.float64)
    progress = ProgressLog(log, f"counting co-occurrences (window {window})", len(words))
    # chunks of kept words overlap by `window` words; only pairs ending in the new part are counted
    for start in range(0, len(words), chunk_tokens):
        begin = max(start - window, 0)
        ids, sentence = words[begin: start + chunk_tokens], sentences[begin: start + chunk_tokens]
        position = torch.arange(begin, begin + len(ids))
        chunk_keys, chunk_values = [keys], [values]
        for offset in range(1, window + 1):
            same = (sentence[offset:] == sentence[:-offset]) & (position[offset:] >= start)
            left, right = ids[:-offset][same], ids[offset:][same]
            weight = torch.full((len(left),), 1.0 / offset if weighting == "harmonic" else 1.0, dtype=torch.float64)
            chunk_keys += [left * size + right, right * size + left]
            chunk_values += [weight, weight]
        keys, values = _merge(torch.cat(chunk_keys), torch.cat(chunk_values))
        progress.advance(len(ids) - (start - begin), f"{len(keys):,} distinct cells")
    progress.finish(f"{len(keys):,} distinct cells")
    return Cooccurrences(keys // size, keys % size, values, size)


def load_cooccurrences(stream: np.ndarray, vocab: Vocabulary, cache_dir: Path, window: int,
                       weighting: str) -> Cooccurrences:
    """Counted once per (encoded corpus, window, weighting) and cached beside the encoded stream, as a
    verified cache entry (rebuilt if damaged)."""
    entry = Path(cache_dir) / f"cooccurrence-w{window}-{weighting}"

    def count(tmp: Path) -> None:
        log.info("Counting co-occurrences (window %d, %s weighting) into %s", window, weighting, entry)
        counts = count_cooccurrences(stream, vocab, window, weighting)
        np.savez(tmp / "cells.npz", rows=counts.rows.numpy(), cols=counts.cols.numpy(), values=counts.values.numpy(),
                 size=counts.size)

    open_entry(entry, count, f"co-occurrence counts (window {window}, {weighting})")
    saved = np.load(entry / "cells.npz")
    return Cooccurrences(torch.from_numpy(saved["rows"]), torch.from_numpy(saved["cols"]),
                         torch.from_numpy(saved["values"]), int(saved["size"]))
