"""Checkpoints written as every other artefact is (`files.atomic_write`): whole or not at all, and a refused write
stops the run in one line.

Lightning's own save writes through an fsspec transaction that swallows a `PermissionError`
(a read-only `checkpoints/` folder: no checkpoint, no word, exit 0) and can leave a file
cut short on a full disk. Here the checkpoint goes to a temporary file beside its
destination, is fsynced and renamed; a failure raises the `UserError` that names the
path and the free space, which the run turns into one line and exit status 2, leaving
the previous checkpoint as it was.
"""

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from lm_experiments.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO with `save_checkpoint` through `atomic_write` (local paths; loading is Lightning's)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        # serialised straight into the temporary file (a 1.6 GB fastText table is not copied through memory
        # first); a failure to pickle or to write removes it, and the previous checkpoint stays as it was
        with atomic_write(path, "wb", encoding=None) as handle:
            torch.save(checkpoint, handle)
