"""Data parallelism for word2vec-style training: processes step alone, then add up what they changed.

The embedding models take hundreds of small sparse SGD steps per batch. Synchronising
gradients at every one of them (what DDP does) would all-reduce a dense V x d gradient
per step, and deadlock, since processes draw different numbers of examples from their
chunks after subsampling. Instead each process steps on its own shard with gradient sync
off, and after every batch the processes all-reduce the *change* to the weights and
apply the sum: every example's update lands once, as with word2vec's Hogwild threads
writing into shared memory, and the replicas are identical again before the next batch. Only
the rows a process changed travel (see `_add_up`), not the whole tables.
"""

from contextlib import contextmanager, nullcontext

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def distributed_world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def no_gradient_sync(wrapped_module):
    """DDP's `no_sync()` around the steps of a batch (no-op when the module is not wrapped by DDP)."""
    return wrapped_module.no_sync() if isinstance(wrapped_module, DistributedDataParallel) else nullcontext()


def changed_rows(change: torch.Tensor) -> torch.Tensor:
    """The rows of a (V, ...) change that are not all zero: (r,) indices."""
    return change.reshape(len(change), -1).ne(0).any(1).nonzero().squeeze(1)


def _add_up(parameter: torch.Tensor, before: torch.Tensor) -> None:
    """Set `parameter` to `before` + the sum over processes of (each process's `parameter` - `before`).

    A table sends only the rows it changed: an embedding model's batch touches a small part of
    its (V, d) tables (a fastText bucket table is 2M rows), so every process gathers the others'
    changed rows and adds them up, in rank order, the same sum on every process. Where the changed
    rows are more than a dense all-reduce would move, or for vectors, the change is all-reduced whole."""
    change = parameter - before
    rows = changed_rows(change) if parameter.dim() >= 2 else None
    world = dist.get_world_size()
    counts = [torch.zeros(1, dtype=torch.long, device=change.device) for _ in range(world)]
    dist.all_gather(counts, torch.tensor([-1 if rows is None else len(rows)], device=change.device))
    most = int(max(counts).item())
    if rows is None or most * world > len(change):  # dense: (V, d) once, cheaper than world x most rows
        dist.all_reduce(change, op=dist.ReduceOp.SUM)
        parameter.copy_(before + change)
        return
    index = torch.full((most,), 0, dtype=torch.long, device=change.device)
    values = change.new_zeros((most, *change.shape[1:]))
    index[: len(rows)], values[: len(rows)] = rows, change[rows]
    indices, changes = [torch.empty_like(index) for _ in range(world)], [torch.empty_like(values) for _ in range(world)]
    dist.all_gather(indices, index)
    dist.all_gather(changes, values)
    parameter.copy_(before)
    for count, rank_rows, rank_changes in zip(counts, indices, changes):
        parameter.index_add_(0, rank_rows[: int(count)], rank_changes[: int(count)])


@contextmanager
def summed_replica_updates(parameters, wrapped_module=None):
    """Run the block with gradient sync off; then set every process's parameters to
    start + sum over processes of (its parameters - start)."""
    parameters = [p for p in parameters if p.requires_grad]
    if distributed_world() == 1:
        yield
        return
    start = [p.detach().clone() for p in parameters]
    with no_gradient_sync(wrapped_module):
        yield
    with torch.no_grad():
        for parameter, before in zip(parameters, start):
            _add_up(parameter, before)
