"""Fused training steps as functions of arrays: the word2vec family's loops (`cpu.py` per example,
`shared_negatives.py` with noise words shared) run by one driver (`driver.py`) over the named tables of
`tables.py`; GloVe's per-cell AdaGrad (`glove.py`); the GPU's Triton launch (`gpu.py`).

They import nothing else of the package: the updaters in `lm_experiments.updaters` build the
tables from the task, and the autograd updater there is the readable reference they are tested
against.

Numba keys each cached compiled function on its own file only, and a compiled function carries the
code of the functions it calls: after an edit to `cpu.py` the driver's cached code (`driver.py`
unchanged) would go on running the old loops. So the compiled cache of this folder is dropped
whenever any of its sources changes (`drop_stale_compiled_code`).
"""

import hashlib
from pathlib import Path

SOURCE_STAMP = "kernels-source.sha1"


def drop_stale_compiled_code(folder: Path) -> bool:
    """Remove Numba's cached code (`__pycache__/*.nbi|nbc`) of `folder` if its sources changed since the cache
    was stamped; returns whether it did. Never fails: an unwritable cache is Numba's to report."""
    sources = sorted(folder.glob("*.py"))
    stamp = hashlib.sha1(b"".join(path.name.encode() + path.read_bytes() for path in sources)).hexdigest()
    cache = folder / "__pycache__"
    try:
        if (cache / SOURCE_STAMP).read_text() == stamp:
            return False
    except OSError:
        pass
    try:
        for path in cache.glob("*.nb[ic]"):
            path.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        (cache / SOURCE_STAMP).write_text(stamp)
    except OSError:
        return False
    return True


drop_stale_compiled_code(Path(__file__).resolve().parent)
