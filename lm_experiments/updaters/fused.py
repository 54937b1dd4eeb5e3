"""Updaters that train the word-embedding task through a fused kernel (`kernels/`): the CPU's and the GPU's."""

import importlib.util
import logging

import numba
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info

from lm_experiments.data.batches import ContextBatch, PairBatch, WordWindows
from lm_experiments.errors import UserError, non_negative_int, positive_int
from lm_experiments.kernels import cpu, driver, tables
from lm_experiments.models.base import InputRows
from lm_experiments.objectives.base import FusedOutputSide
from lm_experiments.updaters.base import Updater
from lm_experiments.updaters.replicas import summed_replica_updates

log = logging.getLogger(__name__)
PARTS_PER_THREAD = 4  # a chunk's parts per thread: enough that a thread slowed by another job is not waited for


def plain_sgd(optimizer) -> bool:
    """Whether the optimizer's step is lr x gradient and nothing else: the step a fused kernel takes itself."""
    if not isinstance(optimizer, torch.optim.SGD):
        return False
    group = optimizer.param_groups[0]
    return not (group["momentum"] or group["weight_decay"] or group["nesterov"] or group["maximize"])


def kernel_unsupported(task) -> str | None:
    """Why neither fused kernel (CPU or GPU: the same examples and objectives) can train `task`, or None."""
    if task.model.example_type not in (PairBatch, ContextBatch):
        return f"there is no fused kernel for {task.name}'s examples"
    if task.model.embedder.input_rows() is None:
        return f"{type(task.model.embedder).__name__} is not a bag of rows a kernel can update"
    if task.objective.fused_output_side() is None:
        return (f"there is no fused kernel for {type(task.objective).__name__} as configured "
                f"({task.objective.fused_kernel_note})")
    if not plain_sgd(task.optimizers().optimizer):
        return "the fused kernel takes plain SGD steps (optimizer=sgd without momentum or weight decay)"
    return None


def loop_for(model, shared: bool, centers: int = 1, draws: int = 1) -> tables.Loop:
    """The loop that trains `model`'s examples: per example (word2vec's), or with noise words shared per window
    (skip-gram, fastText's skip-gram drawing `draws` per window) or per `centers` consecutive CBOW centers."""
    skipgram = model.example_type is PairBatch
    context_inputs = skipgram and model.input_side == "context"
    if shared:
        kind = (tables.SKIPGRAM_SHARED if context_inputs else tables.CENTER_SHARED) if skipgram else \
            tables.CBOW_SHARED
    else:
        kind = tables.SKIPGRAM if skipgram else tables.CBOW
    return tables.Loop(kind, context_inputs, not skipgram and model.context_reduce == "mean", centers, draws)


def check_sizes_apply(side: FusedOutputSide, loop: tables.Loop) -> None:
    """Refuse a size of noise sharing the chosen loop would not read (instead of ignoring it)."""
    if side.window_draws is not None and loop.kind != tables.CENTER_SHARED:
        raise UserError(f"sampler.window_draws={side.window_draws} sizes the draw fastText's skip-gram shares per "
                        f"window, and this run draws {describe(loop)}: drop sampler.window_draws.")
    if side.centers_per_draw is not None and loop.kind != tables.CBOW_SHARED:
        raise UserError(f"sampler.centers_per_draw={side.centers_per_draw} sets how many CBOW centers share a draw "
                        f"(with sampler.noise_sharing=window), and this run draws {describe(loop)}: drop "
                        f"sampler.centers_per_draw, or set sampler.noise_sharing=window for CBOW.")


def describe(loop: tables.Loop) -> str:
    """How a loop draws its noise words, for messages."""
    return {tables.SKIPGRAM: "per example (skip-gram)", tables.CBOW: "per example (CBOW)",
            tables.SKIPGRAM_SHARED: "per skip-gram window", tables.CENTER_SHARED: "per fastText window",
            tables.CBOW_SHARED: "per CBOW step"}[loop.kind]


def windows_of(batch: WordWindows) -> tables.Windows:
    return tables.Windows(batch.ids.numpy(), batch.sentence.numpy(), batch.span.numpy(), int(batch.window))


def input_side(inputs: InputRows) -> tables.InputSide:
    """The encoder's bags of rows as the kernel's arrays (the table shares the parameter's storage)."""
    return tables.InputSide(inputs.table.detach().numpy(), inputs.rows.numpy(), inputs.counts.numpy(),
                            bool(inputs.mean))


def output_side(side: FusedOutputSide, hot: np.ndarray) -> tables.OutputSide:
    """The objective's fused output side as the kernel's arrays: the noise distribution as an alias table, the
    Huffman paths, and the `hot` rows each thread copies."""
    noise = np.ones((2, 1)) if side.hierarchical else cpu.noise_table(side.noise_probs.cpu().numpy())
    codes, points, lengths = (t.cpu().numpy().astype(np.int64) for t in (side.codes, side.points, side.lengths))
    hot = np.asarray(hot, np.int64)
    slot = np.full(side.rows.shape[0], -1, np.int64)
    slot[hot] = np.arange(len(hot))
    return tables.OutputSide(side.rows.detach().numpy(), side.hierarchical, side.negative, noise, codes, points,
                             lengths, hot, slot)


def busiest_rows(side: FusedOutputSide) -> np.ndarray:
    """Output rows by how many examples write them: Huffman nodes nearest the root, else the most often drawn
    noise words."""
    if side.hierarchical:
        never = np.iinfo(np.int64).max
        lengths, points = side.lengths.cpu().numpy(), side.points.cpu().numpy()
        steps = np.arange(points.shape[1])[None, :]
        levels = np.where(steps < lengths[:, None], steps, never)  # (V, L)
        depth = np.full(side.rows.shape[0], never)
        np.minimum.at(depth, points.ravel(), levels.ravel())  # each node's distance from the root
        return np.argsort(depth, kind="stable").astype(np.int64)
    return np.argsort(-side.noise_probs.cpu().numpy(), kind="stable").astype(np.int64)


class FusedCPU(Updater):
    """word2vec's per-example steps in a compiled, multi-threaded loop (`kernels/cpu.py`).

    Runs skip-gram and CBOW (plain words or fastText's subword bags) with negative
    sampling (the kernel's own draws) or hierarchical softmax, on the CPU, with plain SGD
    at the scheduler's current lr (`optimizer=sgd`, word2vec's linear decay by default).
    The objective says which examples share a draw of noise words (`sampler.noise_sharing`):
    by default (`auto`) a skip-gram window's examples share one (`kernels/shared_negatives.py`;
    fastText's draw is `sampler.window_draws` times as many, each weighted down as much,
    since the window has one input), CBOW draws per example unless `window` asks for one
    draw per `sampler.centers_per_draw` consecutive centers; `none` is word2vec's draw per
    example everywhere. The rule for rows a batched step shares (`sampler.shared_rows`)
    does not apply: every example steps alone, as in word2vec.
    `threads` (default: every core, shared out between the processes of a DDP run)
    update the tables without locks, except the `hot_rows` output rows nearly every
    example writes (the top of the Huffman tree, the most frequent words): with several
    threads each thread updates its own copy of those during a chunk, and the changes are
    added up after it, instead of the cores passing the rows' cache lines back and forth.
    """

    def __init__(self, threads: int | None = None, loss_every: int = 8, hot_rows: int = 64):
        self.threads = None if threads is None else positive_int(threads, "task.updater.threads")
        self.loss_every = positive_int(loss_every, "task.updater.loss_every")
        self.hot_rows = non_negative_int(hot_rows, "task.updater.hot_rows", " (0: no per-thread copies)")
        self.shared = False
        self.description = "fused CPU kernel: word2vec's SGD steps (noise words shared where that applies)"
        self.seed = 0

    @staticmethod
    def unsupported(task) -> str | None:
        """Why the kernel cannot train `task` as configured, or None when it can."""
        if task.device.type != "cpu":
            return f"the fused CPU kernel runs on the CPU, and this task is on {task.device}"
        return kernel_unsupported(task)

    def prepare(self, task) -> None:
        reason = self.unsupported(task)
        if reason is not None:
            raise UserError(f"task/updater=fused cannot train this run: {reason}. Use task/updater=auto (the "
                            f"kernel where it applies) or task/updater=autograd.")
        limit = numba.config.NUMBA_NUM_THREADS  # the cores Numba found (or NUMBA_NUM_THREADS)
        threads = self.threads or max(1, limit // max(task.trainer.num_devices, 1))
        if threads > limit:
            raise UserError(f"task.updater.threads={threads} is more than the {limit} threads Numba may start "
                            f"(NUMBA_NUM_THREADS).")
        self.threads = threads
        side = task.objective.fused_output_side()
        cbow = task.model.example_type is ContextBatch
        # auto: skip-gram and fastText's skip-gram, where the figures in benchmarks/README.md hold gensim's quality;
        # CBOW's shared step only on request (window); hierarchical softmax draws no noise words (`none`)
        self.shared = side.noise_sharing == "window" or (side.noise_sharing == "auto" and not cbow)
        self.seed = (torch.initial_seed() + 1_000_003 * task.global_rank) & (2**63 - 1)
        self.loop = loop_for(task.model, self.shared, side.centers_per_step, side.draws_per_window)
        check_sizes_apply(side, self.loop)
        hot = busiest_rows(side)[: self.hot_rows if threads > 1 else 0]  # one thread: nothing to share
        self.outputs = output_side(side, hot)
        shared = f"noise words shared by {side.centers_per_step} centers" if cbow else "noise words shared per window"
        rank_zero_info(f"word-embedding updates: fused CPU kernel, {threads} thread(s)"
                       + (f", {shared}" if self.shared else ""))

    def train_batch(self, task, batch: WordWindows) -> tuple[torch.Tensor, int]:
        optimizer = task.optimizers()
        parts = self.threads * PARTS_PER_THREAD if self.threads > 1 else 1
        # seeded by the batch's place in the whole run (restored with a checkpoint), so a resumed run draws on
        seed = self.seed + task.trainer.fit_loop.epoch_loop.batch_progress.total.ready
        streams = tables.Streams(cpu.part_seeds(seed, parts), numba.config.NUMBA_NUM_THREADS)
        schedule = tables.Schedule(float(optimizer.param_groups[0]["lr"]), self.loss_every)
        numba.set_num_threads(self.threads)
        # the tables are read afresh each batch: a DDP replica sum gives the parameters new storage;
        # chunk size 1 hands the parts to threads as they come free, not in fixed halves
        with summed_replica_updates(task.parameters(), task.trainer.strategy.model), numba.parallel_chunksize(1):
            outputs = self.outputs._replace(rows=task.objective.fused_output_side().rows.detach().numpy())
            results = driver.train_chunk(self.loop, windows_of(batch), input_side(task.model.embedder.input_rows()),
                                         outputs, schedule, streams)
        optimizer.step()  # Lightning counts one step per batch; no parameter has a gradient, so nothing moves
        return torch.tensor(results[:, 0].sum()), int(results[:, 1].sum())


class FusedGPU(Updater):
    """word2vec's per-example steps on a CUDA device: one Triton launch per chunk (`kernels/gpu.py`).

    Runs what the CPU kernel runs: skip-gram and CBOW (plain words or fastText's subword
    bags) with per-example negative sampling (`sampler.noise_sharing` none or auto) or hierarchical
    softmax, with plain SGD at the scheduler's current lr. Each program walks
    `centers_per_program` centers with `warps` warps (one warp sums a 200-wide dot
    product with shuffles alone, no barrier); programs write the tables concurrently
    without locks. The noise words are drawn for the chunk on the device by the
    objective's sampler before the launch.
    """

    def __init__(self, centers_per_program: int = 32, warps: int = 1):
        self.centers_per_program = positive_int(centers_per_program, "task.updater.centers_per_program")
        self.warps = positive_int(warps, "task.updater.warps")
        if self.warps & (self.warps - 1):
            raise UserError(f"task.updater.warps must be a power of two (Triton's num_warps), got {warps}.")
        self.description = "fused GPU kernel (Triton): word2vec's per-example SGD steps"

    @staticmethod
    def unsupported(task) -> str | None:
        if task.device.type != "cuda":
            return f"the fused GPU kernel runs on a CUDA device, and this task is on {task.device}"
        if importlib.util.find_spec("triton") is None:
            return "Triton is not installed (it comes with PyTorch's CUDA builds)"
        reason = kernel_unsupported(task)
        cpu_only = task.objective.kernel_only_options() if reason is None else []
        if cpu_only:
            return f"the GPU kernel draws noise words per example, and {', '.join(cpu_only)} are the CPU kernel's"
        return reason

    def prepare(self, task) -> None:
        reason = self.unsupported(task)
        if reason is not None:
            raise UserError(f"task/updater=fused_gpu cannot train this run: {reason}. Use task/updater=auto.")
        rank_zero_info("word-embedding updates: fused GPU kernel (Triton)")

    def train_batch(self, task, batch: WordWindows) -> tuple[torch.Tensor, int]:
        optimizer = task.optimizers()
        with summed_replica_updates(task.parameters(), task.trainer.strategy.model):
            loss, examples = self.launch(task, batch, self.noise_for(task, batch),
                                         float(optimizer.param_groups[0]["lr"]))
        optimizer.step()  # Lightning counts one step per batch; no parameter has a gradient, so nothing moves
        return loss, int(examples)  # the one scalar read per chunk: the count the loss is logged over

    @staticmethod
    def noise_for(task, batch: WordWindows) -> torch.Tensor | None:
        """The chunk's noise words, drawn on its device: (n, 2 x window, k) for skip-gram, a set per center and
        window slot; (n, k) for CBOW; None for hierarchical softmax."""
        side = task.objective.fused_output_side()
        if side.hierarchical:
            return None
        per_center = () if task.model.example_type is ContextBatch else (2 * batch.window,)
        return side.sample_noise((batch.size, *per_center, side.negative), batch.ids.device)

    @torch.no_grad()
    def launch(self, task, batch: WordWindows, noise: torch.Tensor | None, lr: float):
        """One chunk through the kernel with the given noise words ((n, 2 x window, k) skip-gram, (n, k) CBOW,
        None for hierarchical softmax): (summed loss, examples), device scalars."""
        from lm_experiments.kernels import gpu  # Triton is imported only where a GPU kernel runs

        rows = task.model.embedder.input_rows()
        inputs = tables.InputSide(rows.table, rows.rows.contiguous(), rows.counts.contiguous(), bool(rows.mean))
        windows = tables.Windows(batch.ids, batch.sentence, batch.span, int(batch.window))
        return gpu.train_chunk(loop_for(task.model, shared=False), windows, inputs, task.objective.fused_output_side(),
                               noise, lr, centers_per_program=self.centers_per_program, warps=self.warps)
