"""GloVe trained cell by cell through the compiled kernel (`kernels/glove.py`), glove.c's loop, on Hogwild threads."""

import numba
import torch
from lightning.pytorch.utilities import rank_zero_info

from lm_experiments.errors import UserError, positive_int
from lm_experiments.kernels import glove
from lm_experiments.updaters.base import CELLS, Updater

PARTS_PER_THREAD = 4  # a batch's parts per thread: a thread slowed by another job is not waited for


class FusedGloVe(Updater):
    """Every cell of a batch takes its own AdaGrad step (the reference `ModelFit` with one cell per step), in a
    compiled loop; `threads` (default: every core) take contiguous parts of the batch and update the tables
    without locks, as glove.c's threads do. For models that declare AdaGrad tables (`model=glove`), on the CPU."""

    serves = (CELLS,)

    def __init__(self, threads: int | None = None):
        self.threads = None if threads is None else positive_int(threads, "task.updater.threads")
        self.description = "fused CPU kernel: glove.c's per-cell AdaGrad steps"

    @staticmethod
    def unsupported(task) -> str | None:
        if task.device.type != "cpu":
            return f"the fused GloVe kernel runs on the CPU, and this task is on {task.device}"
        if task.model.adagrad_tables() is None:
            return f"{task.name} is not trained by per-cell AdaGrad steps (model=glove is)"
        return None

    def prepare(self, task) -> None:
        reason = self.unsupported(task)
        if reason is not None:
            raise UserError(f"task/updater=fused_glove cannot train this run: {reason}. Use task/updater=auto.")
        limit = glove.thread_count()
        threads = self.threads or limit
        if threads > limit:
            raise UserError(f"task.updater.threads={threads} is more than the {limit} threads Numba may start "
                            f"(NUMBA_NUM_THREADS).")
        self.threads = threads
        rank_zero_info(f"GloVe updates: fused CPU kernel, {threads} thread(s)")

    def train_batch(self, task, batch) -> tuple[torch.Tensor, int]:
        tables = task.model.adagrad_tables()
        parts = self.threads * PARTS_PER_THREAD if self.threads > 1 else 1
        numba.set_num_threads(self.threads)
        with numba.parallel_chunksize(1):
            loss = glove.train_cells(batch.rows.numpy(), batch.cols.numpy(), batch.values.numpy(),
                                     tables.weights.numpy(), tables.biases.numpy(), tables.weights_gradsq.numpy(),
                                     tables.biases_gradsq.numpy(), tables.size, tables.x_max, tables.alpha,
                                     tables.eta, parts)
        return torch.tensor(loss), batch.size
