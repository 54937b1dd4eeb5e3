"""lm_experiments: classic language models and word embeddings as Hydra + Lightning experiments.

In a notebook: `from lm_experiments import train, load_run, ElmoEmbedder` (see `lm_experiments.run.api`).

The package's rooms: `cli/` the commands (lm-train, lm-eval, lm-generate, lm-embed, lm-compare,
lm-inspect), `run/` a run's life (compose, claim the folder, train, track, the run folder),
`tasks/` what kind of training, `updaters/` and `kernels/` how its steps are taken, `models/`,
`objectives/`, `data/`, `ngram/`, `vectors/` (word-vector files), `evaluation/`, `inspection/`,
`callbacks/`. At the top: the errors every part raises (`errors.py`), atomic file writing
(`files.py`), progress lines (`progress.py`), reading config nodes before Hydra builds them
(`config_options.py`), learning-rate schedules (`schedules.py`), and the modules' old names
(`old_names.py`).
"""

from pathlib import Path

from lm_experiments import old_names

__version__ = "0.1.0"


def _config_dir() -> Path:
    """The Hydra configs: `conf/` at the top of a checkout (editable installs read it there too); a wheel ships
    the same files as package data beside these modules (`pyproject.toml` maps `lm_experiments.conf` to `conf`)."""
    package = Path(__file__).resolve().parent
    shipped = package / "conf"
    return shipped if (shipped / "train.yaml").is_file() else package.parent / "conf"


CONFIG_DIR = _config_dir()
old_names.install()


def __getattr__(name: str):
    """`train`, `load_run` and `ElmoEmbedder` are imported on first use, so `import lm_experiments.cli.compare`
    stays light."""
    if name in ("train", "load_run", "ElmoEmbedder"):
        from lm_experiments.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'lm_experiments' has no attribute {name!r}")
