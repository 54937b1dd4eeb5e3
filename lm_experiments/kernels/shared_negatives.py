"""Fused word2vec-family steps with noise words shared: one draw of K noise words serves several examples.

word2vec draws K noise words for every (input, target) pair, so every pair reads and
writes K + 1 output rows on its own. Ji et al. (2016, pWord2Vec) draw once per center
word and let all the examples around it share the draw: the rows they touch are then
read once and written once per draw, and the scores become small matrix products. Each
loop here is that idea for one kind of example:

- skip-gram, context words predicting the center (word2vec's): the window's M context
  rows X against the center's row and the noise rows Y (1 + K of them):
  S = X Y^T, dX = G Y, dY = G^T X with G = (label - s(S)) * lr  (Ji et al.);
- fastText's skip-gram, the center's bag predicting each context word: one input h
  against the M context rows and D noise rows (D a few times K, each weighted K / D once
  for every context word it serves: in expectation the M pairs' objective), at M + D
  scores instead of M (1 + K), the bag composed and updated once per center instead of
  once per pair. The one input sees only this draw: with D = K it would meet a fifth of
  the noise words it meets per pair (SimLex-999 fell by 0.03 on text8-head; D = 3K kept
  the per-example kernel's quality);
- CBOW: `centers` consecutive centers take one step together from the tables as they
  stand before it, sharing one draw; their context rows are read into scratch once and
  written back once, each with the sum of the updates of the centers it serves.

A noise word equal to an example's target is left out of that example, as word2vec
skips it. Each example's input update is applied to every row of its bag (fastText's and
word2vec's convention); the parts, the per-thread hot rows (`driver.py`) and the generator
(`cpu.py`) are those of the per-example loops. These are different SGD trajectories from word2vec's per-example
steps (`cpu.py` keeps those exact); tests check each loop against an autograd
implementation of its own objective, step for step.
"""

import numpy as np
from numba import njit

from lm_experiments.kernels.cpu import _add_composed, _add_to_rows, _dot, _logistic_gradient, _noise_word, _row


@njit(inline="always")
def _compose(x, table, rows, counts, mean, word):
    """x = the input vector of `word` (its own row, or the mean/sum of its bag)."""
    if counts[word] == 1:
        x[:] = table[rows[word, 0]]
    else:
        x[:] = 0.0
        _add_composed(x, table, rows, counts, mean, word)


@njit(inline="always")
def _context_words(ids, sentence, span, i, limit, words):
    """words[:m] = the ids of center i's context words (within its span and its sentence, at most `limit`);
    returns m."""
    m = 0
    for j in range(max(0, i - span[i]), min(ids.shape[0], i + span[i] + 1)):
        if j != i and sentence[j] == sentence[i] and m < limit:
            words[m] = ids[j]
            m += 1
    return m


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def skipgram_shared_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, result):
    """Centers lo..hi-1 with one draw of K noise words per center, shared by all its context words
    (Ji et al. 2016, pWord2Vec): the window's M context rows X (M, d) against the center's row and the noise
    rows Y (1 + K, d) as three small matrix products, S = X Y^T, dX = G Y, dY = G^T X with G = (label -
    s(S)) * lr, every row read once and written once per center instead of once per pair. Skip-gram with
    context words as inputs (word2vec's), negative sampling only."""
    ids, sentence, span, window = windows.ids, windows.sentence, windows.span, windows.window
    table, rows, counts, mean = inputs.table, inputs.rows, inputs.counts, inputs.mean
    out, slot, noise = outputs.rows, outputs.slot, outputs.noise
    dim = table.shape[1]
    outputs_k = outputs.negative + 1
    inputs_x = np.empty((2 * window, dim), np.float32)     # composed input vectors (bags); plain words are read
    deltas = np.empty((2 * window, dim), np.float32)       # dX
    scores = np.empty((2 * window, outputs_k), np.float32)  # S, then G
    context = np.empty(2 * window, np.int64)
    words = np.empty(outputs_k, np.int64)
    labels = np.empty(outputs_k, np.float32)
    lr = np.float32(schedule.lr)
    loss, scored, examples = 0.0, 0, 0
    for i in range(lo, hi):
        m = _context_words(ids, sentence, span, i, 2 * window, context)
        if m == 0:
            continue
        target = ids[i]
        words[0], labels[0] = target, np.float32(1.0)
        for t in range(1, outputs_k):
            words[t], state = _noise_word(noise, state)
            labels[t] = np.float32(0.0) if words[t] != target else np.float32(-1.0)  # -1: skipped, as per pair
        for c in range(m):
            _compose(inputs_x[c], table, rows, counts, mean, context[c])
        for c in range(m):                                                    # S = X Y^T
            for t in range(outputs_k):
                scores[c, t] = _dot(inputs_x[c], _row(out, local, slot, words[t]))
        with_loss = i % schedule.loss_every == 0
        for c in range(m):                                                    # G = (label - s(S)) lr
            for t in range(outputs_k):
                if labels[t] < np.float32(0.0):
                    scores[c, t] = np.float32(0.0)
                    continue
                scores[c, t], nll = _logistic_gradient(scores[c, t], labels[t], np.float32(1.0), lr, with_loss)
                loss += nll
        for c in range(m):                                                    # dX = G Y (with Y before its step)
            delta = deltas[c]
            delta[:] = 0.0
            for t in range(outputs_k):
                g = scores[c, t]
                row = _row(out, local, slot, words[t])
                for k in range(dim):
                    delta[k] += g * row[k]
        for t in range(outputs_k):                                            # Y += G^T X
            row = _row(out, local, slot, words[t])
            for c in range(m):
                g = scores[c, t]
                x = inputs_x[c]
                for k in range(dim):
                    row[k] += g * x[k]
        for c in range(m):                                                    # X += dX
            _add_to_rows(deltas[c], table, rows, counts, context[c])
        examples += m
        if with_loss:
            scored += m
    result[0], result[1], result[2] = loss, scored, examples


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def center_shared_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, result):
    """Centers lo..hi-1, fastText's skip-gram with one draw of `loop.draws` noise words per center: the center's
    input h against its M context rows (label 1) and the noise rows (label 0, each weighted K / draws once per
    context word it is not equal to: in expectation the pairs' K noise words each), dh = sum_t g_t y_t,
    y_t += g_t h, and every row of the bag takes dh once."""
    ids, sentence, span, window, draws = windows.ids, windows.sentence, windows.span, windows.window, loop.draws
    table, rows, counts, mean = inputs.table, inputs.rows, inputs.counts, inputs.mean
    out, slot, noise = outputs.rows, outputs.slot, outputs.noise
    dim = table.shape[1]
    h = np.empty(dim, np.float32)
    dh = np.empty(dim, np.float32)
    share = np.float32(outputs.negative / draws)
    words = np.empty(2 * window + draws, np.int64)    # the M context words, then the noise words
    grads = np.empty(2 * window + draws, np.float32)
    lr = np.float32(schedule.lr)
    loss, scored, examples = 0.0, 0, 0
    for i in range(lo, hi):
        m = _context_words(ids, sentence, span, i, 2 * window, words)
        if m == 0:
            continue
        scored_here = m + draws
        for t in range(m, scored_here):
            words[t], state = _noise_word(noise, state)
        _compose(h, table, rows, counts, mean, ids[i])
        with_loss = i % schedule.loss_every == 0
        for t in range(scored_here):
            label, weight = np.float32(1.0), np.float32(1.0)
            if t >= m:  # a noise word stands for K / draws of a pair's K, in every pair whose context it is not
                label, weight = np.float32(0.0), np.float32(0.0)
                for c in range(m):
                    if words[c] != words[t]:
                        weight += share
            grads[t], nll = _logistic_gradient(_dot(h, _row(out, local, slot, words[t])), label, weight, lr,
                                               with_loss)
            loss += nll
        dh[:] = 0.0
        for t in range(scored_here):                                          # dh = G Y (Y before its step)
            g, row = grads[t], _row(out, local, slot, words[t])
            for k in range(dim):
                dh[k] += g * row[k]
        for t in range(scored_here):                                          # Y += G h
            g, row = grads[t], _row(out, local, slot, words[t])
            for k in range(dim):
                row[k] += g * h[k]
        _add_to_rows(dh, table, rows, counts, ids[i])
        examples += m
        if with_loss:
            scored += m
    result[0], result[1], result[2] = loss, scored, examples


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def cbow_shared_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, result):
    """Centers lo..hi-1 in steps of `loop.centers` consecutive ones sharing one draw of K noise words: the input
    vectors of the positions the step reads are gathered once (X), each center's hidden vector h_c is the mean
    (or sum) of its context's, G = (label - s(H Y^T)) lr, dH = G Y, the output rows take G^T H and each
    position's rows take the sum of dh_c over the centers whose context it is in."""
    ids, sentence, span, window = windows.ids, windows.sentence, windows.span, windows.window
    centers, context_mean = loop.centers, loop.context_mean
    table, rows, counts, mean = inputs.table, inputs.rows, inputs.counts, inputs.mean
    out, slot, noise, negative = outputs.rows, outputs.slot, outputs.noise, outputs.negative
    dim = table.shape[1]
    places = centers + 2 * window
    x = np.empty((places, dim), np.float32)       # input vectors of positions first..last-1
    dx = np.empty((places, dim), np.float32)      # their updates
    hidden = np.empty((centers, dim), np.float32)
    dh = np.empty(dim, np.float32)
    grads = np.empty((centers, negative + 1), np.float32)
    noise_words = np.empty(negative, np.int64)
    reach = np.empty((centers, 2), np.int64)      # each center's context: positions [reach[c, 0], reach[c, 1]), less it
    lr = np.float32(schedule.lr)
    loss, scored, examples = 0.0, 0, 0
    n = ids.shape[0]
    for start in range(lo, hi, centers):
        stop = min(hi, start + centers)
        first, last = max(0, start - window), min(n, stop + window)
        used = 0
        for i in range(start, stop):
            a, b = max(0, i - span[i]), min(n, i + span[i] + 1)
            while sentence[a] != sentence[i]:   # sentences are runs of positions: the context is a range
                a += 1
            while sentence[b - 1] != sentence[i]:
                b -= 1
            reach[i - start, 0], reach[i - start, 1] = a, b
            used += b - a > 1
        if used == 0:
            continue
        for p in range(first, last):
            _compose(x[p - first], table, rows, counts, mean, ids[p])
        dx[: last - first] = 0.0
        for t in range(negative):
            noise_words[t], state = _noise_word(noise, state)
        for i in range(start, stop):                                          # H, S and G
            c, a, b = i - start, reach[i - start, 0], reach[i - start, 1]
            if b - a <= 1:
                continue
            h = hidden[c]
            h[:] = 0.0
            for p in range(a, b):
                if p != i:
                    for k in range(dim):
                        h[k] += x[p - first, k]
            if context_mean:
                scale = np.float32(1.0 / (b - a - 1))
                for k in range(dim):
                    h[k] *= scale
            with_loss = i % schedule.loss_every == 0
            for t in range(negative + 1):
                word = ids[i] if t == 0 else noise_words[t - 1]
                if t > 0 and word == ids[i]:
                    grads[c, t] = np.float32(0.0)
                    continue
                label = np.float32(1.0) if t == 0 else np.float32(0.0)
                grads[c, t], nll = _logistic_gradient(_dot(h, _row(out, local, slot, word)), label,
                                                      np.float32(1.0), lr, with_loss)
                loss += nll
            examples += 1
            scored += with_loss
        for i in range(start, stop):                                          # dX from dH = G Y (Y before its step)
            c, a, b = i - start, reach[i - start, 0], reach[i - start, 1]
            if b - a <= 1:
                continue
            dh[:] = 0.0
            for t in range(negative + 1):
                g, row = grads[c, t], _row(out, local, slot, ids[i] if t == 0 else noise_words[t - 1])
                for k in range(dim):
                    dh[k] += g * row[k]
            for p in range(a, b):
                if p != i:
                    for k in range(dim):
                        dx[p - first, k] += dh[k]
        for i in range(start, stop):                                          # Y += G^T H
            c, a, b = i - start, reach[i - start, 0], reach[i - start, 1]
            if b - a <= 1:
                continue
            h = hidden[c]
            for t in range(negative + 1):
                g, row = grads[c, t], _row(out, local, slot, ids[i] if t == 0 else noise_words[t - 1])
                for k in range(dim):
                    row[k] += g * h[k]
        for p in range(first, last):                                          # X += dX
            _add_to_rows(dx[p - first], table, rows, counts, ids[p])
    result[0], result[1], result[2] = loss, scored, examples
