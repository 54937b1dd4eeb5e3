"""Sentence-classification scores: accuracy, macro-F1 and the confusion matrix (torchmetrics), and its picture."""

from pathlib import Path

import numpy as np
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from lm_experiments.evaluation.plots import pyplot, save_figure


class ClassificationScores(torch.nn.Module):
    """Accumulates predictions over a whole split (every batch, every process); `compute` gives accuracy
    (the share of examples classified right), macro-F1 (F1 per class, averaged with equal weight) and the
    confusion matrix (rows: true class, columns: predicted)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.macro_f1 = MulticlassF1Score(num_classes, average="macro")
        self.confusion = MulticlassConfusionMatrix(num_classes)

    def update(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        for metric in (self.accuracy, self.macro_f1, self.confusion):
            metric.update(predicted, target)

    def compute(self) -> tuple[float, float, np.ndarray]:
        return (float(self.accuracy.compute()), float(self.macro_f1.compute()),
                self.confusion.compute().cpu().numpy())

    def reset(self) -> None:
        for metric in (self.accuracy, self.macro_f1, self.confusion):
            metric.reset()


LABELLED_CELLS = 30  # up to this many classes the cells carry their counts and the axes the class names


def draw_confusion(matrix: np.ndarray, labels: list[str], path: Path, title: str) -> Path:
    """A confusion matrix as a PNG, shaded by each true class's share; written atomically. Up to
    `LABELLED_CELLS` classes with the counts in the cells and the names on the axes; beyond, a heat map of the
    shares alone (a text per cell takes minutes at a thousand classes and cannot be read)."""
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    count = len(labels)
    labelled = count <= LABELLED_CELLS
    size = 2.0 + 0.8 * count if labelled else 12.0
    figure, axis = pyplot().subplots(figsize=(size, size), dpi=100)
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    if labelled:
        for row in range(count):
            for col in range(count):
                axis.text(col, row, str(int(matrix[row, col])), ha="center", va="center",
                          color="white" if shares[row, col] > 0.5 else "black")
        axis.set_xticks(range(count), labels, rotation=45, ha="right")
        axis.set_yticks(range(count), labels)
    else:
        figure.colorbar(image, ax=axis, shrink=0.7, label="share of the true class")
    axis.set_xlabel("predicted" if labelled else f"predicted (class index, {count} classes)")
    axis.set_ylabel("true" if labelled else "true (class index; labels.txt names them)")
    axis.set_title(title)
    return save_figure(figure, path)
