"""The shared-negative loops (`kernels/shared_negatives.py`) against autograd implementations of their own
objectives, step for step, on a tiny input with a repeated word; the option that picks them."""

import numba
import numpy as np
import pytest
import torch
from test_kernels import LR, kernel_order, make_task, run_kernel, windows

from lm_experiments.errors import user_error_in
from lm_experiments.kernels import cpu, driver, tables
from lm_experiments.models.base import InputRows
from lm_experiments.run.training import train
from lm_experiments.updaters.fused import input_side, loop_for, output_side, windows_of

softplus = torch.nn.functional.softplus


def bag(inputs: InputRows, word) -> torch.Tensor:
    """The rows whose mean (or sum) is `word`'s input vector."""
    return inputs.rows[word, : inputs.counts[word]]


def composed(table: torch.Tensor, inputs: InputRows, word) -> torch.Tensor:
    rows = table[bag(inputs, word)]
    return rows.mean(0) if inputs.mean else rows.sum(0)


def step_bag(table: torch.Tensor, inputs: InputRows, word, update: torch.Tensor) -> None:
    """Every row of the bag takes the whole update (twice where a row is in it twice), as the kernels apply it."""
    rows = bag(inputs, word)
    table.index_add_(0, rows, update.expand(len(rows), -1))


def skipgram_reference(table, outputs, inputs, batch, noise, negative) -> None:
    """Ji et al.'s skip-gram, one SGD step per center: the window's context vectors X against the center's output
    row and one draw of noise rows Y, loss sum_m [softplus(-x_m.y_0) + sum_k softplus(x_m.y_k)] (a noise word equal
    to the center left out)."""
    draws = iter(noise.view(-1, negative))
    for center, contexts in kernel_order(batch, cbow=True):
        target, noise_words = batch.ids[center], next(draws)
        x = torch.stack([composed(table, inputs, batch.ids[p]) for p in contexts]).requires_grad_(True)  # (M, d)
        table_out = outputs.detach().requires_grad_(True)
        scores = x @ table_out[torch.cat([target[None], noise_words])].T                                # (M, 1 + K)
        loss = softplus(-scores[:, 0]).sum() + (softplus(scores[:, 1:]) * (noise_words != target)).sum()
        loss.backward()
        with torch.no_grad():
            for m, p in enumerate(contexts):
                step_bag(table, inputs, batch.ids[p], -LR * x.grad[m])
            outputs -= LR * table_out.grad


def center_reference(table, outputs, inputs, batch, noise, negative, draws_per_center) -> None:
    """fastText's skip-gram with one draw of D noise words per center, one SGD step per center: the center's input
    h against its M context rows and the D noise rows, loss sum_m [softplus(-h.y_m) + K/D sum_d [n_d != c_m]
    softplus(h.n_d)]."""
    draws = iter(noise.view(-1, draws_per_center))
    for center, contexts in kernel_order(batch, cbow=True):
        word, targets, noise_words = batch.ids[center], batch.ids[contexts], next(draws)
        h = composed(table, inputs, word).requires_grad_(True)
        table_out = outputs.detach().requires_grad_(True)
        scores = table_out[torch.cat([targets, noise_words])] @ h                       # (M + D,)
        served = (noise_words[None, :] != targets[:, None]).sum(0)                      # (D,) pairs each serves
        loss = softplus(-scores[: len(targets)]).sum() + \
            negative / draws_per_center * (served * softplus(scores[len(targets):])).sum()
        loss.backward()
        with torch.no_grad():
            step_bag(table, inputs, word, -LR * h.grad)
            outputs -= LR * table_out.grad


def cbow_reference(table, outputs, inputs, batch, noise, negative, centers: int, context_mean: bool) -> None:
    """CBOW with `centers` consecutive centers per SGD step and per draw: hidden vectors H from the tables as they
    stand before the step, loss sum_c [softplus(-h_c.y_c) + sum_k [n_k != c] softplus(h_c.n_k)], and every row of
    every context word takes its center's whole dL/dh_c (word2vec's neu1e)."""
    draws = iter(noise.view(-1, negative))
    examples = dict(kernel_order(batch, cbow=True))
    for start in range(0, batch.size, centers):
        members = [i for i in range(start, min(batch.size, start + centers)) if i in examples]
        if not members:
            continue
        noise_words = next(draws)
        contexts = [torch.stack([composed(table, inputs, batch.ids[p]) for p in examples[i]]) for i in members]
        hidden = torch.stack([x.mean(0) if context_mean else x.sum(0) for x in contexts]).requires_grad_(True)
        table_out = outputs.detach().requires_grad_(True)
        targets = batch.ids[members]
        positive = (hidden * table_out[targets]).sum(1)                                 # (B,)
        noise_scores = hidden @ table_out[noise_words].T                                # (B, K)
        loss = softplus(-positive).sum() + (softplus(noise_scores) * (noise_words[None, :] != targets[:, None])).sum()
        loss.backward()
        with torch.no_grad():
            for c, i in enumerate(members):
                for p in examples[i]:
                    step_bag(table, inputs, batch.ids[p], -LR * hidden.grad[c])
            outputs -= LR * table_out.grad


def run_shared(task, batch, loop: str, state: int, centers: int = 3) -> np.ndarray:
    """One chunk through a shared-negative loop, one thread; `centers`: CBOW's centers per step, fastText's draws
    per window as a multiple of K."""
    objective = task.objective
    kind = {"skipgram": tables.SKIPGRAM_SHARED, "center": tables.CENTER_SHARED, "cbow": tables.CBOW_SHARED}[loop]
    loop_table = loop_for(task.model, shared=True, centers=centers, draws=centers * objective.negative)
    assert loop_table.kind == kind
    return driver.train_chunk(loop_table, windows_of(batch), input_side(task.model.embedder.input_rows()),
                              output_side(objective.fused_output_side(), np.zeros(0, np.int64)),
                              tables.Schedule(LR, 1),
                              tables.Streams(np.array([state], np.uint64), numba.config.NUMBA_NUM_THREADS))


@pytest.mark.parametrize("encoder, loop", [("skipgram", "skipgram"), ("fasttext", "center"), ("cbow", "cbow"),
                                           ("cbow_sum", "cbow"), ("fasttext_cbow", "cbow")])
def test_each_shared_negative_loop_equals_its_autograd_reference_step_for_step(encoder, loop):
    batch, state, centers = windows(), 7, 3
    task = make_task(encoder, "negative")
    inputs, objective = task.model.embedder.input_rows(), task.objective
    table, outputs = inputs.table.detach().clone(), objective.output.weight.detach().clone()
    results = run_shared(task, batch, loop, state, centers)
    examples = kernel_order(batch, cbow=loop == "cbow")
    assert results[0, 2] == len(examples), "every pair (skip-gram) or center (CBOW) with a context is an example"
    draws = len({i // centers for i, _ in examples}) if loop == "cbow" else len(kernel_order(batch, cbow=True))
    per_draw = objective.negative * (centers if loop == "center" else 1)
    noise = cpu.noise_sequence(cpu.noise_table(objective.noise.probs.numpy()), np.uint64(state), draws * per_draw)
    assert len(set(noise.tolist())) > 3, "varied draws"
    noise = torch.from_numpy(noise)
    if loop == "skipgram":
        skipgram_reference(table, outputs, inputs, batch, noise, objective.negative)
    elif loop == "center":
        center_reference(table, outputs, inputs, batch, noise, objective.negative, per_draw)
    else:
        cbow_reference(table, outputs, inputs, batch, noise, objective.negative, centers,
                       task.model.context_reduce == "mean")
    torch.testing.assert_close(inputs.table.detach(), table, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(objective.output.weight.detach(), outputs, atol=2e-6, rtol=1e-5)
    assert not torch.equal(outputs, make_task(encoder, "negative").objective.output.weight.detach())


@pytest.mark.parametrize("encoder", ["cbow", "fasttext_cbow"])
def test_cbow_with_one_center_per_draw_is_word2vecs_cbow(encoder):
    """One center per step is the per-example loop (for a seed that draws no noise word twice for a center)."""
    batch = windows()
    shared, per_example = make_task(encoder, "negative"), make_task(encoder, "negative")
    noise = cpu.noise_table(shared.objective.noise.probs.numpy())
    negative, centers = shared.objective.negative, len(kernel_order(batch, cbow=True))
    state = next(s for s in range(1, 10_000) if all(len(set(draws)) == negative for draws in cpu.noise_sequence(
        noise, np.uint64(s), centers * negative).reshape(-1, negative).tolist()))
    run_shared(shared, batch, "cbow", state, centers=1)
    run_kernel(per_example, batch, True, state)
    for (name, ours), theirs in zip(shared.named_parameters(), per_example.parameters(), strict=True):
        torch.testing.assert_close(ours.detach(), theirs.detach(), atol=2e-6, rtol=1e-5, msg=name)


@pytest.mark.slow
def test_shared_negatives_train_a_run_and_refuse_what_they_cannot(make_cfg, caplog):
    losses = {}
    for shared in ("window", "none"):
        metrics = train(make_cfg("task/updater=fused", f"sampler.noise_sharing={shared}",
                                 "task.updater.threads=1", "callbacks.embedding_map=null", "trainer.max_epochs=2",
                                 "trainer.limit_train_batches=null", "callbacks.embedding_eval=null", run=shared))
        losses[shared] = metrics["train/loss"]
    assert np.isfinite(losses["window"]) and losses["window"] < 1.2 * losses["none"], losses
    for overrides, chosen in ((["model=cbow"], "fused CPU kernel, 1 thread(s)\n"),
                              (["model=cbow", "sampler.noise_sharing=window"], "shared by 8 centers"),
                              (["model=fasttext", "model.bucket=1000"], "noise words shared per window")):
        caplog.clear()
        train(make_cfg("task.updater.threads=1", "callbacks.embedding_eval=null", "callbacks.embedding_map=null",
                       *overrides, run="-".join(overrides)))
        assert chosen in caplog.text + "\n", (overrides, caplog.text)
    for bad, message in (
        (["sampler.noise_sharing=batch"], "must be one of auto, none, window, step"),
        (["sampler.window_draws=0"], "sampler.window_draws must be a positive integer"),
        (["sampler.centers_per_draw=0"], "sampler.centers_per_draw must be a positive integer"),
        (["sampler.noise_pool=64"], "sampler.noise_pool sizes the pool of sampler.noise_sharing=step"),
        (["sampler.noise_sharing=none", "sampler.window_draws=2"], "sampler.window_draws applies where noise words"),
        (["sampler.centers_per_draw=3"], "sampler.centers_per_draw=3 sets how many CBOW centers share a draw"),
        (["model=cbow", "sampler.window_draws=5"], "sampler.window_draws=5 sizes the draw fastText's skip-gram"),
        (["task/updater=autograd", "sampler.noise_sharing=window"], "are the fused CPU kernel's"),
        (["optimizer=adagrad", "sampler.centers_per_draw=4"], "the fused kernel cannot train it"),
    ):
        with pytest.raises(Exception) as error:
            train(make_cfg(*bad, run="-".join(bad)))
        assert message in str(user_error_in(error.value)), (bad, error.value)
