"""Compare finished runs offline: `lm-compare outputs/train/multiruns/<date>_<time>`.

Prints one row per run: the settings that differ between the runs (the overrides of a
Hydra multirun, or for runs started one by one the config values that differ) next to
their final metrics (`metrics.json`), sorted by a metric; `--aggregate KEY` folds the
runs that differ only in KEY (the folds of a cross-validation, the seeds) into one row
of means and standard deviations; `--plot METRIC --x KEY` writes a PNG of that metric
against a swept setting, one line per combination of the other swept settings; `--samples`
prints each language model's last generated texts. The same comparison a W&B dashboard
gives, without an account.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lm_experiments.errors import UserError
from lm_experiments.run.folder import METRICS_FILE, SAMPLES_FILE, is_finished, read_config, read_metrics, read_overrides
from lm_experiments.run.metric_direction import lower_is_better

# Shown when present and no --metrics are named: the quality, perplexity and speed figures.
DEFAULT_METRICS = ("val/analogy", "val/ws353", "val/simlex", "val/ppl", "test/ppl", "val/pseudo_ppl",
                   "test/pseudo_ppl", "test/acc", "val/acc_best", "test/macro_f1", "train/words_per_sec_mean",
                   "time/total_sec")


@dataclass
class Run:
    folder: Path
    settings: dict[str, str]
    metrics: dict[str, float]
    name: str = field(default="")


def _flatten(node, prefix: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: json.dumps(node) if isinstance(node, list) else str(node)}


def _config_values(folder: Path) -> dict[str, str]:
    """Every resolved config value, except those that only name the run's own folder."""
    values = _flatten(read_config(folder))
    return {k: v for k, v in values.items() if str(folder) not in v and not k.startswith("paths.")}


def find_runs(paths: list[str]) -> list[Run]:
    """Every finished run (a folder with `metrics.json`) at or under the given folders, in path order."""
    folders: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise UserError(f"{path} is not a folder (pass a run folder or a multirun folder).")
        found = [path] if is_finished(path) else sorted(
            (p.parent for p in path.rglob(METRICS_FILE)), key=_natural_key)
        if not found:
            raise UserError(f"no finished run under {path} (a finished run has {METRICS_FILE}).")
        folders += [f for f in found if f not in folders]
    overrides = [read_overrides(f) for f in folders]
    use_overrides = all(o is not None for o in overrides)
    found_runs = [Run(f, o if use_overrides else _config_values(f), read_metrics(f))
                  for f, o in zip(folders, overrides, strict=True)]
    for run in found_runs:
        run.name = _run_name(run.folder, folders)
    return found_runs


def _natural_key(path: Path):
    """Multirun job folders 0, 1, ..., 10 in numeric order."""
    return [int(part) if part.isdigit() else part for part in path.parts]


def _run_name(folder: Path, folders: list[Path]) -> str:
    if len(folders) == 1:
        return folder.name
    common = Path(*_common_parts([f.parts for f in folders]))
    relative = folder.relative_to(common) if folder != common else Path(folder.name)
    return str(relative)


def _common_parts(parts: list[tuple[str, ...]]) -> tuple[str, ...]:
    shortest = min(parts, key=len)
    for i, part in enumerate(shortest):
        if any(p[i] != part for p in parts):
            return shortest[:i]
    return shortest


def varying_settings(runs: list[Run]) -> list[str]:
    """Setting keys whose values are not the same in every run, in first-seen order."""
    keys = list(dict.fromkeys(k for run in runs for k in run.settings))
    return [k for k in keys if len({run.settings.get(k) for run in runs}) > 1]


def sort_runs(runs: list[Run], metric: str | None, ascending: bool | None = None) -> list[Run]:
    """Best first by `metric` (ascending for perplexities, losses and times; descending otherwise);
    runs without the metric (or with nan) last."""
    if metric is None:
        return list(runs)
    if not any(metric in run.metrics for run in runs):
        known = sorted({k for run in runs for k in run.metrics})
        raise UserError(f"no run has the metric {metric!r}; the runs have: {', '.join(known)}")
    ascending = lower_is_better(metric) if ascending is None else ascending

    def key(run: Run):
        value = run.metrics.get(metric, math.nan)
        missing = math.isnan(value)
        return (missing, 0.0 if missing else (value if ascending else -value))

    return sorted(runs, key=key)


def chosen_metrics(runs: list[Run], names: list[str] | None) -> list[str]:
    present = {k for run in runs for k in run.metrics}
    if names:
        unknown = [n for n in names if n not in present]
        if unknown:
            raise UserError(f"no run has the metric(s) {', '.join(unknown)}; the runs have: "
                               f"{', '.join(sorted(present))}")
        return names
    return [m for m in DEFAULT_METRICS if m in present] or sorted(present)


def format_value(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"


def comparison_rows(runs: list[Run], metrics: list[str]) -> tuple[list[str], list[list[str]]]:
    """(header, rows): run, each varying setting, each metric."""
    settings = varying_settings(runs)
    header = ["run", *settings, *metrics]
    rows = [[run.name, *(run.settings.get(k, "-") for k in settings),
             *(format_value(run.metrics.get(m)) for m in metrics)] for run in runs]
    return header, rows


@dataclass
class Group:
    """Runs that differ only in the aggregated setting: their shared settings and every metric's values."""

    settings: dict[str, str]
    values: dict[str, list[float]]
    size: int

    def mean(self, metric: str) -> float:
        values = self.values.get(metric, [])
        return sum(values) / len(values) if values else math.nan

    def std(self, metric: str) -> float:
        """Sample standard deviation (n - 1), as spreads over folds and seeds are reported."""
        values = self.values.get(metric, [])
        if len(values) < 2:
            return math.nan
        mean = self.mean(metric)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def aggregate(runs: list[Run], key: str) -> list[Group]:
    """Fold the runs that share every varying setting but `key` into groups, in first-seen order."""
    if not any(key in run.settings for run in runs):
        raise UserError(f"no run sets {key!r}; the settings that vary are: "
                        f"{', '.join(varying_settings(runs)) or 'none'}")
    others = [k for k in varying_settings(runs) if k != key]
    groups: dict[tuple, Group] = {}
    for run in runs:
        shared = {k: run.settings.get(k, "-") for k in others}
        group = groups.setdefault(tuple(shared.values()), Group(shared, {}, 0))
        group.size += 1
        for metric, value in run.metrics.items():
            if math.isfinite(value):
                group.values.setdefault(metric, []).append(value)
    return list(groups.values())


def aggregate_rows(groups: list[Group], metrics: list[str], sort_by: str,
                   ascending: bool | None) -> tuple[list[str], list[list[str]]]:
    """(header, rows): each group's settings, its number of runs, and mean ± std of each metric."""
    ascending = lower_is_better(sort_by) if ascending is None else ascending
    groups = sorted(groups, key=lambda g: (math.isnan(g.mean(sort_by)),
                                           g.mean(sort_by) if ascending else -g.mean(sort_by)))
    settings = list(groups[0].settings) if groups else []
    header = [*settings, "runs", *metrics]
    rows = [[*(g.settings[k] for k in settings), str(g.size),
             *(f"{format_value(g.mean(m))} ± {format_value(g.std(m))}" for m in metrics)] for g in groups]
    return header, rows


def print_table(header: list[str], rows: list[list[str]], title: str) -> None:
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=max(120, 14 * len(header))).print(table)


def _as_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def plot_metric(runs: list[Run], metric: str, x_key: str, path: Path) -> Path:
    """`metric` against the setting `x_key`, one line per combination of the other varying settings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not any(x_key in run.settings for run in runs):
        raise UserError(f"no run sets {x_key!r}; the settings that vary are: "
                           f"{', '.join(varying_settings(runs)) or 'none'}")
    others = [k for k in varying_settings(runs) if k != x_key]
    lines: dict[str, list[tuple[str, float]]] = {}
    for run in runs:
        if x_key in run.settings and metric in run.metrics:
            label = ", ".join(f"{k}={run.settings.get(k, '-')}" for k in others) or metric
            lines.setdefault(label, []).append((run.settings[x_key], run.metrics[metric]))
    x_values = sorted({x for points in lines.values() for x, _ in points},
                      key=lambda v: (_as_number(v) is None, _as_number(v) or 0.0, v))
    numeric = all(_as_number(v) is not None for v in x_values)
    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for label, points in lines.items():
        points.sort(key=lambda p: x_values.index(p[0]))
        xs = [float(x) if numeric else x_values.index(x) for x, _ in points]
        axes.plot(xs, [y for _, y in points], marker="o", label=label)
    if not numeric:
        axes.set_xticks(range(len(x_values)), x_values)
    axes.set_xlabel(x_key)
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} against {x_key}")
    if len(lines) > 1 or others:
        axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def print_samples(runs: list[Run], count: int) -> None:
    """Each run's last `count` generated texts, under its name (runs that generate none are skipped)."""
    console = Console()
    for run in runs:
        path = run.folder / SAMPLES_FILE
        if not path.is_file():
            continue
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        console.print(f"[bold]{run.name or run.folder.name}[/bold]: {SAMPLES_FILE}, last {min(count, len(lines))}")
        for line in lines[-count:]:
            console.print(f"  {line}", markup=False, highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lm-compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="a multirun folder, run folders, or folders holding runs")
    parser.add_argument("--sort", help="metric to sort by (default: the first metric shown)")
    parser.add_argument("--ascending", action="store_true", default=None,
                        help="smallest first (the default for perplexity, loss and time metrics)")
    parser.add_argument("--descending", dest="ascending", action="store_false", help="largest first")
    parser.add_argument("--metrics", help="comma-separated metrics to show (default: quality, perplexity, speed)")
    parser.add_argument("--aggregate", metavar="KEY", help="one row of mean ± std over the runs that differ only "
                                                           "in this setting (e.g. data.fold, seed)")
    parser.add_argument("--plot", metavar="METRIC", help="also plot this metric ...")
    parser.add_argument("--x", metavar="KEY", help="... against this swept setting (e.g. data.window)")
    parser.add_argument("--out", help="PNG path (default: <first folder>/compare_<metric>_vs_<key>.png)")
    parser.add_argument("--samples", nargs="?", type=int, const=3, default=0, metavar="N",
                        help="also print each language model's last N generated texts (samples.txt; N=3)")
    args = parser.parse_args(argv)
    try:
        if bool(args.plot) != bool(args.x):
            raise UserError("--plot METRIC and --x KEY go together.")
        runs = find_runs(args.folders)
        metrics = chosen_metrics(runs, [m for m in (args.metrics or "").split(",") if m])
        sort_by = args.sort or metrics[0]
        shown = [sort_by, *(m for m in metrics if m != sort_by)]  # sort key first
        if args.aggregate:
            groups = aggregate(runs, args.aggregate)
            header, rows = aggregate_rows(groups, shown, sort_by, args.ascending)
            print_table(header, rows, f"{len(runs)} runs in {len(groups)} groups over {args.aggregate}: "
                                      f"mean ± std, sorted by {sort_by}")
        else:
            runs = sort_runs(runs, sort_by, args.ascending)
            header, rows = comparison_rows(runs, shown)
            print_table(header, rows, f"{len(runs)} runs, sorted by {sort_by}")
        if args.samples:
            print_samples(runs, args.samples)
        if args.plot:
            if not any(args.plot in run.metrics for run in runs):
                raise UserError(f"no run has the metric {args.plot!r}.")
            default = Path(args.folders[0]) / f"compare_{args.plot.replace('/', '_')}_vs_{args.x}.png"
            print(f"wrote {plot_metric(runs, args.plot, args.x, Path(args.out) if args.out else default)}")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
