"""Fused skip-gram steps on the GPU: one Triton launch per chunk, no Python per step, no host round trip.

Each program walks `centers_per_program` consecutive kept words of the chunk's
`WordWindows`; for each (center, context) pair in the center's span and sentence it
reads the context word's row, scores the center and that pair's noise words against
their output rows, writes each output row back as it goes and adds the accumulated
update to the context word's row after the example: word2vec's per-example
arithmetic and orientation, the same as the CPU loop (`cpu.py`). Programs run concurrently and write the shared tables
without locks (Hogwild), as word2vec's threads do.

The noise words are drawn for the whole chunk before the launch, on the device, from
the objective's own unigram^0.75 sampler (one (n, 2 x window, negative) tensor: a set
per center and window slot), so a seeded run draws the same noise and a test can hand
the kernel and the autograd reference the same draws.

Tested under Triton's interpreter (`TRITON_INTERPRET=1`, CPU tensors) against the
autograd reference; its speed on a GPU has to be measured on one (benchmarks/README.md).
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _softplus(x):
    """log(1 + e^x), without overflow: -log s(-x)."""
    return tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x)))


@triton.jit
def _skipgram_negative(ids, sentence, span, n, syn0, syn1, noise, lr, loss, dim,
                       WINDOW: tl.constexpr, NEGATIVE: tl.constexpr, CENTERS: tl.constexpr, BLOCK: tl.constexpr):
    program = tl.program_id(0)
    offsets = tl.arange(0, BLOCK)
    inside = offsets < dim
    total = 0.0
    for c in range(CENTERS):
        i = program * CENTERS + c
        if i < n:
            center = tl.load(ids + i).to(tl.int64)   # the word the window's context words predict
            reach = tl.load(span + i)
            own = tl.load(sentence + i)
            for slot in tl.static_range(2 * WINDOW):
                offset = slot - WINDOW + (slot >= WINDOW)   # -W..-1, 1..W
                j = i + offset
                clamped = tl.minimum(tl.maximum(j, 0), n - 1)    # read in bounds; `valid` discards it when out
                valid = (j >= 0) & (j < n) & (tl.abs(offset) <= reach) & (tl.load(sentence + clamped) == own)
                if valid:
                    context = tl.load(ids + j).to(tl.int64)
                    target = center
                    h = tl.load(syn0 + context * dim + offsets, mask=inside, other=0.0)
                    v = tl.load(syn1 + target * dim + offsets, mask=inside, other=0.0)
                    f = tl.sum(h * v)
                    g = (1.0 - tl.sigmoid(f)) * lr
                    work = g * v
                    tl.store(syn1 + target * dim + offsets, v + g * h, mask=inside)
                    total += _softplus(-f)       # -log s(f)
                    for t in tl.static_range(NEGATIVE):
                        word = tl.load(noise + (i * 2 * WINDOW + slot) * NEGATIVE + t).to(tl.int64)
                        if word != target:
                            v = tl.load(syn1 + word * dim + offsets, mask=inside, other=0.0)
                            f = tl.sum(h * v)
                            g = -tl.sigmoid(f) * lr
                            work += g * v
                            tl.store(syn1 + word * dim + offsets, v + g * h, mask=inside)
                            total += _softplus(f)    # -log s(-f)
                    tl.store(syn0 + context * dim + offsets, h + work, mask=inside)
    tl.store(loss + program, total)


def train_skipgram_negative(ids: torch.Tensor, sentence: torch.Tensor, span: torch.Tensor, window: int,
                            syn0: torch.Tensor, syn1: torch.Tensor, noise: torch.Tensor, lr: float,
                            centers_per_program: int = 32) -> torch.Tensor:
    """Train the tables in place on one chunk; returns the summed loss of the chunk's examples.

    ids, sentence, span (n,): the kept words (`WordWindows`); syn0 (V, d) input rows,
    syn1 (V, d) output rows; noise (n, 2 x window, k) noise words for every center and
    window slot. All on one device.
    """
    count = ids.numel()
    programs = max(1, triton.cdiv(count, centers_per_program))
    losses = torch.zeros(programs, dtype=torch.float32, device=syn0.device)
    if count:
        _skipgram_negative[(programs,)](ids, sentence, span, count, syn0, syn1, noise, lr, losses, syn0.shape[1],
                                        WINDOW=window, NEGATIVE=noise.shape[-1], CENTERS=centers_per_program,
                                        BLOCK=triton.next_power_of_2(syn0.shape[1]))
    return losses.sum()
