"""Data parallelism for word2vec-style training: processes step alone, then add up what they changed.

The embedding models take hundreds of small sparse SGD steps per batch. Synchronising
gradients at every one of them (what DDP does) would all-reduce a dense V x d gradient
per step, and deadlock, since processes draw different numbers of examples from their
chunks after subsampling. Instead each process steps on its own shard with gradient sync
off, and after every batch the processes all-reduce the *change* to the weights and
apply the sum: every example's update lands once, as with word2vec's Hogwild threads
writing into shared memory, and the replicas are identical again before the next batch.
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


@torch.no_grad()
def _flat(parameters: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in parameters])


@contextmanager
def summed_replica_updates(parameters, wrapped_module=None):
    """Run the block with gradient sync off; then set every process's parameters to
    start + sum over processes of (its parameters - start)."""
    parameters = [p for p in parameters if p.requires_grad]
    if distributed_world() == 1:
        yield
        return
    start = _flat(parameters)                                               # (total numel,)
    with no_gradient_sync(wrapped_module):
        yield
    with torch.no_grad():
        change = _flat(parameters) - start
        dist.all_reduce(change, op=dist.ReduceOp.SUM)
        torch.nn.utils.vector_to_parameters(start + change, parameters)
