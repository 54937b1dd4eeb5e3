"""Fused word2vec-family training steps on the CPU: one compiled loop per (skip-gram | CBOW), Hogwild threads.

For each center word the loop reads its input rows, scores the target against the
output rows (negative sampling or the Huffman path of hierarchical softmax), writes
every output row back at once, and adds the accumulated input update to the input
rows after the example: word2vec's per-example arithmetic, `g = (label - sigmoid(h.v))
* lr`. The examples are exactly the autograd path's: the view's kept words, sentence
numbers and dynamic windows (`WordWindows`), walked center by center in corpus order.
In skip-gram the context word's row predicts the center, as in word2vec.c and gensim
(and our autograd `SkipGram`); fastText's center bag predicts each context word.

Inputs are generic "row bags" so one loop serves plain words and fastText: word w's
input vector is the mean (or sum) of `table[rows[w, :counts[w]]]` (for a word lookup,
its own row; for fastText, its row and its n-gram rows), and every one of those rows
takes the example's whole input update, as fastText and gensim apply it. CBOW's hidden
vector is the mean (or sum) of its context words' vectors, and each context row takes
the whole update too (word2vec's `neu1e`).

Threads take a chunk's centers in contiguous parts (a few per thread, handed out as
threads come free, as gensim's workers take jobs: `driver.py`) and update the shared
tables without locks ("Hogwild", as word2vec's and gensim's threads do). Each part draws its
noise words from its own 48-bit linear congruential generator (word2vec's constants),
seeded per chunk, so one thread is bit-for-bit reproducible for a seed. Noise words are
drawn from the objective's unigram^0.75 distribution with Walker's alias method
(`noise_table`); a draw equal to the target is skipped. The loss is
computed on every `loss_every`-th center only (a log per score is a large share of the
work) and reported as the mean over those examples.

A loop of our own rather than gensim's `word2vec_inner`: gensim's loops take sentences of
string tokens and its own model object, so they could not run on our examples, objectives
or fastText layout, nor be checked step for step against the autograd reference.
"""

import math

import numpy as np
from numba import njit

_LCG_MASK = np.uint64(2**48 - 1)


def noise_table(probs: np.ndarray) -> np.ndarray:
    """(V,) noise probabilities -> (2, V) Walker alias table: row 0 each column's threshold, row 1 its alias.

    A draw picks a column uniformly and keeps it if a second uniform falls below its
    threshold, else takes its alias: exact probabilities in two reads of a table that
    stays in cache, where bisecting a cumulative table (gensim's) costs ~17 dependent
    reads. Zero-probability words get threshold 0 and are nobody's alias: never drawn.
    """
    scaled = np.asarray(probs, dtype=np.float64) / np.sum(probs) * len(probs)
    threshold, alias = np.ones(len(probs)), np.arange(len(probs), dtype=np.float64)
    small, large = [i for i, q in enumerate(scaled) if q < 1.0], [i for i, q in enumerate(scaled) if q >= 1.0]
    while small and large:  # Vose's construction
        under, over = small.pop(), large.pop()
        threshold[under], alias[under] = scaled[under], over
        scaled[over] -= 1.0 - scaled[under]
        (small if scaled[over] < 1.0 else large).append(over)
    return np.stack([threshold, alias])  # the columns left over keep threshold 1 (only rounding left them)


def part_seeds(seed: int, parts: int) -> np.ndarray:
    """Independent generator states for `parts` threads from one seed (splitmix64)."""
    states = []
    for part in range(parts):
        z = (seed * 0x9E3779B97F4A7C15 + (part + 1) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        states.append((z ^ (z >> 31)) & (2**48 - 1))
    return np.array(states, dtype=np.uint64)


@njit(inline="always")
def _next_state(state):
    return (state * np.uint64(25214903917) + np.uint64(11)) & _LCG_MASK


@njit(inline="always")
def _uniform(state):
    """The next generator state and a uniform in [0, 1) from its high 32 bits."""
    state = _next_state(state)
    return state, np.float64(state >> np.uint64(16)) * (1.0 / 4294967296.0)


@njit(inline="always")
def _noise_word(table, state):
    """One draw from the alias table (`noise_table`); returns (word, generator state)."""
    state, u = _uniform(state)
    column = min(np.int64(u * table.shape[1]), table.shape[1] - 1)
    state, coin = _uniform(state)
    return (column if coin < table[0, column] else np.int64(table[1, column])), state


@njit(nogil=True, cache=True)
def noise_sequence(table, state, count):
    """The first `count` noise words a part seeded with `state` draws (for tests of the loops)."""
    words = np.empty(count, np.int64)
    for i in range(count):
        words[i], state = _noise_word(table, state)
    return words


@njit(inline="always")
def _add_composed(h, table, rows, counts, mean, word):
    """h += the input vector of `word`: the mean (or sum) of its rows."""
    count = counts[word]
    scale = np.float32(1.0 / count) if mean else np.float32(1.0)
    for r in range(count):
        row = table[rows[word, r]]
        for k in range(h.shape[0]):
            h[k] += scale * row[k]


@njit(inline="always")
def _add_to_rows(work, table, rows, counts, word):
    """Every row of `word` takes the whole update `work`."""
    for r in range(counts[word]):
        row = table[rows[word, r]]
        for k in range(work.shape[0]):
            row[k] += work[k]


@njit(inline="always")
def _dot(a, b):
    total = np.float32(0.0)
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@njit(inline="always")
def _logistic_gradient(score, label, weight, lr, with_loss):
    """(g, weighted -log likelihood if asked, else 0) of one logistic score: g = weight (label - s(score)) lr."""
    x = min(max(score, np.float32(-60.0)), np.float32(60.0))
    e = math.exp(-x)
    g = np.float32(weight * (label - np.float32(1.0) / (np.float32(1.0) + e)) * lr)
    if not with_loss:
        return g, 0.0
    return g, weight * (math.log1p(e) if label > np.float32(0.5) else x + math.log1p(e))  # -log s(x), -log s(-x)


@njit(inline="always")
def _logistic_step(h, out_row, f, g_label, lr, work, with_loss):
    """One logistic score f = h . out_row: work += g * out_row, out_row += g * h, g = (label - s(f)) * lr.
    Returns the -log likelihood (if asked)."""
    g, nll = _logistic_gradient(f, g_label, np.float32(1.0), lr, with_loss)
    for k in range(h.shape[0]):
        work[k] += g * out_row[k]
        out_row[k] += g * h[k]
    return nll


@njit(inline="always")
def _row(out, local, slot, row):
    """An output row: the thread's own copy for the few rows every thread keeps writing, else the shared one."""
    return local[slot[row]] if slot[row] >= 0 else out[row]


@njit(inline="always")
def _example_scratch(dim, negative, path_length):
    """A part's scratch for per-example steps: the composed input h, its update, an example's output words and
    their scores (the target and its noise words, or a Huffman path)."""
    return (np.empty(dim, np.float32), np.empty(dim, np.float32), np.empty(negative + 1, np.int64),
            np.empty(max(negative + 1, path_length), np.float32))


@njit(inline="always")
def _score_target(h, target, outputs, local, lr, state, words, scores, work, with_loss):
    """Score `target` from hidden vector h: update the output rows, accumulate the input update in `work`.

    An example's rows are all scored before any is written, so their loads from memory overlap; it
    differs from scoring and writing them one by one only when a noise word is drawn twice for one
    example (the second use then sees the row before the first update, as autograd's summed step does).
    Returns (loss, generator state).
    """
    loss = 0.0
    out, slot, negative = outputs.rows, outputs.slot, outputs.negative
    if not outputs.hierarchical:
        noise = outputs.noise
        words[0] = target
        for t in range(1, negative + 1):
            words[t], state = _noise_word(noise, state)
        for t in range(negative + 1):
            scores[t] = _dot(h, _row(out, local, slot, words[t]))
        for t in range(negative + 1):
            if t == 0 or words[t] != target:
                loss += _logistic_step(h, _row(out, local, slot, words[t]), scores[t],
                                       np.float32(1.0 if t == 0 else 0.0), lr, work, with_loss)
    else:
        codes, points = outputs.codes, outputs.points
        length = outputs.lengths[target]
        for step in range(length):
            scores[step] = _dot(h, _row(out, local, slot, points[target, step]))
        for step in range(length):
            loss += _logistic_step(h, _row(out, local, slot, points[target, step]), scores[step],
                                   np.float32(1.0 - codes[target, step]), lr, work, with_loss)
    return loss, state


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def skipgram_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, result):
    """Centers lo..hi-1 and every context word within their spans and sentences: the context word predicts
    the center (`loop.context_inputs`, word2vec's way) or the center predicts the context word (fastText's).
    `local` is this thread's copy of the hot output rows; result = (loss, scored examples, examples)."""
    ids, sentence, span = windows.ids, windows.sentence, windows.span
    table, rows, counts, mean = inputs.table, inputs.rows, inputs.counts, inputs.mean
    dim = table.shape[1]
    h, work, words, scores = _example_scratch(dim, outputs.negative, outputs.codes.shape[1])
    lr = np.float32(schedule.lr)
    loss, scored, examples = 0.0, 0, 0
    n = ids.shape[0]
    for i in range(lo, hi):
        with_loss = i % schedule.loss_every == 0
        for j in range(max(0, i - span[i]), min(n, i + span[i] + 1)):
            if j == i or sentence[j] != sentence[i]:
                continue
            word, target = (ids[j], ids[i]) if loop.context_inputs else (ids[i], ids[j])
            single = counts[word] == 1  # a plain word: its row is its vector, read and written in place
            own = table[rows[word, 0]]
            if single:
                vector = own
            else:
                h[:] = 0.0
                _add_composed(h, table, rows, counts, mean, word)
                vector = h
            work[:] = 0.0
            example_loss, state = _score_target(vector, target, outputs, local, lr, state, words, scores, work,
                                                with_loss)
            if single:
                for k in range(dim):
                    own[k] += work[k]
            else:
                _add_to_rows(work, table, rows, counts, word)
            examples += 1
            if with_loss:
                loss += example_loss
                scored += 1
    result[0], result[1], result[2] = loss, scored, examples


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def cbow_part(loop, windows, inputs, outputs, schedule, local, state, lo, hi, result):
    """Centers lo..hi-1: each is predicted from the mean (or sum) of the context words within its span."""
    ids, sentence, span, context_mean = windows.ids, windows.sentence, windows.span, loop.context_mean
    table, rows, counts, mean = inputs.table, inputs.rows, inputs.counts, inputs.mean
    dim = table.shape[1]
    h, work, words, scores = _example_scratch(dim, outputs.negative, outputs.codes.shape[1])
    lr = np.float32(schedule.lr)
    loss, scored, examples = 0.0, 0, 0
    n = ids.shape[0]
    for i in range(lo, hi):
        h[:] = 0.0
        context = 0
        first, last = max(0, i - span[i]), min(n, i + span[i] + 1)
        for j in range(first, last):
            if j != i and sentence[j] == sentence[i]:
                _add_composed(h, table, rows, counts, mean, ids[j])
                context += 1
        if context == 0:
            continue
        if context_mean:
            for k in range(dim):
                h[k] /= context
        with_loss = i % schedule.loss_every == 0
        work[:] = 0.0
        example_loss, state = _score_target(h, ids[i], outputs, local, lr, state, words, scores, work, with_loss)
        for j in range(first, last):
            if j != i and sentence[j] == sentence[i]:
                _add_to_rows(work, table, rows, counts, ids[j])
        examples += 1
        if with_loss:
            loss += example_loss
            scored += 1
    result[0], result[1], result[2] = loss, scored, examples
