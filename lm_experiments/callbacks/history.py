"""A per-step series kept in fixed memory however long the run: what a picture of the whole run needs.

Keeping one value per step grows with the number of steps, and on the CPU every kept
0-d tensor also pins a small block of the heap between the large blocks each step frees,
so the heap fragments and the process grows by about a megabyte a step (a full PTB epoch
of the LSTM: 0.8 GB at 50 steps, 3.3 GB at 1,327). A `BoundedHistory` holds at most
`size` points in one buffer allocated once, on the values' device: every `stride`-th
step is written in place (no synchronisation), and when the buffer is full every other
point is dropped and the stride doubles, so the points stay evenly spaced over the run.
"""

import numpy as np
import torch


class BoundedHistory:
    def __init__(self, size: int = 2048):
        if size < 2 or size % 2:
            raise ValueError(f"a history holds an even number of at least 2 points, not {size}")
        self.size = size
        self.steps = np.zeros(size, dtype=np.int64)
        self.values: torch.Tensor | None = None  # (size,), allocated at the first value, on its device
        self.count, self.stride, self._seen = 0, 1, 0

    def add(self, step: int, value: torch.Tensor) -> None:
        """Record `value` (a 0-d tensor) at `step` if it falls on the current stride."""
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return
        if self.values is None:
            self.values = torch.zeros(self.size, dtype=torch.float32, device=value.device)
        if self.count == self.size:  # full: keep every other point, take every other step from now on
            half = self.size // 2
            self.steps[:half] = self.steps[::2]
            self.values[:half] = self.values[::2].clone()
            self.count, self.stride = half, self.stride * 2
            if (self._seen - 1) % self.stride:
                return
        self.steps[self.count] = step
        self.values[self.count].copy_(value.detach(), non_blocking=True)
        self.count += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of the points kept, in order."""
        if self.values is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return self.steps[: self.count].copy(), self.values[: self.count].cpu().numpy()

    def __len__(self) -> int:
        return self.count
