"""Word-word co-occurrence counts over the stream, in bounded memory: GloVe's `cooccur` and the PPMI matrix's input.

Rules as in GloVe's cooccur.c: out-of-vocabulary words are dropped before windows
are formed, windows reset at line ends (`<eos>`), each pair within `window` is
counted in both directions, weighted 1/distance (`weighting="harmonic"`) or 1.

Counting is glove.c's: pairs of frequent words (the product of their frequency ranks at
most `max_product`) are added into a dense table, the rest are written into a buffer as
packed (cell, distance) integers that is sorted and summed into a run on disk whenever
it fills (`sorted_runs.py`); at the end the table joins the runs and they are merged into
the final cells, sorted by (row, column). `memory` (GB) bounds the table, the buffer and
the merge; the stream is read in chunks, so memory is set by the vocabulary and the
budget, never by the corpus length. The cells live on disk (`rows`, `cols`, `values`,
16 bytes a cell as in glove.c) and are memory-mapped; `shuffled_cells` writes them in
random order (glove.c's `shuffle`) in bounded memory too.
"""

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numba import njit

from lm_experiments.data.array_files import blocks
from lm_experiments.data.batches import CellBatch
from lm_experiments.data.cache_entry import open_entry
from lm_experiments.data.sorted_runs import SortedRuns, memory_budget
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int
from lm_experiments.files import folder_write_failed, scratch_folder
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)
WEIGHTINGS = ("harmonic", "none")
DEFAULT_MEMORY_GB = 2.0
CHUNK_TOKENS = 1 << 22   # stream tokens read at a time
MAX_SHUFFLE_BUCKETS = 1024  # of the shuffle's two passes: the memory it needs grows with the cells past this
META_FILE = "cells.json"
FILES = {"rows": np.int32, "cols": np.int32, "values": np.float64}


@dataclass
class Cooccurrences:
    """Sparse symmetric counts over a V x V matrix: rows (N,), cols (N,) vocabulary ids, values (N,), sorted by
    (row, col) unless shuffled. NumPy arrays, memory-mapped from the cache when loaded."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    size: int

    def __len__(self) -> int:
        return len(self.values)

    def batch(self, part: slice = slice(None)) -> CellBatch:
        """Cells `part` as a batch of tensors (ids int64, counts float32), read from the memory map."""
        return CellBatch(torch.from_numpy(np.asarray(self.rows[part], np.int64)),
                         torch.from_numpy(np.asarray(self.cols[part], np.int64)),
                         torch.from_numpy(np.asarray(self.values[part], np.float32)))

    def dense(self) -> torch.Tensor:
        """(V, V) float64: for tests and small vocabularies only."""
        matrix = torch.zeros(self.size, self.size, dtype=torch.float64)
        matrix[torch.from_numpy(np.asarray(self.rows, np.int64)), torch.from_numpy(np.asarray(self.cols, np.int64))] \
            = torch.from_numpy(np.asarray(self.values, np.float64))
        return matrix


def check_memory(memory: float, minimum: int = 1) -> int:
    """`data.view.memory` in GB -> bytes; refused unless positive (and at least `minimum` bytes: the view asks for
    MIN_MEMORY_BYTES, the counters themselves run in any budget, for the tests of their spilling)."""
    return memory_budget(memory, "data.view.memory", "co-occurrence counting and its shuffle", minimum)


@dataclass
class CountingPlan:
    """How `memory` is split while counting: the dense table of frequent pairs (8 bytes a slot) and the buffer of
    the other pairs (8 bytes each, and 8 more for their sums when it is written as a run)."""

    max_product: int          # pairs whose rank product is at most this go into the dense table
    row_start: np.ndarray     # (words + 1,) where each rank's row starts in the table
    buffer: int               # packed pairs held before a run is written


def dense_slots(max_product: int, words: int) -> int:
    ranks = np.arange(1, words + 1, dtype=np.int64)
    return int(np.minimum(words, max_product // ranks).sum())


USABLE = 0.9  # of the budget: the rest is slack for the stream's chunk and the interpreter


def plan_counting(words: int, memory_bytes: int, window: int) -> CountingPlan:
    """Half the budget to the dense table (the largest `max_product` whose table fits), half to the buffer."""
    half = int(memory_bytes * USABLE) // 2
    slots = max(half // 8, 1)
    low, high = 0, words * words  # the largest max_product with dense_slots <= slots
    while low < high:
        middle = (low + high + 1) // 2
        if dense_slots(middle, words) <= slots:
            low = middle
        else:
            high = middle - 1
    ranks = np.arange(1, words + 1, dtype=np.int64)
    widths = np.minimum(words, low // ranks) if low else np.zeros(words, np.int64)
    row_start = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    buffer = max(half // 16, 4 * window + 2)
    return CountingPlan(low, row_start, buffer)


@njit(cache=True, nogil=True)
def _count_pairs(ranks, lines, first, window, harmonic, max_product, row_start, table, packed, filled, words, bits):
    """Count the pairs whose right word is at kept positions first.. of `ranks` (1-based frequency ranks, with their
    line numbers); stop early when the buffer cannot take another word's pairs. Returns (next position, filled)."""
    limit = len(packed) - 2 * window
    for i in range(first, len(ranks)):
        if filled > limit:
            return i, filled
        right, line = ranks[i], lines[i]
        for distance in range(1, window + 1):
            j = i - distance
            if j < 0 or lines[j] != line:
                break
            left = ranks[j]
            if left * right <= max_product:  # frequent pair: the dense table
                weight = 1.0 / distance if harmonic else 1.0
                table[row_start[left - 1] + right - 1] += weight
                table[row_start[right - 1] + left - 1] += weight
            else:                             # rare pair: (cell, distance) packed, summed when the buffer is sorted
                packed[filled] = (((left - 1) * words + right - 1) << bits) | distance
                packed[filled + 1] = (((right - 1) * words + left - 1) << bits) | distance
                filled += 2
    return len(ranks), filled


@njit(cache=True, nogil=True)
def _sum_packed(packed, harmonic, bits):
    """Sorted packed (cell, distance) integers -> the distinct cells (written over the front of `packed`) and their
    summed weights: (cells (M,), values (M,))."""
    mask = (1 << bits) - 1
    values = np.empty(len(packed), np.float64)
    count = 0
    for i in range(len(packed)):
        cell = packed[i] >> bits
        weight = 1.0 / (packed[i] & mask) if harmonic else 1.0
        if count > 0 and packed[count - 1] == cell:
            values[count - 1] += weight
        else:
            packed[count] = cell  # count <= i: the packed entries still to read are not touched
            values[count] = weight
            count += 1
    return packed[:count], values[:count]


@njit(cache=True, nogil=True)
def _split_cells(cells, words, specials):
    """Cells (N,) of rank pairs -> vocabulary ids: rows (N,) and cols (N,) int32."""
    rows = np.empty(len(cells), np.int32)
    cols = np.empty(len(cells), np.int32)
    for i in range(len(cells)):
        rows[i] = cells[i] // words + specials
        cols[i] = cells[i] % words + specials
    return rows, cols


@njit(cache=True, nogil=True)
def _dense_block(table, row_start, words, first_row, limit):
    """The nonzero slots of the dense table from rank row `first_row` on, at most about `limit` of them, as sorted
    cells and values; returns (cells, values, next row)."""
    cells = np.empty(limit + words, np.int64)
    values = np.empty(limit + words, np.float64)
    count, row = 0, first_row
    while row < words and count < limit:
        for column in range(row_start[row + 1] - row_start[row]):
            value = table[row_start[row] + column]
            if value != 0.0:
                cells[count] = row * words + column
                values[count] = value
                count += 1
        row += 1
    return cells[:count], values[:count], row


def count_cooccurrences(stream: np.ndarray, vocab: Vocabulary, window: int = 10, weighting: str = "harmonic",
                        memory: float = DEFAULT_MEMORY_GB, folder: Path | None = None,
                        chunk_tokens: int = CHUNK_TOKENS) -> Cooccurrences:
    """Count, and write the cells into `folder` (memory-mapped from there); with no folder, a temporary one and the
    cells in memory (for tests and small corpora)."""
    positive_int(window, "data.window")
    if weighting not in WEIGHTINGS:
        raise UserError(f"data.view.weighting must be one of {', '.join(WEIGHTINGS)}; got {weighting!r}.")
    memory_bytes = check_memory(memory)
    if folder is None:
        with scratch_folder("cooccurrence") as scratch:
            counted = count_cooccurrences(stream, vocab, window, weighting, memory, Path(scratch), chunk_tokens)
            return Cooccurrences(np.array(counted.rows), np.array(counted.cols), np.array(counted.values),
                                 counted.size)
    folder = Path(folder)
    try:
        _count_into(folder, stream, vocab, window, weighting == "harmonic", memory_bytes, chunk_tokens)
    except OSError as error:
        raise folder_write_failed("co-occurrence counts", folder, error, "paths.cache_dir") from None
    return read_cells(folder)


def _count_into(folder: Path, stream, vocab: Vocabulary, window: int, harmonic: bool, memory_bytes: int,
                chunk_tokens: int) -> None:
    specials, words = vocab.num_specials, len(vocab) - vocab.num_specials
    plan = plan_counting(max(words, 1), memory_bytes, window)
    bits = window.bit_length()
    table = np.zeros(int(plan.row_start[-1]), np.float64)
    packed = np.empty(plan.buffer, np.int64)
    runs = SortedRuns(folder, "overflow", compact_memory=max(int(memory_bytes * (1 - USABLE)) // 2, 1 << 16))
    progress = ProgressLog(log, f"counting co-occurrences (window {window})", len(stream))
    tail_ranks, tail_lines, line_base, filled = np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 0

    def spill() -> None:
        nonlocal filled
        part = packed[:filled]
        part.sort()
        runs.write(*_sum_packed(part, harmonic, bits))
        filled = 0

    for _, raw in blocks(stream, chunk_tokens):
        raw = raw.astype(np.int64)
        lines = np.cumsum(raw == vocab.eos_index) + line_base
        line_base = int(lines[-1])
        kept = raw >= specials  # <unk> (out of vocabulary) and <eos> (it ends a line) are dropped
        ranks = np.concatenate([tail_ranks, raw[kept] - specials + 1])
        chunk_lines = np.concatenate([tail_lines, lines[kept]])
        position = len(tail_ranks)
        while position < len(ranks):
            position, filled = _count_pairs(ranks, chunk_lines, position, window, harmonic, plan.max_product,
                                             plan.row_start, table, packed, filled, words, bits)
            if position < len(ranks):
                spill()
        tail_ranks, tail_lines = ranks[-window:], chunk_lines[-window:]
        progress.advance(len(raw), f"{runs.entries + filled:,} rare pairs spilled or buffered")
    if filled:
        spill()
    packed = np.empty(0, np.int64)  # the buffer's memory goes back before the merge
    runs.begin_run()  # the table's cells, in key order: one more run, written in blocks
    row = 0
    while row < words:
        cells, values, row = _dense_block(table, plan.row_start, words, row, max(memory_bytes // 64, 1 << 16))
        runs.append(cells, values)
    del table
    total = 0
    with open(folder / "rows", "wb") as rows, open(folder / "cols", "wb") as cols, \
            open(folder / "values", "wb") as values:
        for cells, sums in runs.merged(int(memory_bytes * USABLE), bytes_per_entry=40):
            row_ids, col_ids = _split_cells(cells, words, specials)
            row_ids.tofile(rows)
            col_ids.tofile(cols)
            sums.tofile(values)
            total += len(cells)
            del cells, sums, row_ids, col_ids
    runs.remove()
    (folder / META_FILE).write_text(json.dumps({"cells": total, "size": len(vocab), "window": window,
                                                "weighting": "harmonic" if harmonic else "none"}))
    progress.finish(f"{total:,} distinct cells")


def read_cells(folder: Path, mode: str = "r") -> Cooccurrences:
    """The cells in `folder`, memory-mapped."""
    meta = json.loads((Path(folder) / META_FILE).read_text())
    count = int(meta["cells"])
    arrays = {name: (np.memmap(Path(folder) / name, dtype=dtype, mode=mode, shape=(count,)) if count
                     else np.zeros(0, dtype)) for name, dtype in FILES.items()}
    return Cooccurrences(arrays["rows"], arrays["cols"], arrays["values"], int(meta["size"]))


def cooccurrence_entry(cache_dir: Path, window: int, weighting: str) -> Path:
    return Path(cache_dir) / f"cooccurrence-w{window}-{weighting}"


def load_cooccurrences(stream: np.ndarray, vocab: Vocabulary, cache_dir: Path, window: int, weighting: str,
                       memory: float = DEFAULT_MEMORY_GB) -> Cooccurrences:
    """Counted once per (encoded corpus, window, weighting) and cached beside the encoded stream, as a
    verified cache entry (rebuilt if damaged); memory-mapped."""
    memory_bytes = check_memory(memory)
    entry = cooccurrence_entry(cache_dir, window, weighting)

    def count(tmp: Path) -> None:
        log.info("Counting co-occurrences (window %d, %s weighting, %.3g GB) into %s", window, weighting,
                 memory_bytes / 2**30, entry)
        count_cooccurrences(stream, vocab, window, weighting, memory, tmp)

    open_entry(entry, count, f"co-occurrence counts (window {window}, {weighting})")
    return read_cells(entry)


def shuffle_buckets(total: int, memory_bytes: int) -> tuple[int, int]:
    """(cells per bucket, buckets) of the shuffle within `memory_bytes`: the order depends on the buckets, so the
    cache key of a shuffle names them."""
    per_bucket = max(memory_bytes // 48, 1)  # a bucket's cells (16 bytes each), their permutation and copies
    buckets = max(math.ceil(total / per_bucket), 1)
    if buckets > MAX_SHUFFLE_BUCKETS:  # the deal opens every bucket once per part: B^2 opens
        need = math.ceil(total / MAX_SHUFFLE_BUCKETS) * 48
        raise UserError(f"Shuffling {total:,} co-occurrence cells in {memory_bytes / 2**30:.3g} GB would take "
                        f"{buckets:,} buckets on disk; give data.view.memory at least {need / 2**30:.2g}.")
    return per_bucket, buckets


def shuffle_into(cells: Cooccurrences, folder: Path, seed: int, memory_bytes: int) -> None:
    """Write `cells` into `folder` in uniformly random order (seeded), in two passes within `memory_bytes`:
    deal every cell into one of B buckets at random, then permute each bucket in memory and append it."""
    folder = Path(folder)
    total = len(cells)
    per_bucket, buckets = shuffle_buckets(total, memory_bytes)
    rng = np.random.default_rng(seed)
    progress = ProgressLog(log, f"shuffling {total:,} cells ({buckets} buckets)", 2 * total)  # deal, then permute
    for b in range(buckets):
        for name in FILES:
            (folder / f"bucket-{b}.{name}").write_bytes(b"")
    for start in range(0, total, per_bucket):
        part = {name: np.asarray(getattr(cells, name)[start: start + per_bucket]) for name in FILES}
        chosen = rng.integers(0, buckets, len(part["values"])) if buckets > 1 else np.zeros(len(part["values"]),
                                                                                              np.int64)
        order = np.argsort(chosen, kind="stable")
        bounds = np.searchsorted(chosen[order], np.arange(buckets + 1))
        for b in range(buckets):  # a bucket's files opened for its share only: three files open, whatever B
            picked = order[bounds[b]: bounds[b + 1]]
            for name in FILES:
                with open(folder / f"bucket-{b}.{name}", "ab") as handle:
                    part[name][picked].tofile(handle)
        progress.advance(len(part["values"]), "dealt into buckets")
    with open(folder / "rows", "wb") as rows, open(folder / "cols", "wb") as cols, \
            open(folder / "values", "wb") as values:
        out = {"rows": rows, "cols": cols, "values": values}
        for b in range(buckets):
            bucket = {name: np.fromfile(folder / f"bucket-{b}.{name}", dtype) for name, dtype in FILES.items()}
            permutation = rng.permutation(len(bucket["values"]))
            for name in FILES:
                bucket[name][permutation].tofile(out[name])
                (folder / f"bucket-{b}.{name}").unlink()
            progress.advance(len(permutation), "buckets permuted")
    progress.finish()
    (folder / META_FILE).write_text(json.dumps({"cells": total, "size": cells.size, "shuffled_seed": seed}))


def load_shuffled_cells(cells: Cooccurrences, cache_dir: Path, window: int, weighting: str, seed: int,
                        memory: float = DEFAULT_MEMORY_GB) -> Cooccurrences:
    """The counted `cells` in random order for training (glove.c's `shuffle`), once per seed and number of
    buckets (the order depends on both: `shuffle_buckets`), as a verified cache entry beside them; memory-mapped."""
    memory_bytes = check_memory(memory)
    _, buckets = shuffle_buckets(len(cells), memory_bytes)
    entry = Path(f"{cooccurrence_entry(cache_dir, window, weighting)}-shuffled-s{seed}-b{buckets}")
    open_entry(entry, lambda tmp: shuffle_into(cells, tmp, seed, memory_bytes),
                     f"shuffled co-occurrences (seed {seed})")
    return read_cells(entry)
