"""Train any model of lm_experiments: `python train.py model=skipgram data=text8 ...` (the same as `lm-train ...`).

Thin on purpose: the configs are in `conf/`, the command in `lm_experiments/cli/train.py`.
"""

from lm_experiments.cli.train import main

if __name__ == "__main__":
    main()
