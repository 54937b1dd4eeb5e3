"""The fused CPU kernel against the autograd reference, step for step; its threads, seeds and refusals."""

from functools import partial

import lightning as L
import numba
import numpy as np
import pytest
import torch
from conftest import NO_CHECKPOINTS
from torch.utils.data import DataLoader

from lm_experiments.data.batches import ContextBatch, PairBatch, WordWindows
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, user_error_in
from lm_experiments.kernels import cpu, driver, tables
from lm_experiments.models.cbow import CBOW
from lm_experiments.models.fasttext import FastText, FastTextCBOW
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.objectives.full import FullSoftmax
from lm_experiments.objectives.hierarchical import HierarchicalSoftmax
from lm_experiments.objectives.negative import NegativeSampling
from lm_experiments.run.training import train
from lm_experiments.tasks.embedding import WordEmbeddingTask
from lm_experiments.updaters.auto import Auto
from lm_experiments.updaters.base import AutogradSGD
from lm_experiments.updaters.fused import (
    FusedCPU,
    FusedGPU,
    busiest_rows,
    input_side,
    loop_for,
    output_side,
    windows_of,
)

WORDS = [f"word{i}" for i in range(40)]
VOCAB = Vocabulary(["<unk>", "<eos>"] + WORDS, np.array([0, 3] + list(range(90, 50, -1))))
LR = 0.05


def windows() -> WordWindows:
    """Two sentences of kept words, a repeated word among them, spans up to 3."""
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(2, len(VOCAB), (14,), generator=generator)
    ids[5] = ids[3]
    return WordWindows(ids=ids, sentence=torch.tensor([0] * 8 + [1] * 6), window=3, n_words=16,
                       span=torch.randint(1, 4, (14,), generator=generator))


ENCODERS = {
    "skipgram": lambda: SkipGram(VOCAB, vector_size=6),
    "cbow": lambda: CBOW(VOCAB, vector_size=6),
    "cbow_sum": lambda: CBOW(VOCAB, vector_size=6, context_reduce="sum"),
    "fasttext": lambda: FastText(VOCAB, vector_size=6, min_n=3, max_n=4, bucket=30),
    "fasttext_cbow": lambda: FastTextCBOW(VOCAB, vector_size=6, min_n=3, max_n=4, bucket=30),
}
OBJECTIVES = {
    "negative": partial(NegativeSampling, negative=3, shared_rows="sum"),
    "hierarchical": partial(HierarchicalSoftmax, shared_rows="sum"),
}


def make_task(encoder: str, objective: str, updater=None) -> WordEmbeddingTask:
    torch.manual_seed(0)
    task = WordEmbeddingTask(VOCAB, ENCODERS[encoder](), OBJECTIVES[objective], partial(torch.optim.SGD, lr=LR),
                             updater=updater)
    with torch.no_grad():  # output rows start at zero in word2vec; random ones make every update visible
        for parameter in task.objective.parameters():
            parameter.normal_(0, 0.5)
    return task


def kernel_order(batch: WordWindows, cbow: bool) -> list[tuple[int, list[int]]]:
    """(center position, context positions) in the order the kernel walks them (one thread)."""
    order = []
    for i in range(batch.size):
        span, sentence = int(batch.span[i]), batch.sentence
        contexts = [j for j in range(max(0, i - span), min(batch.size, i + span + 1))
                    if j != i and sentence[j] == sentence[i]]
        if cbow:
            order += [(i, contexts)] if contexts else []
        else:
            order += [(i, [j]) for j in contexts]
    return order


def reference_steps(task: WordEmbeddingTask, batch: WordWindows, noise: np.ndarray, cbow: bool) -> None:
    """The autograd path, one example per SGD step, in the kernel's order and with its noise draws."""
    if isinstance(task.objective, NegativeSampling):
        draws = iter(torch.from_numpy(noise).view(-1, task.objective.negative))
        task.objective.sample_noise = lambda shape, device: next(draws).view(shape)
    optimizer = torch.optim.SGD(task.parameters(), lr=LR)
    for center, contexts in kernel_order(batch, cbow):
        if cbow:
            example = ContextBatch(batch.ids[[center]], batch.ids[contexts][None], torch.ones(1, len(contexts),
                                                                                              dtype=torch.bool))
        else:
            example = PairBatch(batch.ids[[center]], batch.ids[contexts])
        optimizer.zero_grad()
        task.example_losses(example, step_size=None).sum().backward()
        optimizer.step()


def run_kernel(task: WordEmbeddingTask, batch: WordWindows, cbow: bool, state: int, hot=()):
    """One chunk through word2vec's per-example loop, one part, with the tables the updater builds."""
    side = task.objective.fused_output_side()
    outputs = output_side(side, np.array(hot, np.int64))
    results = driver.train_chunk(loop_for(task.model, shared=False), windows_of(batch),
                                 input_side(task.model.embedder.input_rows()), outputs,
                                 tables.Schedule(LR, FusedCPU().loss_every),
                                 tables.Streams(np.array([state], np.uint64), numba.config.NUMBA_NUM_THREADS))
    return results, (outputs.noise if not side.hierarchical else np.ones((2, 1)))


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_one_thread_equals_the_autograd_reference_step_for_step(encoder, objective):
    """Per example, word2vec writes each output row as it goes while autograd sums the example's gradients at
    once; the two agree unless a noise word is drawn twice for one example, so the seed is one without that."""
    batch, cbow = windows(), "cbow" in encoder
    fused, reference = make_task(encoder, objective), make_task(encoder, objective)
    examples = len(kernel_order(batch, cbow))
    negative = fused.objective.negative if objective == "negative" else 0
    cum = cpu.noise_table(fused.objective.noise.probs.numpy()) if negative else None
    state = next(s for s in range(1, 10_000) if not negative or all(
        len(set(draws)) == negative for draws in cpu.noise_sequence(cum, np.uint64(s), examples * negative)
        .reshape(-1, negative).tolist()))
    results, cum = run_kernel(fused, batch, cbow, state=state)
    assert results[0, 2] == examples
    noise = cpu.noise_sequence(cum, np.uint64(state), examples * negative) if negative else np.zeros(0, np.int64)
    reference_steps(reference, batch, noise, cbow)
    for (name, ours), theirs in zip(fused.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours.detach(), theirs.detach(), atol=2e-6, rtol=1e-5, msg=name)
    assert not torch.equal(fused.model.embedder.input_rows().table, make_task(encoder, objective)
                           .model.embedder.input_rows().table), "the kernel trained the input rows"


def test_noise_draws_follow_the_unigram_distribution_and_skip_zero_weight_words():
    probs = NegativeSampling(VOCAB, 4).noise.probs.numpy()
    cum = cpu.noise_table(probs)
    words = cpu.noise_sequence(cum, np.uint64(7), 200_000)
    frequency = np.bincount(words, minlength=len(VOCAB)) / words.size
    assert frequency[:2].tolist() == [0.0, 0.0], "the specials are never drawn"
    np.testing.assert_allclose(frequency, probs, atol=2e-3)
    assert not np.array_equal(words[:50], cpu.noise_sequence(cum, np.uint64(8), 50))


def fit(task, batches, accelerator: str = "cpu") -> None:
    trainer = L.Trainer(accelerator=accelerator, max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, train_dataloaders=DataLoader(batches, batch_size=None))


def test_one_thread_is_reproducible_and_the_loss_is_sampled():
    batches = [windows(), windows()]
    first, again = make_task("skipgram", "negative", FusedCPU(threads=1)), make_task("skipgram", "negative",
                                                                                     FusedCPU(threads=1))
    torch.manual_seed(5)
    fit(first, batches)
    torch.manual_seed(5)
    fit(again, batches)
    for ours, theirs in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("sampler, optimizer, reason", [
    (partial(FullSoftmax), partial(torch.optim.SGD, lr=LR), "no fused kernel for FullSoftmax"),
    (partial(NegativeSampling, noise_sharing="step"), partial(torch.optim.SGD, lr=LR),
     "sampler.noise_sharing=step"),
    (partial(NegativeSampling), partial(torch.optim.Adagrad, lr=LR), "plain SGD steps"),
])
def test_fused_refuses_what_it_cannot_train_and_auto_falls_back(sampler, optimizer, reason):
    torch.manual_seed(0)
    refused = WordEmbeddingTask(VOCAB, SkipGram(VOCAB, vector_size=4), sampler, optimizer, updater=FusedCPU())
    with pytest.raises(Exception) as error:
        fit(refused, [windows()])
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and reason in str(cause) and "task/updater=auto" in str(cause)
    assert "runs on a CUDA device" in FusedGPU.unsupported(refused)
    auto = Auto(examples_per_step=4)
    fit(WordEmbeddingTask(VOCAB, SkipGram(VOCAB, vector_size=4), sampler, optimizer, updater=auto), [windows()])
    assert isinstance(auto.chosen, AutogradSGD)


@pytest.mark.slow
def test_a_default_run_trains_with_the_fused_kernel_on_two_threads(make_cfg, caplog):
    metrics = train(make_cfg("trainer.limit_train_batches=null", "task.updater.threads=2", "logger=none",
                             *NO_CHECKPOINTS))
    assert "fused CPU kernel, 2 thread(s)" in caplog.text
    assert 0 < metrics["train/loss"] < 4.16 and metrics["train/words_per_sec"] > 0


def test_the_alias_table_gives_every_word_exactly_its_probability():
    probs = np.array([0.0, 0.0, 0.4, 0.25, 0.2, 0.1, 0.05])
    table = cpu.noise_table(probs)
    columns = table.shape[1]
    implied = table[0] / columns                                           # kept in its own column
    np.add.at(implied, table[1].astype(int), (1.0 - table[0]) / columns)  # or reached as another column's alias
    np.testing.assert_allclose(implied, probs, atol=1e-12)


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_a_threads_own_copies_of_the_busiest_rows_add_up_to_the_same_update(objective):
    """With one part, updating private copies of the hot rows and adding their change after the chunk is the
    plain update (to float rounding); the busiest rows are the Huffman root first, or the likeliest noise."""
    batch = windows()
    plain, copied = make_task("skipgram", objective), make_task("skipgram", objective)
    busiest = busiest_rows(copied.objective.fused_output_side())
    if objective == "hierarchical":
        assert busiest[0] == int(copied.objective.points[2, 0]), "the root starts every path"
    else:
        assert busiest[0] == int(torch.argmax(copied.objective.noise.probs))
    run_kernel(plain, batch, False, state=9)
    run_kernel(copied, batch, False, state=9, hot=busiest[:5])
    for ours, theirs in zip(copied.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(ours.detach(), theirs.detach(), atol=1e-6, rtol=1e-5)


def test_an_edited_kernel_source_drops_the_compiled_cache(tmp_path):
    """A driver's cached code carries the loops it calls, and Numba keys it on the driver's file alone."""
    from lm_experiments.kernels import drop_stale_compiled_code

    (tmp_path / "loops.py").write_text("x = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "loops.f-1.py311.nbi").write_text("index")
    assert drop_stale_compiled_code(tmp_path) and not list(cache.glob("*.nbi")), "no stamp yet: dropped"
    (cache / "loops.f-1.py311.nbi").write_text("index")
    assert not drop_stale_compiled_code(tmp_path) and list(cache.glob("*.nbi")), "sources unchanged: kept"
    (tmp_path / "loops.py").write_text("x = 2\n")
    assert drop_stale_compiled_code(tmp_path) and not list(cache.glob("*.nbi")), "a source edited: dropped"
