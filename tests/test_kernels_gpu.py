"""The fused GPU (Triton) kernel against the autograd reference, step for step.

Without a GPU (CI) it runs under Triton's interpreter on CPU tensors: conftest.py sets
TRITON_INTERPRET=1 before Triton is imported when no CUDA device is present.
"""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT
from test_kernels import ENCODERS, LR, OBJECTIVES, fit, kernel_order, make_task, reference_steps, windows

from lm_experiments.data.batches import ContextBatch, WordWindows
from lm_experiments.errors import UserError
from lm_experiments.updaters.fused import FusedGPU, kernel_unsupported

pytest.importorskip("triton")

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def slot_of(center: int, context: int, window: int) -> int:
    """The kernel's window slot of a context position: -W..-1 -> 0..W-1, 1..W -> W..2W-1."""
    offset = context - center
    return offset + window - (offset > 0)


def on_device(batch):
    return dataclasses.replace(batch, ids=batch.ids.to(DEVICE), sentence=batch.sentence.to(DEVICE),
                               span=batch.span.to(DEVICE))


def noise_sets(task, batch, cbow: bool) -> torch.Tensor:
    """Noise words per (center, window slot) for skip-gram, per center for CBOW, distinct within each set (see
    test_kernels: word2vec writes a row drawn twice in one example twice, autograd sums)."""
    negative = task.objective.negative
    per_center = 1 if cbow else 2 * batch.window
    generator = torch.Generator().manual_seed(4)
    sets = torch.stack([torch.randperm(len(task.vocab) - 2, generator=generator)[:negative] + 2
                        for _ in range(batch.size * per_center)])
    return sets.view(batch.size, negative) if cbow else sets.view(batch.size, 2 * batch.window, negative)


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_one_program_equals_the_autograd_reference_step_for_step(encoder, objective):
    batch, cbow = windows(), "cbow" in encoder
    fused, reference = make_task(encoder, objective), make_task(encoder, objective)
    order = kernel_order(batch, cbow)
    noise, sequence = None, np.zeros(0, np.int64)
    if objective == "negative":
        noise = noise_sets(fused, batch, cbow)
        sequence = np.concatenate([(noise[center] if cbow else noise[center, slot_of(center, contexts[0],
                                                                                     batch.window)]).numpy()
                                   for center, contexts in order])
    before = [p.detach().clone() for p in fused.parameters()]
    fused.to(DEVICE)
    loss, examples = FusedGPU(centers_per_program=batch.size).launch(  # one program: the examples in order
        fused, on_device(batch), None if noise is None else noise.to(DEVICE), LR)
    reference_steps(reference, batch, sequence, cbow)
    assert int(examples) == len(order)
    for (name, ours), theirs, start in zip(fused.named_parameters(), reference.parameters(), before, strict=True):
        torch.testing.assert_close(ours.detach().cpu(), theirs.detach(), atol=2e-6, rtol=1e-5, msg=name)
        assert not torch.equal(ours.detach().cpu(), start), f"the kernel trained {name}"
    assert float(loss) > 0


def test_the_summed_loss_is_the_references_loss_before_each_step():
    """The kernel's loss is each example's -log likelihood as it is scored: with a learning rate of zero nothing
    moves, so it is the reference's summed loss over the same examples and noise."""
    batch = windows()
    task = make_task("cbow", "negative")
    noise = noise_sets(task, batch, cbow=True)
    order = kernel_order(batch, cbow=True)
    loss, _ = FusedGPU(centers_per_program=4).launch(task.to(DEVICE), on_device(batch), noise.to(DEVICE), 0.0)
    task.cpu()
    draws = iter(noise[[center for center, _ in order]])
    task.objective.sample_noise = lambda shape, device: next(draws).view(shape)
    with torch.no_grad():
        expected = sum(float(task.example_losses(ContextBatch(batch.ids[[center]], batch.ids[contexts][None],
                                                              torch.ones(1, len(contexts), dtype=torch.bool))).sum())
                       for center, contexts in order)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("encoder, objective", [("skipgram", "negative"), ("cbow", "hierarchical")])
def test_many_programs_cover_every_center_once(encoder, objective):
    """Programs split the centers between them: in the interpreter they run one after another, so splitting
    a chunk between 4 programs must train exactly what one program does, every center once."""
    sentence = torch.arange(10) // 2                  # five two-word sentences: each word predicts its neighbour
    batch = WordWindows(ids=torch.arange(2, 12), sentence=sentence, span=torch.ones(10, dtype=torch.long), window=2,
                        n_words=10)
    noise = torch.randint(2, 40, (10, 4, 3) if encoder == "skipgram" else (10, 3),
                          generator=torch.Generator().manual_seed(0)) if objective == "negative" else None
    one, many = make_task(encoder, objective), make_task(encoder, objective)
    start = one.model.embedder.word_vectors().detach().clone()
    results = []
    for task, per_program in ((one, 10), (many, 3)):
        task.to(DEVICE)
        _, examples = FusedGPU(centers_per_program=per_program).launch(
            task, on_device(batch), None if noise is None else noise.to(DEVICE), LR)
        assert int(examples) == 10
        results.append([p.detach().cpu() for p in task.parameters()])
    changed = (one.model.embedder.word_vectors().detach().cpu() != start).any(1)
    assert changed[2:12].all() and not changed[12:].any(), "every word's vector trained once, no other"
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("encoder, objective", [("skipgram", "negative"), ("fasttext_cbow", "negative"),
                                                ("cbow", "hierarchical")])
def test_the_training_loop_drives_the_kernel_with_its_own_noise(encoder, objective, monkeypatch):
    """Through Lightning: the updater draws the chunk's noise in the shape its model reads, trains every
    parameter, and logs the loss the kernel summed."""
    if DEVICE == "cpu":  # the interpreter runs on CPU tensors; only the CUDA check stands in the way
        monkeypatch.setattr(FusedGPU, "unsupported", staticmethod(kernel_unsupported))
    task = make_task(encoder, objective, FusedGPU(centers_per_program=4))
    before = [p.detach().clone() for p in task.parameters()]
    fit(task, [on_device(windows())], accelerator="gpu" if DEVICE == "cuda" else "cpu")
    for start, trained in zip(before, task.parameters(), strict=True):
        assert not torch.equal(start, trained.detach().cpu())
    loss = float(task.trainer.callback_metrics["train/loss"])
    assert 0 < loss < 10 and np.isfinite(loss)


@pytest.mark.slow
def test_the_kernel_compiles_for_hopper_without_spilling(tmp_path):
    """The interpreter runs the kernel as Python, so it lets through what only the compiler checks (a value
    whose type differs between branches, a constexpr misused): compile both loops and objectives for sm_90, as a
    GPU machine would, and check that no thread spills to local memory (a run-time-indexed array, or too many
    registers, would)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path / "triton")
    pairs = ["skipgram-negative", "cbow-hierarchical"]  # both loops, both objectives (their code is shared)
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "hopper_compile.py"), *pairs],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    variants = json.loads(result.stdout)
    assert sorted(variants) == sorted(pairs)
    for name, usage in variants.items():
        assert usage["local"] == 0 and 0 < usage["reg"] <= 255, (name, usage)


def test_warps_must_be_a_power_of_two():
    with pytest.raises(UserError, match="task.updater.warps must be a power of two"):
        FusedGPU(warps=3)
