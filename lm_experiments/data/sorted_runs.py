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

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from lm_experiments.data.array_files import release
from lm_experiments.errors import UserError

BYTES_PER_ENTRY = 16  # an int64 key and a float64 value
FAN_IN = 32  # runs merged at once: one open map each, so a merge stays far below any `ulimit -n`

MIN_MEMORY_BYTES = 16 * 2**20  # below this a run holds too few entries to be worth its file, seeks and merge


def memory_budget(memory: float, key: str, what: str, minimum: int = MIN_MEMORY_BYTES) -> int:
    """A budget in GB from the config -> bytes; refused in one line unless a number of at least `minimum` bytes
    (16 MB by default: a budget of a few KB would spill a run every few hundred pairs and spend its time in files;
    the tests of the spilling itself call the counters with less)."""
    if isinstance(memory, bool) or not isinstance(memory, int | float) or not memory > 0 \
            or not memory * 2**30 >= minimum:
        floor = f"at least {minimum / 2**30:.3g} ({minimum / 2**20:g} MB)" if minimum >= 2**20 else "positive"
        raise UserError(f"{key} is the memory {what} may use, in GB; it must be {floor}, got {memory!r}.")
    return int(memory * 2**30)


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


@dataclass
class Run:
    """One sorted run on disk: `number` names its files; `level` 0 is written by the counter, level L + 1 is
    FAN_IN runs of level L merged."""

    number: int
    length: int
    level: int


class SortedRuns:
    """Sorted, summed (key, value) runs written to `folder`, merged in key order by `merged(memory_bytes)`.

    However many runs a long corpus spills, at most FAN_IN are ever merged at once: when a level holds FAN_IN
    runs they are merged into one run of the next level (`compact_memory` bytes at a time), as an LSM tree
    does, so the files on disk stay at most FAN_IN a level (a few levels) and every merge holds at most FAN_IN
    open maps, whatever `ulimit -n` allows; each entry is rewritten once a level, log_FAN_IN(runs) times.
    """

    def __init__(self, folder: Path, name: str, compact_memory: int = 1 << 26, fan_in: int = FAN_IN):
        self.folder, self.name = Path(folder), name
        self.compact_memory, self.fan_in = compact_memory, max(fan_in, 2)
        self.runs: list[Run] = []
        self._numbers = 0

    def _paths(self, run: Run) -> tuple[Path, Path]:
        return self.folder / f"{self.name}-{run.number}.keys", self.folder / f"{self.name}-{run.number}.values"

    @property
    def entries(self) -> int:
        return sum(run.length for run in self.runs)

    def write(self, keys: np.ndarray, values: np.ndarray) -> None:
        """One run: `keys` sorted and distinct, `values` beside them."""
        self.begin_run()
        self.append(keys, values)
        self._compact_full_levels()

    def begin_run(self) -> None:
        """Start an empty run that `append` extends (a run written in blocks, such as a dense table's cells)."""
        self.runs.append(self._new_run(0))

    def _new_run(self, level: int) -> Run:
        """An empty run of `level` with its (empty) files, not yet in `runs`."""
        run = Run(self._numbers, 0, level)
        self._numbers += 1
        for path in self._paths(run):
            path.write_bytes(b"")
        return run

    def append(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Extend the last run with keys sorted, distinct and above all it holds."""
        key_path, value_path = self._paths(self.runs[-1])
        with open(key_path, "ab") as key_file, open(value_path, "ab") as value_file:
            np.ascontiguousarray(keys, dtype=np.int64).tofile(key_file)
            np.ascontiguousarray(values, dtype=np.float64).tofile(value_file)
        self.runs[-1].length += len(keys)

    def _compact_full_levels(self) -> None:
        """Merge the runs of any level that holds FAN_IN of them into one run of the next level."""
        while True:
            levels = Counter(run.level for run in self.runs)
            full = sorted(level for level, count in levels.items() if count >= self.fan_in)
            if not full:
                return
            group = [run for run in self.runs if run.level == full[0]][:self.fan_in]
            self._merge_into_one(group, full[0] + 1)

    def _merge_into_one(self, group: list[Run], level: int) -> None:
        merged = self._new_run(level)
        self.runs.insert(self.runs.index(group[0]), merged)  # the group's place: sums stay in run order
        blocks = self._merged(group, self.compact_memory, 2 * BYTES_PER_ENTRY)
        key_path, value_path = self._paths(merged)
        with open(key_path, "ab") as key_file, open(value_path, "ab") as value_file:
            for keys, values in blocks:
                keys.tofile(key_file)
                values.tofile(value_file)
                merged.length += len(keys)
        for run in group:
            self._unlink(run)
            self.runs.remove(run)

    def _ranges(self, runs: list[Run], per_range: int) -> list[np.ndarray]:
        """Cut points per run ((R + 1) arrays of run offsets) so that every key range holds at most about
        `per_range` entries over all runs (a run's cut found by binary search on its memory-mapped keys)."""
        maps = [np.memmap(self._paths(run)[0], dtype=np.int64, mode="r") if run.length else np.zeros(0, np.int64)
                for run in runs]
        lengths = np.array([run.length for run in runs], np.int64)
        total = int(lengths.sum())
        low, high = min(int(m[0]) for m in maps if len(m)), max(int(m[-1]) for m in maps if len(m)) + 1
        cuts = [np.zeros(len(maps), np.int64)]
        while int(cuts[-1].sum()) < total:
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
                ends = lengths
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
        while len(self.runs) > self.fan_in:  # the smallest runs first, each entry rewritten as few times as can be
            smallest = sorted(self.runs, key=lambda run: run.length)[:min(len(self.runs) - self.fan_in + 1,
                                                                          self.fan_in)]
            self._merge_into_one([run for run in self.runs if run in smallest], max(r.level for r in smallest) + 1)
        return self._merged(list(self.runs), memory_bytes, bytes_per_entry)

    def _merged(self, runs: list[Run], memory_bytes: int, bytes_per_entry: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if not any(run.length for run in runs):
            return
        per_range = max(memory_bytes // bytes_per_entry, 1)
        cuts = self._ranges(runs, per_range)
        for start, end in zip(cuts[:-1], cuts[1:]):
            keys, values, bounds = [], [], [0]
            for run, first, last in zip(runs, start, end):
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

    def _unlink(self, run: Run) -> None:
        for path in self._paths(run):
            path.unlink(missing_ok=True)

    def remove(self) -> None:
        for run in self.runs:
            self._unlink(run)
        self.runs = []
