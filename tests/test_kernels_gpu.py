"""The fused GPU (Triton) kernel against the autograd reference, step for step.

Without a GPU (CI) it runs under Triton's interpreter on CPU tensors: conftest.py sets
TRITON_INTERPRET=1 before Triton is imported when no CUDA device is present.
"""

import numpy as np
import pytest
import torch
from test_kernels import LR, kernel_order, make_task, reference_steps, windows

pytest.importorskip("triton")
from lm_experiments.kernels import gpu  # noqa: E402  (Triton first, or the test is skipped)

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def slot_of(center: int, context: int, window: int) -> int:
    """The kernel's window slot of a context position: -W..-1 -> 0..W-1, 1..W -> W..2W-1."""
    offset = context - center
    return offset + window - (offset > 0)


def test_one_program_equals_the_autograd_reference_step_for_step():
    batch = windows()
    fused, reference = make_task("skipgram", "negative"), make_task("skipgram", "negative")
    negative = fused.objective.negative
    generator = torch.Generator().manual_seed(4)
    # noise words per (center, window slot), distinct within each set (see test_kernels: word2vec writes a row
    # drawn twice in one example twice, autograd sums)
    noise = torch.stack([torch.randperm(len(fused.vocab) - 2, generator=generator)[:negative] + 2
                         for _ in range(batch.size * 2 * batch.window)]).view(batch.size, 2 * batch.window, negative)
    order = kernel_order(batch, cbow=False)
    sequence = np.stack([noise[center, slot_of(center, contexts[0], batch.window)].numpy()
                         for center, contexts in order])
    tables = [fused.encoder.embedder.embedding.weight, fused.objective.output.weight]
    before = tables[0].detach().clone()
    on_device = [t.detach().to(DEVICE).contiguous() for t in tables]
    loss = gpu.train_skipgram_negative(batch.ids.to(DEVICE), batch.sentence.to(DEVICE), batch.span.to(DEVICE),
                                       batch.window, *on_device, noise.to(DEVICE), LR,
                                       centers_per_program=batch.size)  # one program: the examples in order
    reference_steps(reference, batch, sequence.reshape(-1), cbow=False)
    for ours, theirs in zip(on_device, [reference.encoder.embedder.embedding.weight, reference.objective.output.weight],
                            strict=True):
        torch.testing.assert_close(ours.cpu(), theirs.detach(), atol=2e-6, rtol=1e-5)
    assert float(loss) > 0 and not torch.equal(on_device[0].cpu(), before)


def test_many_programs_cover_every_center_once():
    """Programs split the centers between them: in the interpreter they run one after another, so splitting
    a chunk between 4 programs must train exactly what one program does, every center once."""
    ids = torch.arange(2, 12)
    sentence = torch.arange(10) // 2                  # five two-word sentences: each word predicts its neighbour
    batch_args = (ids, sentence, torch.ones(10, dtype=torch.long), 2)
    one, many = make_task("skipgram", "negative"), make_task("skipgram", "negative")
    start = one.encoder.embedder.embedding.weight.detach().clone()
    noise = torch.randint(2, 40, (10, 4, 3), generator=torch.Generator().manual_seed(0))
    results = []
    for task, per_program in ((one, 10), (many, 3)):
        tables = [task.encoder.embedder.embedding.weight.detach().to(DEVICE).contiguous(),
                  task.objective.output.weight.detach().to(DEVICE).contiguous()]
        gpu.train_skipgram_negative(*(a.to(DEVICE) if torch.is_tensor(a) else a for a in batch_args), *tables,
                                    noise.to(DEVICE), LR, centers_per_program=per_program)
        results.append([t.cpu() for t in tables])
    changed = (results[0][0] != start).any(1)
    assert changed[2:12].all() and not changed[12:].any(), "every word's row trained once, no other"
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)
