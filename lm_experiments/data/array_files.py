"""Large 1-D arrays on disk, written and read in blocks, so that memory is set by the block, not the array.

`NpyWriter` appends blocks to a raw file and finishes it as a `.npy` (header, then the
data copied across), which `np.load(..., mmap_mode="r")` maps. `blocks` reads an array in
copies of `size` elements; for a memory map it also hands the pages it has read back to
the kernel, so that a pass over a corpus-long map does not leave the whole file counted in
the process's resident memory.
"""

import mmap
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class NpyWriter:
    """`append` blocks of one dtype; `close` writes `path` as a `.npy` of all of them, in order."""

    def __init__(self, path: Path, dtype):
        self.path, self.dtype = Path(path), np.dtype(dtype)
        self.raw = self.path.with_name(self.path.name + ".raw")
        self.handle = open(self.raw, "wb")  # noqa: SIM115 (closed by close)
        self.count = 0

    def append(self, block: np.ndarray) -> None:
        np.ascontiguousarray(block, dtype=self.dtype).tofile(self.handle)
        self.count += len(block)

    def close(self) -> Path:
        self.handle.close()
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.count,)}
        with open(self.path, "wb") as out, open(self.raw, "rb") as raw:
            np.lib.format.write_array_header_2_0(out, header)
            shutil.copyfileobj(raw, out, 1 << 22)
        self.raw.unlink()
        return self.path


def release(array: np.ndarray) -> None:
    """Drop the pages of a read-only memory map from this process (they stay in the page cache)."""
    mapping = getattr(array, "_mmap", None)
    if mapping is not None and not array.flags.writeable:
        mapping.madvise(mmap.MADV_DONTNEED)


def blocks(array: np.ndarray, size: int, start: int = 0, stop: int | None = None
           ) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, a copy of array[offset: offset + size]) for every block of array[start:stop]."""
    stop = len(array) if stop is None else stop
    for offset in range(start, stop, size):
        block = np.array(array[offset: min(offset + size, stop)])
        release(array)
        yield offset, block
