"""lm_experiments: classic language models and word embeddings as Hydra + Lightning experiments.

In a notebook: `from lm_experiments import train, load_run` (see `lm_experiments.api`).
"""

from pathlib import Path

__version__ = "0.1.0"


def _config_dir() -> Path:
    """The Hydra configs: `conf/` at the top of a checkout (editable installs read it there too); a wheel ships
    the same files as package data beside these modules (`pyproject.toml` maps `lm_experiments.conf` to `conf`)."""
    package = Path(__file__).resolve().parent
    shipped = package / "conf"
    return shipped if (shipped / "train.yaml").is_file() else package.parent / "conf"


CONFIG_DIR = _config_dir()


def __getattr__(name: str):
    """`train` and `load_run` are imported on first use, so `import lm_experiments.compare` stays light."""
    if name in ("train", "load_run"):
        from lm_experiments import api

        return getattr(api, name)
    raise AttributeError(f"module 'lm_experiments' has no attribute {name!r}")
