"""Fused training steps for the word-embedding task, behind its updater seam (`task/updater=...`).

`cpu.py` holds the compiled loops (Numba); `updater.py` the updaters that run them
(`FusedCPU`) or pick them where they apply (`Auto`). The autograd updater in
`lm_experiments.tasks.updaters` is the readable reference they are tested against.
"""
