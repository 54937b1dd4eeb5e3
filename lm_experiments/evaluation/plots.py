"""Figures written by runs (the embedding map, a classifier's confusion matrix): headless, written atomically."""

import io
from pathlib import Path

from lm_experiments.files import atomic_write


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), imported only when a figure is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path, tight: bool = True) -> Path:
    """Render `figure` to PNG and write it atomically (a run killed while writing leaves no half picture);
    `tight=False` keeps the figure's own size in pixels instead of cropping to what is drawn."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", **({"bbox_inches": "tight"} if tight else {}))
    pyplot().close(figure)
    with atomic_write(path, "wb") as out:
        out.write(buffer.getvalue())
    return Path(path)
