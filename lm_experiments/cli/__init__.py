"""The commands, one module each: `train.py` (`python train.py`, `lm-train`), and the tools over finished runs,
`evaluate.py` (`lm-eval`), `generate.py` (`lm-generate`), `embed.py` (`lm-embed`), `compare.py` (`lm-compare`),
`inspect_run.py` (`lm-inspect`). Each turns bad input into one line and an exit status; the work is done by the
parts below (`run/`, `evaluation/`, `inspection/`, `vectors/`). `python -m lm_experiments.cli.<name>` runs one,
and the old `python -m lm_experiments.<name>` still does (`old_names.py`)."""
