"""Arrays written and read in blocks: what the corpus-long streams go through."""

import numpy as np

from lm_experiments.data.array_files import NpyWriter, blocks


def test_a_npy_written_in_blocks_loads_as_the_whole_array(tmp_path):
    rng = np.random.default_rng(0)
    parts = [rng.integers(0, 1000, size, dtype=np.int32) for size in (5, 0, 17, 1)]
    writer = NpyWriter(tmp_path / "ids.npy", np.int32)
    for part in parts:
        writer.append(part)
    path = writer.close()
    loaded = np.load(path, mmap_mode="r")
    assert loaded.dtype == np.int32 and np.array_equal(loaded, np.concatenate(parts))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.npy"], "the raw file is gone"
    empty = NpyWriter(tmp_path / "empty.npy", np.int64)
    assert np.load(empty.close()).shape == (0,)


def test_blocks_copy_every_element_once_from_a_memory_map_or_an_array(tmp_path):
    array = np.arange(1000, dtype=np.int64)
    np.save(tmp_path / "a.npy", array)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    for source in (mapped, array):
        pieces = list(blocks(source, 128, start=10, stop=990))
        assert [offset for offset, _ in pieces] == list(range(10, 990, 128))
        assert np.array_equal(np.concatenate([block for _, block in pieces]), array[10:990])
        assert all(block.flags.owndata for _, block in pieces), "copies, not views of the map"
    assert np.array_equal(mapped, array), "releasing the map's pages loses nothing"
