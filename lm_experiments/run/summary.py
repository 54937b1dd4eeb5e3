"""The table of final metrics printed at the end of every run."""

import math

from rich.console import Console
from rich.table import Table


def metrics_table(metrics: dict[str, float], title: str | None = None, headline: tuple[str, ...] = ()) -> Table:
    """One row per metric: the task's headline metrics first (as it declares them), then the rest by name."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    first = [name for name in headline if name in metrics]
    for name in first + sorted(set(metrics) - set(first)):
        value = metrics[name]
        shown = "nan" if math.isnan(value) else (f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}")
        table.add_row(name, shown)
    return table


def print_metrics(metrics: dict[str, float], title: str = "Final metrics", headline: tuple[str, ...] = ()) -> None:
    """The title on a line of its own above the table (a table's own title wraps to the table's width)."""
    console = Console()
    console.print(title, style="bold", markup=False, highlight=False, overflow="ignore", crop=False, soft_wrap=True)
    console.print(metrics_table(metrics, headline=headline))
