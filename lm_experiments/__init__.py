"""lm_experiments: classic language models and word embeddings as Hydra + Lightning experiments.

In a notebook: `from lm_experiments import train, load_run` (see `lm_experiments.api`).
"""

from pathlib import Path

__version__ = "0.1.0"
CONFIG_DIR = Path(__file__).resolve().parent / "conf"  # the Hydra configs, shipped inside the package


def __getattr__(name: str):
    """`train` and `load_run` are imported on first use, so `import lm_experiments.compare` stays light."""
    if name in ("train", "load_run"):
        from lm_experiments import api

        return getattr(api, name)
    raise AttributeError(f"module 'lm_experiments' has no attribute {name!r}")
