"""GloVe's AdaGrad steps on the CPU, one cell at a time, Hogwild threads: glove.c's `glove` loop, compiled.

For each cell (word i, context j, count x): diff = w_i . w~_j + b_i + b~_j - log x,
f = min(1, (x / x_max)^alpha), loss 0.5 f diff^2; with g = eta f diff every component of
both rows moves by -g w_other / sqrt(G) (the other row as it was before the cell) and
adds (g w_other)^2 to G, and each bias by -g / sqrt(G_b), adding g^2. Word rows are
0..V-1 of the tables and context rows V..2V-1, as in `models/glove.py`, whose `fit` with
one cell per step is the readable reference this loop is tested against. These are
GloVe 1.2's steps; the current glove.c also clips every gradient component at 100 and
steps the biases by f diff / sqrt(G_b), without eta.

A batch of cells is cut into contiguous parts, one per thread at a time; threads update
the shared tables without locks, as glove.c's threads do. Single precision, as the
model's tables.
"""

import math

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")  # a diverging fit gives NaN, not an exception
def _cells(rows, cols, counts, start, end, weights, biases, weights_gradsq, biases_gradsq, size, x_max, alpha,
           eta):
    """Steps over cells start..end; returns their summed loss (before each cell's step)."""
    dim = weights.shape[1]
    loss = 0.0
    for i in range(start, end):
        word, context, count = rows[i], cols[i] + size, counts[i]
        w, c = weights[word], weights[context]
        gw, gc = weights_gradsq[word], weights_gradsq[context]
        dot = np.float32(0.0)
        for k in range(dim):
            dot += w[k] * c[k]
        diff = dot + biases[word] + biases[context] - np.float32(math.log(count))
        weight = np.float32(min((count / x_max) ** alpha, 1.0))
        weighted = weight * diff
        loss += 0.5 * weighted * diff
        scaled = np.float32(eta) * weighted
        for k in range(dim):
            step_w = scaled * c[k]
            step_c = scaled * w[k]
            w[k] -= step_w / math.sqrt(gw[k])
            c[k] -= step_c / math.sqrt(gc[k])
            gw[k] += step_w * step_w
            gc[k] += step_c * step_c
        biases[word] -= scaled / math.sqrt(biases_gradsq[word])
        biases[context] -= scaled / math.sqrt(biases_gradsq[context])
        biases_gradsq[word] += scaled * scaled
        biases_gradsq[context] += scaled * scaled
    return loss


@njit(cache=True, parallel=True)
def train_cells(rows, cols, counts, weights, biases, weights_gradsq, biases_gradsq, size, x_max, alpha, eta,
                parts):
    """Train on every cell of a batch (rows, cols (P,) int64, counts (P,) float32), in `parts` contiguous parts run by
    the threads Numba has; returns the summed loss."""
    total = len(counts)
    losses = np.zeros(parts)
    for part in prange(parts):
        start, end = total * part // parts, total * (part + 1) // parts
        losses[part] = _cells(rows, cols, counts, start, end, weights, biases, weights_gradsq, biases_gradsq, size,
                              x_max, alpha, eta)
    return losses.sum()


def thread_count() -> int:
    return numba.config.NUMBA_NUM_THREADS
