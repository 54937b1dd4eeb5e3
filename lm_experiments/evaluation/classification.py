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


def draw_confusion(matrix: np.ndarray, labels: list[str], path: Path, title: str) -> Path:
    """A confusion matrix as a PNG: counts in the cells, shaded by each true class's share; written atomically."""
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 2.0 + 0.8 * len(labels)
    figure, axis = pyplot().subplots(figsize=(size, size), dpi=100)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(len(labels)):
        for col in range(len(labels)):
            axis.text(col, row, str(int(matrix[row, col])), ha="center", va="center",
                      color="white" if shares[row, col] > 0.5 else "black")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    return save_figure(figure, path)
