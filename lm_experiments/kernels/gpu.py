"""Fused word2vec-family training steps on the GPU: one Triton launch per chunk, no Python per step.

The same examples and arithmetic as the CPU loops (`cpu.py`): skip-gram (the context
word's input vector predicts the center, as in word2vec; fastText's center bag predicts
each context word) and CBOW (the mean or sum of the context words' vectors predicts the
center), scored with negative sampling or hierarchical softmax. Inputs are the same
"row bags" (`InputRows`): a word's input vector is the mean (or sum) of
`table[rows[w, :counts[w]]]`, its own row for a word lookup, its row and its n-gram rows
for fastText, and every one of those rows takes the example's whole input update.

Each program walks `centers_per_program` consecutive kept words of the chunk's
`WordWindows`; for each example it composes the input vector, scores the target against
the output rows (`g = (label - sigmoid(h.v)) * lr`), writing every output row back as it
goes, and adds the accumulated update to the input rows after the example. Programs run
concurrently and write the shared tables without locks (Hogwild), as word2vec's threads
do.

Noise words are drawn for the whole chunk before the launch, on the device, from the
objective's own unigram^0.75 sampler: (n, 2 x window, k) for skip-gram, a set per center
and window slot, and (n, k) for CBOW, a set per center. A seeded run draws the same noise,
and a test can hand the kernel and the autograd reference the same draws. The loss of
every example is summed in the kernel (a softplus per score, small beside the row reads),
with the number of examples, per program.

Tested under Triton's interpreter (`TRITON_INTERPRET=1`, CPU tensors) against the
autograd reference; its speed on a GPU has to be measured on one (benchmarks/README.md).
"""

import torch
import triton
import triton.language as tl

from lm_experiments.kernels.tables import CBOW, SKIPGRAM, InputSide, Loop, Windows


@triton.jit
def _softplus(x):
    """log(1 + e^x), without overflow."""
    return tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x)))


@triton.jit
def _compose(table, rows, counts, word, row_stride, dim, offsets, inside, BLOCK: tl.constexpr, MEAN: tl.constexpr):
    """(BLOCK,) the input vector of `word`: the mean (or sum) of its rows."""
    count = tl.load(counts + word)
    h = tl.zeros([BLOCK], dtype=tl.float32)
    for r in range(count):
        row = tl.load(rows + word * row_stride + r).to(tl.int64)
        h += tl.load(table + row * dim + offsets, mask=inside, other=0.0)
    if MEAN:
        h = h / count.to(tl.float32)
    return h


@triton.jit
def _add_to_rows(table, rows, counts, word, row_stride, dim, work, offsets, inside):
    """Every row of `word` takes the whole update `work` (a row listed twice takes it twice)."""
    count = tl.load(counts + word)
    for r in range(count):
        row = tl.load(rows + word * row_stride + r).to(tl.int64)
        at = table + row * dim + offsets
        tl.store(at, tl.load(at, mask=inside, other=0.0) + work, mask=inside)


@triton.jit
def _logistic_step(h, out, row, label, lr, dim, offsets, inside):
    """One score f = h . out[row]: writes out[row] += g h with g = (label - s(f)) lr; returns (g out[row], -log
    likelihood)."""
    at = out + row * dim + offsets
    v = tl.load(at, mask=inside, other=0.0)
    f = tl.sum(h * v)
    g = (label - tl.sigmoid(f)) * lr
    tl.store(at, v + g * h, mask=inside)
    return g * v, _softplus(f) - label * f   # -log s(f) for label 1, -log s(-f) for label 0


@triton.jit
def _score_target(h, target, out, noise, codes, points, lengths, path_stride, lr, dim, offsets, inside,
                  BLOCK: tl.constexpr, NEGATIVE: tl.constexpr, HIERARCHICAL: tl.constexpr):
    """Score `target` from h (the example's noise words at `noise`); returns (input update, loss)."""
    work = tl.zeros([BLOCK], dtype=tl.float32)
    loss = 0.0
    if HIERARCHICAL:
        for step in range(tl.load(lengths + target)):
            node = tl.load(points + target * path_stride + step).to(tl.int64)
            label = 1.0 - tl.load(codes + target * path_stride + step).to(tl.float32)
            update, cost = _logistic_step(h, out, node, label, lr, dim, offsets, inside)
            work += update
            loss += cost
    else:
        update, cost = _logistic_step(h, out, target, 1.0, lr, dim, offsets, inside)
        work += update
        loss += cost
        for t in tl.static_range(NEGATIVE):
            word = tl.load(noise + t).to(tl.int64)
            if word != target:   # word2vec skips a draw of the target itself
                update, cost = _logistic_step(h, out, word, 0.0, lr, dim, offsets, inside)
                work += update
                loss += cost
    return work, loss


@triton.jit
def _context_at(ids, sentence, n, i, own, reach, slot, WINDOW: tl.constexpr):
    """Window slot `slot` of center i: (position j, whether it is a context word of i)."""
    offset = slot - WINDOW + (slot >= WINDOW)   # -W..-1, 1..W
    j = i + offset
    clamped = tl.minimum(tl.maximum(j, 0), n - 1)   # read in bounds; `valid` discards it when out
    valid = (j >= 0) & (j < n) & (tl.abs(offset) <= reach) & (tl.load(sentence + clamped) == own)
    return clamped, valid


@triton.jit
def _skipgram_center(i, ids, sentence, span, n, table, rows, counts, row_stride, out, noise, codes, points, lengths,
                     path_stride, lr, dim, offsets, inside, WINDOW: tl.constexpr, NEGATIVE: tl.constexpr,
                     HIERARCHICAL: tl.constexpr, CONTEXT_INPUTS: tl.constexpr, MEAN: tl.constexpr,
                     BLOCK: tl.constexpr):
    """Center i's skip-gram examples, one per context word; returns (summed loss, examples)."""
    center = tl.load(ids + i).to(tl.int64)
    reach = tl.load(span + i)
    own = tl.load(sentence + i)
    total = 0.0
    examples = 0
    for slot in tl.static_range(2 * WINDOW):
        j, valid = _context_at(ids, sentence, n, i, own, reach, slot, WINDOW)
        if valid:
            context = tl.load(ids + j).to(tl.int64)
            if CONTEXT_INPUTS:   # word2vec: the context word predicts the center
                word = context
                target = center
            else:                # fastText: the center's bag predicts the context word
                word = center
                target = context
            h = _compose(table, rows, counts, word, row_stride, dim, offsets, inside, BLOCK, MEAN)
            work, loss = _score_target(h, target, out, noise + (i * 2 * WINDOW + slot) * NEGATIVE, codes, points,
                                       lengths, path_stride, lr, dim, offsets, inside, BLOCK, NEGATIVE, HIERARCHICAL)
            _add_to_rows(table, rows, counts, word, row_stride, dim, work, offsets, inside)
            total += loss
            examples += 1
    return total, examples


@triton.jit
def _cbow_center(i, ids, sentence, span, n, table, rows, counts, row_stride, out, noise, codes, points, lengths,
                 path_stride, lr, dim, offsets, inside, WINDOW: tl.constexpr, NEGATIVE: tl.constexpr,
                 HIERARCHICAL: tl.constexpr, CONTEXT_MEAN: tl.constexpr, MEAN: tl.constexpr, BLOCK: tl.constexpr):
    """Center i's CBOW example (none without a context word); returns (loss, examples)."""
    center = tl.load(ids + i).to(tl.int64)
    reach = tl.load(span + i)
    own = tl.load(sentence + i)
    h = tl.zeros([BLOCK], dtype=tl.float32)
    context = 0
    for slot in tl.static_range(2 * WINDOW):
        j, valid = _context_at(ids, sentence, n, i, own, reach, slot, WINDOW)
        if valid:
            word = tl.load(ids + j).to(tl.int64)
            h += _compose(table, rows, counts, word, row_stride, dim, offsets, inside, BLOCK, MEAN)
            context += 1
    total = 0.0
    if context > 0:
        if CONTEXT_MEAN:
            h = h / context.to(tl.float32)
        work, total = _score_target(h, center, out, noise + i * NEGATIVE, codes, points, lengths, path_stride, lr,
                                    dim, offsets, inside, BLOCK, NEGATIVE, HIERARCHICAL)
        for slot in tl.static_range(2 * WINDOW):   # word2vec's neu1e: every context row takes it whole
            j, valid = _context_at(ids, sentence, n, i, own, reach, slot, WINDOW)
            if valid:
                word = tl.load(ids + j).to(tl.int64)
                _add_to_rows(table, rows, counts, word, row_stride, dim, work, offsets, inside)
    return total, (context > 0).to(tl.int32)


@triton.jit
def _train_chunk(ids, sentence, span, n, table, rows, counts, row_stride, out, noise, codes, points, lengths,
                 path_stride, lr, results, dim, WINDOW: tl.constexpr, NEGATIVE: tl.constexpr,
                 HIERARCHICAL: tl.constexpr, CBOW: tl.constexpr, CONTEXT_INPUTS: tl.constexpr,
                 CONTEXT_MEAN: tl.constexpr, MEAN: tl.constexpr, CENTERS: tl.constexpr, BLOCK: tl.constexpr):
    """Program p trains centers p x CENTERS .. (p + 1) x CENTERS - 1 and stores (summed loss, examples)."""
    program = tl.program_id(0)
    offsets = tl.arange(0, BLOCK)
    inside = offsets < dim
    total = 0.0
    examples = 0
    for c in range(CENTERS):
        i = program * CENTERS + c
        if i < n:
            if CBOW:
                loss, count = _cbow_center(i, ids, sentence, span, n, table, rows, counts, row_stride, out, noise,
                                           codes, points, lengths, path_stride, lr, dim, offsets, inside, WINDOW,
                                           NEGATIVE, HIERARCHICAL, CONTEXT_MEAN, MEAN, BLOCK)
            else:
                loss, count = _skipgram_center(i, ids, sentence, span, n, table, rows, counts, row_stride, out,
                                               noise, codes, points, lengths, path_stride, lr, dim, offsets, inside,
                                               WINDOW, NEGATIVE, HIERARCHICAL, CONTEXT_INPUTS, MEAN, BLOCK)
            total += loss
            examples += count
    tl.store(results + 2 * program, total)
    tl.store(results + 2 * program + 1, examples.to(tl.float32))


def train_chunk(loop: Loop, windows: Windows, inputs: InputSide, output, noise: torch.Tensor | None, lr: float,
                centers_per_program: int = 32, warps: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Train the tables in place on one chunk; returns (summed loss, examples) as device scalars.

    The named tables of `tables.py` with tensors in their fields: `loop` a per-example loop (SKIPGRAM or
    CBOW); `windows` the kept words (`WordWindows`); `inputs` the bags of rows (table (R, d), rows (V, S),
    counts (V,)); `output` the objective's `FusedOutputSide` (output.rows (O, d)); `noise` (n, 2 x window, k)
    for skip-gram or (n, k) for CBOW, None for hierarchical softmax. All on one device, contiguous.
    """
    if loop.kind not in (SKIPGRAM, CBOW):
        raise ValueError(f"the GPU kernel runs word2vec's per-example loops, not loop kind {loop.kind}")
    ids, table, rows = windows.ids, inputs.table, inputs.rows
    count = ids.numel()
    programs = max(1, triton.cdiv(count, centers_per_program))
    results = torch.zeros((programs, 2), dtype=torch.float32, device=table.device)
    if count:
        noise = output.codes if noise is None else noise.contiguous()
        common = (ids, windows.sentence, windows.span, count, table, rows, inputs.counts, rows.stride(0), output.rows,
                  noise, output.codes, output.points, output.lengths, output.codes.stride(0), lr, results,
                  table.shape[1])
        _train_chunk[(programs,)](*common, WINDOW=windows.window, NEGATIVE=output.negative,
                                  HIERARCHICAL=output.hierarchical, CBOW=loop.kind == CBOW,
                                  CONTEXT_INPUTS=loop.context_inputs, CONTEXT_MEAN=loop.context_mean,
                                  MEAN=inputs.mean, CENTERS=centers_per_program,
                                  BLOCK=triton.next_power_of_2(table.shape[1]), num_warps=warps)
    totals = results.sum(0)
    return totals[0], totals[1]
