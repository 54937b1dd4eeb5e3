"""Which part of a split this process reads when several processes train together (DDP).

Our loaders shard themselves (the trainer runs with `use_distributed_sampler=false`)
because Lightning's default, a `DistributedSampler` over the batches, is wrong for two
of our views: it deals BPTT blocks out round-robin, so a process would carry its hidden
state from block i into block i + world, and for evaluation it pads the last batches
with repeats, so some tokens would be scored twice. Here every process gets a
contiguous piece (its own BPTT columns, its own stretch of an evaluation split), and
the pieces cover each split exactly once.
"""

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset, DistributedSampler, RandomSampler, Sampler


@dataclass(frozen=True)
class Shard:
    """Rank `rank` of `world` processes; `Shard()` is the whole data (one process)."""

    rank: int = 0
    world: int = 1

    def __post_init__(self):
        if not 0 <= self.rank < self.world:
            raise ValueError(f"rank {self.rank} is outside a world of {self.world} processes")

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def span(self, count: int) -> slice:
        """This process's contiguous part of `range(count)`; the parts differ in size by at most one."""
        return slice(count * self.rank // self.world, count * (self.rank + 1) // self.world)

    def shuffled(self, dataset: Dataset, shuffle: bool, seed: int = 0) -> Sampler | None:
        """Training order over map-style items: each process a disjoint (reshuffled each epoch, when Lightning
        calls `set_epoch`) part of equal length; None (the DataLoader's own order) for one process."""
        if not self.distributed:
            return None
        return DistributedSampler(dataset, num_replicas=self.world, rank=self.rank, shuffle=shuffle, seed=seed)

    def random_draws(self, dataset: Dataset, draws: int) -> RandomSampler:
        """`draws` items drawn at random per epoch in all, split between the processes; each process draws
        from its own generator (the global seed is the same on every process, so the default one is not)."""
        if not self.distributed:
            return RandomSampler(dataset, num_samples=draws)
        generator = torch.Generator().manual_seed(torch.initial_seed() + 7919 * self.rank)
        return RandomSampler(dataset, num_samples=-(-draws // self.world), generator=generator)


WHOLE = Shard()  # one process reads everything
