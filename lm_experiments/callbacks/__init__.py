"""Lightning callbacks, one file each (`conf/callbacks/` has a config per callback).

`base.py` (a callback declares what it requires of the task), evaluation during training
(`embedding_eval.py`, `text_samples.py`), artefacts (`embedding_map.py`, `embedding_projector.py`,
`last_checkpoint.py`), throughput (`throughput.py`), the divergence guard (`divergence.py`), the
learning-rate monitor (`lr_monitor.py`) and the model summary (`model_summary.py`).
"""
