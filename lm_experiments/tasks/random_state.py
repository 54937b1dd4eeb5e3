"""The process's random generators as checkpoint data, so a resumed run draws what the uninterrupted one would.

Lightning checkpoints hold the weights, the optimizer, the schedule and the loop's
progress, but not the generators that decide the next epoch's order, dropout masks
and noise words (torch's, CUDA's, numpy's, Python's); without them a resumed run
differs from an uninterrupted one with the same seed.
"""

import random

import numpy as np
import torch


def capture() -> dict:
    """Plain tensors, numbers and tuples only: Lightning loads checkpoints with `weights_only=True`."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(position),
                                                       int(has_gauss), float(gauss)),
             "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
