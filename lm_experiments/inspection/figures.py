"""The pictures of `lm-inspect`: fixed-size PNGs (so a page of them lines up), headless, written atomically."""

from pathlib import Path

import numpy as np
import torch

from lm_experiments.evaluation.plots import pyplot, save_figure
from lm_experiments.inspection.attention import HeadStatistics, uniform_statistics

DPI = 100


def _masked_future(weights: np.ndarray) -> np.ma.MaskedArray:
    """(T, T) -> the same with the entries above the diagonal masked (drawn grey: the causal mask)."""
    return np.ma.masked_where(np.triu(np.ones_like(weights, dtype=bool), 1), weights)


def draw_attention_grid(maps: torch.Tensor, tokens: list[str], path: Path, title: str) -> Path:
    """maps (layers, heads, T, T) of one text: a grid of heat maps, a row per layer and a column per head,
    queries down and keys across, the tokens as labels, the masked future grey."""
    layers, heads, length, _ = maps.shape
    cell = 1.6 + 0.09 * length
    figure, axes = pyplot().subplots(layers, heads, figsize=(cell * heads + 1.2, cell * layers + 0.8), dpi=DPI,
                                     squeeze=False)
    colours = pyplot().get_cmap("viridis").copy()
    colours.set_bad("#dddddd")
    labelled = length <= 48
    for layer in range(layers):
        for head in range(heads):
            axis = axes[layer, head]
            image = axis.imshow(_masked_future(maps[layer, head].cpu().numpy()), cmap=colours, vmin=0.0, vmax=1.0,
                                interpolation="nearest")
            axis.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=8)
            axis.set_xticks(range(length) if labelled else [])
            axis.set_yticks(range(length) if labelled else [])
            if labelled:
                axis.set_xticklabels(tokens, rotation=90, fontsize=5)
                axis.set_yticklabels(tokens, fontsize=5)
    figure.colorbar(image, ax=axes, shrink=0.6, label="attention weight (query row -> key column)")
    figure.suptitle(title)
    return save_figure(figure, path, tight=False)


def draw_head_statistics(statistics: dict[str, HeadStatistics], path: Path, title: str) -> Path:
    """Per model (trained, and a baseline where given): the layers x heads mean attention distance and entropy as
    annotated heat maps, with the uniform-attention reference in the titles."""
    names = list(statistics)
    figure, axes = pyplot().subplots(len(names), 2, figsize=(11, 3.4 * len(names) + 0.6), dpi=DPI, squeeze=False)
    first = statistics[names[0]]
    uniform_distance, uniform_entropy = uniform_statistics(first.length)
    limits = {"distance": max(float(s.distance.max()) for s in statistics.values()),
              "entropy": max(float(s.entropy.max()) for s in statistics.values())}
    for row, name in enumerate(names):
        for column, (what, values, unit, uniform) in enumerate(
                (("distance", statistics[name].distance, "tokens", uniform_distance),
                 ("entropy", statistics[name].entropy, "nats", uniform_entropy))):
            axis = axes[row, column]
            array = values.cpu().numpy()
            axis.imshow(array, cmap="magma", vmin=0.0, vmax=max(limits[what], 1e-9), aspect="auto")
            for (layer, head), value in np.ndenumerate(array):
                axis.text(head, layer, f"{value:.2f}", ha="center", va="center", fontsize=8,
                          color="white" if value < 0.6 * limits[what] else "black")
            axis.set_xticks(range(array.shape[1]), [str(h + 1) for h in range(array.shape[1])])
            axis.set_yticks(range(array.shape[0]), [str(layer + 1) for layer in range(array.shape[0])])
            axis.set_xlabel("head")
            axis.set_ylabel("layer")
            axis.set_title(f"{name}: mean attention {what} ({unit}; uniform {uniform:.2f})", fontsize=9)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, tight=False)


def draw_positions(table: torch.Tensor, dims: list[int], similarities: torch.Tensor, path: Path, title: str) -> Path:
    """Three panels: the table as a heat map (positions down, dimensions across), the chosen dimensions as
    waveforms over the positions, and the positions' cosine similarity matrix."""
    figure, axes = pyplot().subplots(1, 3, figsize=(18, 5.5), dpi=DPI)
    array = table.detach().cpu().numpy()
    bound = max(float(np.abs(array).max()), 1e-9)
    image = axes[0].imshow(array, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest")
    axes[0].set_xlabel("dimension")
    axes[0].set_ylabel("position")
    axes[0].set_title("encoding (positions x dimensions)")
    figure.colorbar(image, ax=axes[0])
    for dim in dims:
        axes[1].plot(array[:, dim], label=f"dim {dim}", linewidth=1.2)
    axes[1].set_xlabel("position")
    axes[1].set_title("waveforms of single dimensions")
    axes[1].legend(fontsize=8, loc="upper right")
    image = axes[2].imshow(similarities.cpu().numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    axes[2].set_xlabel("position")
    axes[2].set_ylabel("position")
    axes[2].set_title("cosine similarity of positions")
    figure.colorbar(image, ax=axes[2])
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, tight=False)


def draw_gradient_flow(curves: dict[str, torch.Tensor], path: Path, title: str,
                       history: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                       clip: float | None = None) -> Path:
    """Left: per run, the (N, K + 1) norms of d loss_T / d h_{T-k} as the median over windows against k with the
    25-75% band, log scale (a norm that underflowed to 0 ends its line). Right (where `history` is given): each
    run's gradient norm before clipping per training step, and the clipping threshold."""
    panels = 2 if history else 1
    figure, axes = pyplot().subplots(1, panels, figsize=(7.5 * panels, 5), dpi=DPI, squeeze=False)
    axis = axes[0, 0]
    for label, norms in curves.items():
        values = norms.double().cpu().numpy()
        values[values <= 0] = np.nan                                   # underflowed: no point on a log scale
        steps = np.arange(values.shape[1])
        with np.errstate(all="ignore"):
            low, middle, high = np.nanpercentile(values, [25, 50, 75], axis=0) if np.isfinite(values).any() \
                else np.full((3, values.shape[1]), np.nan)
        axis.plot(steps, middle, label=label, linewidth=1.6)
        axis.fill_between(steps, low, high, alpha=0.25)
    axis.set_yscale("log")
    axis.set_xlabel("k: steps back from the predicted token")
    axis.set_ylabel("|| d loss_T / d h_(T-k) ||")
    axis.set_title("the error signal back through time (median, 25-75%)")
    axis.legend(fontsize=8)
    if history:
        axis = axes[0, 1]
        for label, (steps, norms) in history.items():
            axis.plot(steps, norms, label=label, linewidth=0.8)
        if clip:
            axis.axhline(clip, color="black", linestyle="--", linewidth=1, label=f"clip at {clip:g}")
        axis.set_yscale("log")
        axis.set_xlabel("training step")
        axis.set_ylabel("gradient norm before clipping")
        axis.set_title("exploding gradients and clipping")
        axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, tight=False)


def draw_layer_weights(shares: torch.Tensor, gamma: float, path: Path, title: str) -> Path:
    """ELMo's softmax-normalised layer weights s_j as bars (layer 0: the character-CNN token layer), gamma noted."""
    figure, axis = pyplot().subplots(figsize=(6, 4), dpi=DPI)
    values = shares.detach().cpu().numpy()
    names = ["tokens (0)"] + [f"biLM layer {j}" for j in range(1, len(values))]
    bars = axis.bar(names, values, color="tab:blue")
    axis.bar_label(bars, [f"{v:.3f}" for v in values], fontsize=8)
    axis.axhline(1 / len(values), color="grey", linestyle=":", linewidth=1, label="equal weights")
    axis.set_ylim(0, max(1.05 * float(values.max()), 1 / len(values) * 1.2))
    axis.set_ylabel("softmax(w)_j")
    axis.set_title(f"{title}\ngamma = {gamma:.3f}", fontsize=10)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path, tight=False)
