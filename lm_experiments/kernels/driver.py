"""The one driver every fused CPU loop runs under: a chunk split into parts that threads take as they come free.

A chunk's centers are cut into len(streams.states) contiguous parts, a few per thread,
handed to threads as they come free (`numba.parallel_chunksize(1)` around the call), so a
core another job slows down does not hold the chunk up; each part draws from its own
generator. The output rows nearly every example writes (`outputs.hot`: the top of the
Huffman tree, the most frequent noise words) are updated in a private copy per thread
(one per thread of Numba's pool, `streams.threads`) and the changes added up into the
shared rows after the chunk, instead of the cores passing those rows' cache lines back
and forth. Per thread, not per part: the parts' changes to the root of the Huffman tree,
each made from the same starting point, summed over eight parts diverged.

`loop.kind` picks the part function (`tables.py` names them); each takes the same tables
and writes (loss, scored examples, examples) for its part.
"""

import numba
import numpy as np
from numba import njit, prange

from lm_experiments.kernels import tables
from lm_experiments.kernels.cpu import cbow_part, skipgram_part
from lm_experiments.kernels.shared_negatives import cbow_shared_part, center_shared_part, skipgram_shared_part


@njit(nogil=True, cache=True)
def _hot_copies(outputs, threads):
    """(threads, H, d): every thread's private copy of the hot rows, as they stand before the chunk."""
    copies = np.empty((threads, outputs.hot.shape[0], outputs.rows.shape[1]), outputs.rows.dtype)
    for thread in range(threads):
        for h in range(outputs.hot.shape[0]):
            copies[thread, h] = outputs.rows[outputs.hot[h]]
    return copies


@njit(nogil=True, cache=True)
def _merge_hot_rows(outputs, copies):
    """Add every thread's change to its copy of the hot rows into the shared rows (one thread, after all)."""
    rows, hot = outputs.rows, outputs.hot
    for h in range(hot.shape[0]):
        start = rows[hot[h]].copy()
        for thread in range(copies.shape[0]):
            for k in range(rows.shape[1]):
                rows[hot[h], k] += copies[thread, h, k] - start[k]


@njit(nogil=True, parallel=True, cache=True, error_model="numpy")
def train_chunk(loop, windows, inputs, outputs, schedule, streams):
    """Train the tables in place on one chunk with the loop `loop.kind` names. Returns (parts, 3): per part the
    summed loss, the examples it was computed on, and the examples trained."""
    parts = streams.states.shape[0]
    results = np.zeros((parts, 3))
    copies = _hot_copies(outputs, streams.threads)
    n = windows.ids.shape[0]
    for part in prange(parts):
        lo, hi = n * part // parts, n * (part + 1) // parts
        local, state = copies[numba.get_thread_id()], streams.states[part]
        if loop.kind == tables.SKIPGRAM:
            skipgram_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, results[part])
        elif loop.kind == tables.CBOW:
            cbow_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, results[part])
        elif loop.kind == tables.SKIPGRAM_SHARED:
            skipgram_shared_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, results[part])
        elif loop.kind == tables.CENTER_SHARED:
            center_shared_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, results[part])
        else:
            cbow_shared_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, results[part])
    _merge_hot_rows(outputs, copies)
    return results
