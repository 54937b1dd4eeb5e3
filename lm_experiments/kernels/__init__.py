"""Fused word2vec-family training steps as functions of arrays: `cpu.py` (Numba loops, Hogwild threads) and
`gpu.py` (one Triton launch per chunk).

They import nothing else of the package: the updaters in `lm_experiments.updaters` hand them
tables, windows and the objective's declared output side, and the autograd updater there is the
readable reference they are tested against.
"""
