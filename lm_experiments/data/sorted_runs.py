"""External sorting for counts that do not fit in memory: sorted runs spilled to disk, then merged and summed.

What glove.c's `cooccur` does with its overflow files and KenLM's `lmplz` with its sorted
chunks: a counter fills a bounded buffer, sorts it, sums equal keys and writes the result
as one run; the runs are then merged into one sorted, summed stream. The merge reads the
key space in ranges small enough for the memory it is given (each run's share of a range
found by binary search on the run, memory-mapped, so only a few pages are touched), and
merges each range's slices with a heap in compiled code: memory is set by the budget, the
time by the entries (N log R for R runs), never by the corpus.

Keys are int64, values float64; a run is two raw files, `<name>-<i>.keys` and `.values`.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numba import njit

from lm_experiments.data.array_files import release

BYTES_PER_ENTRY = 16  # an int64 key and a float64 value


@njit(cache=True, nogil=True)
def sum_sorted(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys (N,) and their values (N,) -> the distinct keys and each one's summed value."""
    out_keys = np.empty(len(keys), np.int64)
    out_values = np.empty(len(keys), np.float64)
    count = 0
    for i in range(len(keys)):
        if count > 0 and out_keys[count - 1] == keys[i]:
            out_values[count - 1] += values[i]
        else:
            out_keys[count] = keys[i]
            out_values[count] = values[i]
            count += 1
    return out_keys[:count], out_values[:count]


@njit(cache=True, nogil=True)
def _sift_down(heap_keys, heap_runs, size, i):
    while True:
        smallest, left, right = i, 2 * i + 1, 2 * i + 2
        if left < size and (heap_keys[left] < heap_keys[smallest] or
                            (heap_keys[left] == heap_keys[smallest] and heap_runs[left] < heap_runs[smallest])):
            smallest = left
        if right < size and (heap_keys[right] < heap_keys[smallest] or
                             (heap_keys[right] == heap_keys[smallest] and heap_runs[right] < heap_runs[smallest])):
            smallest = right
        if smallest == i:
            return
        heap_keys[i], heap_keys[smallest] = heap_keys[smallest], heap_keys[i]
        heap_runs[i], heap_runs[smallest] = heap_runs[smallest], heap_runs[i]
        i = smallest


@njit(cache=True, nogil=True)
def merge_runs(keys: np.ndarray, values: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R sorted runs laid end to end (keys and values (N,), run r at bounds[r]:bounds[r + 1]) -> one sorted run
    with equal keys summed (in run order, so the sum does not depend on the heap's ties)."""
    runs = len(bounds) - 1
    position = bounds[:-1].copy()
    heap_keys = np.empty(runs, np.int64)
    heap_runs = np.empty(runs, np.int64)
    size = 0
    for r in range(runs):
        if position[r] < bounds[r + 1]:
            heap_keys[size] = keys[position[r]]
            heap_runs[size] = r
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(heap_keys, heap_runs, size, i)
    out_keys = np.empty(len(keys), np.int64)
    out_values = np.empty(len(keys), np.float64)
    count = 0
    while size > 0:
        key, r = heap_keys[0], heap_runs[0]
        value = values[position[r]]
        if count > 0 and out_keys[count - 1] == key:
            out_values[count - 1] += value
        else:
            out_keys[count] = key
            out_values[count] = value
            count += 1
        position[r] += 1
        if position[r] < bounds[r + 1]:
            heap_keys[0] = keys[position[r]]
        else:
            size -= 1
            heap_keys[0], heap_runs[0] = heap_keys[size], heap_runs[size]
        _sift_down(heap_keys, heap_runs, size, 0)
    return out_keys[:count], out_values[:count]


class SortedRuns:
    """Sorted, summed (key, value) runs written to `folder`, merged in key order by `merged(memory_bytes)`."""

    def __init__(self, folder: Path, name: str):
        self.folder, self.name = Path(folder), name
        self.lengths: list[int] = []

    def _paths(self, run: int) -> tuple[Path, Path]:
        return self.folder / f"{self.name}-{run}.keys", self.folder / f"{self.name}-{run}.values"

    @property
    def entries(self) -> int:
        return sum(self.lengths)

    def write(self, keys: np.ndarray, values: np.ndarray) -> None:
        """One run: `keys` sorted and distinct, `values` beside them."""
        self.begin_run()
        self.append(keys, values)

    def begin_run(self) -> None:
        """Start an empty run that `append` extends (a run written in blocks, such as a dense table's cells)."""
        self.lengths.append(0)
        for path in self._paths(len(self.lengths) - 1):
            path.write_bytes(b"")

    def append(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Extend the last run with keys sorted, distinct and above all it holds."""
        key_path, value_path = self._paths(len(self.lengths) - 1)
        with open(key_path, "ab") as key_file, open(value_path, "ab") as value_file:
            np.ascontiguousarray(keys, dtype=np.int64).tofile(key_file)
            np.ascontiguousarray(values, dtype=np.float64).tofile(value_file)
        self.lengths[-1] += len(keys)

    def _ranges(self, per_range: int) -> list[np.ndarray]:
        """Cut points per run ((R + 1) arrays of run offsets) so that every key range holds at most about
        `per_range` entries over all runs (a run's cut found by binary search on its memory-mapped keys)."""
        maps = [np.memmap(self._paths(r)[0], dtype=np.int64, mode="r") if length else np.zeros(0, np.int64)
                for r, length in enumerate(self.lengths)]
        low, high = min(int(m[0]) for m in maps if len(m)), max(int(m[-1]) for m in maps if len(m)) + 1
        cuts = [np.zeros(len(maps), np.int64)]
        while int(cuts[-1].sum()) < self.entries:
            start = cuts[-1]
            lo, hi = low, high  # the largest boundary whose range holds <= per_range entries (at least one key)
            while hi - lo > 1:
                middle = (lo + hi) // 2
                ends = np.array([np.searchsorted(m, middle) for m in maps])
                if int((ends - start).sum()) <= per_range:
                    lo = middle
                else:
                    hi = middle
            ends = np.array([np.searchsorted(m, lo) for m in maps])
            if int((ends - start).sum()) == 0:  # one key's entries alone exceed the range: take them whole
                ends = np.array([np.searchsorted(m, lo, side="right") for m in maps])
            if hi == high:
                ends = np.array(self.lengths, np.int64)
            cuts.append(np.maximum(ends, start))
            low = lo
            for m in maps:  # the searches touched pages of every run: hand them back
                release(m)
        del maps
        return cuts

    def merged(self, memory_bytes: int, bytes_per_entry: int = 2 * BYTES_PER_ENTRY
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Blocks of the merged, summed runs in key order, each built within about `memory_bytes`: a range's
        entries cost `bytes_per_entry` (its inputs and its output, 32 bytes, and what the caller adds)."""
        if not self.entries:
            return
        per_range = max(memory_bytes // bytes_per_entry, 1)
        cuts = self._ranges(per_range)
        for start, end in zip(cuts[:-1], cuts[1:]):
            keys, values, bounds = [], [], [0]
            for run, (first, last) in enumerate(zip(start, end)):
                count = int(last - first)
                if count == 0:
                    continue
                key_path, value_path = self._paths(run)
                keys.append(np.fromfile(key_path, np.int64, count, offset=int(first) * 8))
                values.append(np.fromfile(value_path, np.float64, count, offset=int(first) * 8))
                bounds.append(bounds[-1] + count)
            if bounds[-1]:
                keys, values = np.concatenate(keys), np.concatenate(values)
                block = merge_runs(keys, values, np.array(bounds, np.int64))
                del keys, values  # the inputs go before the caller works on the block
                yield block

    def remove(self) -> None:
        for run in range(len(self.lengths)):
            for path in self._paths(run):
                path.unlink(missing_ok=True)
        self.lengths = []
