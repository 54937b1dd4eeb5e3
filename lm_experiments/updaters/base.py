"""The seam a task steps through: how one batch becomes parameter updates, and the readable reference updaters.

Two kinds of task step through it, and an updater says which it serves (`serves`): the
word-embedding task's batches of examples (`EXAMPLES`) and the count task's batches of
co-occurrence cells (`CELLS`). For cells, `ModelFit` is the reference: the model's own
`fit` in shuffled steps of the task's `cells_per_step` cells; the fused GloVe updater
(`fused_glove.py`) is tested against it.

For examples, `AutogradSGD` is the readable reference: shuffled steps of `examples_per_step`
examples, each minimising the *summed* loss of its examples with the configured
optimizer (sparse SGD by default), so an example moves the weights by lr x its
gradient, as in word2vec and gensim (lr=0.025 means gensim's alpha=0.025). Word2vec
steps after every example; a few hundred to a few thousand per step keeps its
quality, while much larger steps add up hundreds of updates of the most frequent
words and diverge. Under DDP each process steps on its own chunks and the processes
add up their changes after every batch (`replicas.py`). The fused updaters (`fused.py`), which take
word2vec's per-example steps in a compiled kernel, implement the same `Updater` interface
(`task/updater=...`) and are tested against this one.
"""

from abc import ABC, abstractmethod
from typing import ClassVar

import torch

from lm_experiments.errors import UserError, positive_int
from lm_experiments.updaters.replicas import summed_replica_updates

EXAMPLES = "examples"  # the word-embedding task's (skip-gram, CBOW, fastText)
CELLS = "cells"        # the count task's (GloVe, PPMI+SVD)


class Updater(ABC):
    """Trains a task on one batch; returns (summed loss, number of examples or cells it was summed over)."""

    description: str = ""
    serves: ClassVar[tuple[str, ...]] = (EXAMPLES,)  # the kinds of batch (a task's `updates`) it trains on

    def prepare(self, task) -> None:  # noqa: B027 (most updaters have nothing to set up)
        """Called once training starts (the task is on its device, its optimizer built): check and set up."""

    @abstractmethod
    def train_batch(self, task, batch) -> tuple[torch.Tensor, int]:
        """Update `task`'s encoder and objective from the examples of `batch` (`WordWindows`)."""


def refuse_kernel_only_options(task, why: str) -> None:
    """Autograd draws noise per example or per step (`sampler.noise_sharing=none|step`): a setting only the fused
    CPU kernel honours is refused in one line, not ignored."""
    options = task.objective.kernel_only_options()
    if options:
        raise UserError(f"{', '.join(options)}: noise words shared per window are the fused CPU kernel's, and this run "
                        f"steps through autograd ({why}), which draws per example (sampler.noise_sharing=none) or per "
                        f"step (step). Drop them, or train where the kernel applies (task/updater=auto, plain SGD on "
                        f"the CPU).")


class AutogradSGD(Updater):
    """Shuffled steps of `examples_per_step` examples on their summed loss, through autograd and the optimizer."""

    def __init__(self, examples_per_step: int = 1024):
        self.examples_per_step = positive_int(examples_per_step, "task.updater.examples_per_step")
        self.description = f"{self.examples_per_step} examples per optimizer step on their summed loss (autograd)"

    def prepare(self, task) -> None:
        refuse_kernel_only_options(task, "task/updater=autograd")

    def train_batch(self, task, batch) -> tuple[torch.Tensor, int]:
        optimizer = task.optimizers()
        examples = task.model.examples(batch)
        total, count = torch.zeros((), device=task.device), 0
        order = torch.randperm(examples.size, device=task.device)
        # rows a whole step shares are capped relative to the lr (the scheduler steps once per batch)
        step_size = optimizer.param_groups[0]["lr"]
        with summed_replica_updates(task.parameters(), task.trainer.strategy.model):
            for start in range(0, order.numel(), self.examples_per_step):
                part = examples.select(order[start: start + self.examples_per_step])
                losses = task.example_losses(part, step_size)
                task.manual_backward(losses.sum())
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                total += losses.detach().sum()
                count += losses.numel()
        return total, count


class ModelFit(Updater):
    """The count model's own fit (GloVe's batched AdaGrad, PPMI + SVD) in shuffled steps of the task's
    `cells_per_step` cells, or on the whole batch at once where that is None."""

    serves = (CELLS,)
    description = "the model's own fit"

    def train_batch(self, task, batch) -> tuple[torch.Tensor, int]:
        total, count = torch.zeros((), device=task.device), 0
        for part in self._parts(task, batch):
            losses = task.model.fit(part)
            if losses is not None:
                total += losses.sum()
                count += losses.numel()
        return total, count

    @staticmethod
    def _parts(task, batch):
        if task.cells_per_step is None:
            yield batch
            return
        order = torch.randperm(batch.size, device=task.device)
        for start in range(0, order.numel(), task.cells_per_step):
            yield batch.select(order[start: start + task.cells_per_step])
