"""2-D maps of an embedding space (PCA, or t-SNE) drawn as a labelled scatter plot."""

from pathlib import Path

import numpy as np
import torch

from lm_experiments.errors import UserError
from lm_experiments.evaluation.plots import pyplot, save_figure

METHODS = ("pca", "tsne")


def project_2d(vectors: torch.Tensor, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, d) -> (n, 2). PCA: the centered vectors on their top two principal axes
    (signs fixed so each axis's largest loading is positive); t-SNE: scikit-learn's."""
    if method not in METHODS:
        raise UserError(f"callbacks.embedding_map.method must be one of {', '.join(METHODS)}; got {method!r}.")
    array = vectors.detach().double().cpu()
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(array) - 1) // 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(array.numpy())
    centered = array - array.mean(0)
    _, _, components = torch.linalg.svd(centered, full_matrices=False)   # rows: principal axes
    axes = components[:2]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    return (centered @ (axes * signs).T).numpy()


def draw_map(words: list[str], points: np.ndarray, path: Path, labelled: int, title: str) -> Path:
    """Scatter all points, label the first `labelled` (the most frequent), write a PNG atomically."""
    figure, axis = pyplot().subplots(figsize=(12, 12), dpi=100)
    axis.scatter(points[:, 0], points[:, 1], s=6, alpha=0.4, color="tab:blue")
    for word, (x, y) in zip(words[:labelled], points[:labelled]):
        axis.annotate(word, (x, y), fontsize=7, alpha=0.85)
    axis.set_title(title)
    axis.set_xticks([])
    axis.set_yticks([])
    return save_figure(figure, path)
