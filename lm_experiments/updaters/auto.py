"""The default updater (`task/updater=auto`): a fused kernel wherever one applies, else the autograd reference."""

import torch
from lightning.pytorch.utilities import rank_zero_info

from lm_experiments.updaters.base import AutogradSGD, Updater
from lm_experiments.updaters.fused import FusedCPU, FusedGPU


class Auto(Updater):
    """A fused kernel wherever one applies to the run (model, objective, device, optimizer), else autograd steps."""

    def __init__(self, threads: int | None = None, loss_every: int = 8, hot_rows: int = 64,
                 examples_per_step: int = 1024, centers_per_program: int = 32, warps: int = 1):
        self.fused_cpu = FusedCPU(threads, loss_every, hot_rows)
        self.fused_gpu = FusedGPU(centers_per_program, warps)
        self.autograd = AutogradSGD(examples_per_step)
        self.chosen: Updater | None = None
        self.description = (f"a fused kernel where one applies, else {self.autograd.examples_per_step} examples "
                            f"per autograd step")

    def prepare(self, task) -> None:
        kernel = self.fused_gpu if task.device.type == "cuda" else self.fused_cpu
        reason = kernel.unsupported(task)
        if reason is None:
            self.chosen = kernel
            kernel.prepare(task)
        else:
            self.chosen = self.autograd
            rank_zero_info(f"word-embedding updates: autograd steps ({reason})")

    def train_batch(self, task, batch) -> tuple[torch.Tensor, int]:
        return self.chosen.train_batch(task, batch)
