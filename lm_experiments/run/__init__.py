"""A run's life: from the command line to a finished run folder, and back from it.

- `command_line.py`: the command line composed and checked before Hydra runs it.
- `lifecycle.py`: the one wrapper `train.py`, `lm-train` and `train()` share (claim, `.hydra/`, train, clean up).
- `claim.py`: a run's lock on its folder, and the clean-up of only what it created.
- `training.py`: one run from a composed config: build, fit, test, export.
- `assembly.py`: config -> model -> task; rebuilding a finished run's task, or its ELMo biLM alone.
- `folder.py`: the run folder's layout, written and read back (a leaf).
- `api.py`: `train()`, `load_run()` and `ElmoEmbedder` for notebooks and scripts.
- `tracking.py`, `csv_log.py`, `relaunch.py`, `hydra_callbacks.py`, `checkpoint_io.py`: W&B and CSV logs, DDP
  inside a multirun, a sweep's failed members, atomic checkpoints.
- `console.py`, `summary.py`, `metric_direction.py`: the console, the final table, which way a metric improves.
"""
