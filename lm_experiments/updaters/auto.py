"""The default updater (`task/updater=auto`): a fused kernel wherever one applies, else the readable reference."""

import torch
from lightning.pytorch.utilities import rank_zero_info

from lm_experiments.updaters.base import CELLS, EXAMPLES, AutogradSGD, ModelFit, Updater, refuse_kernel_only_options
from lm_experiments.updaters.fused import FusedCPU, FusedGPU
from lm_experiments.updaters.fused_glove import FusedGloVe


class Auto(Updater):
    """A fused kernel wherever one applies to the run (model, objective, device, optimizer), else the reference:
    for word embeddings the CPU or GPU word2vec kernel, else autograd steps; for count models the GloVe kernel,
    else the model's own fit."""

    serves = (EXAMPLES, CELLS)

    def __init__(self, threads: int | None = None, loss_every: int = 8, hot_rows: int = 64,
                 examples_per_step: int = 1024, centers_per_program: int = 32, warps: int = 1):
        self.fused_cpu = FusedCPU(threads, loss_every, hot_rows)
        self.fused_gpu = FusedGPU(centers_per_program, warps)
        self.autograd = AutogradSGD(examples_per_step)
        self.fused_glove = FusedGloVe(threads)
        self.model_fit = ModelFit()
        self.chosen: Updater | None = None
        self.description = "a fused kernel where one applies, else the reference steps"

    def prepare(self, task) -> None:
        if task.updates == CELLS:
            kernel, fallback, what = self.fused_glove, self.model_fit, "count-model updates: the model's own fit"
        else:
            kernel = self.fused_gpu if task.device.type == "cuda" else self.fused_cpu
            fallback, what = self.autograd, "word-embedding updates: autograd steps"
        reason = kernel.unsupported(task)
        if reason is None:
            self.chosen = kernel
            kernel.prepare(task)
        else:
            if fallback is self.autograd:
                refuse_kernel_only_options(task, f"the fused kernel cannot train it: {reason}")
            self.chosen = fallback
            fallback.prepare(task)
            rank_zero_info(f"{what} ({reason})")

    def train_batch(self, task, batch) -> tuple[torch.Tensor, int]:
        return self.chosen.train_batch(task, batch)
