"""The model's parts and parameter counts when training starts, in as few lines as say something."""

from typing import Any

from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import get_formatted_model_size, get_human_readable_count


class ModelSummary(RichModelSummary):
    """Lightning's rich summary without what is empty on our runs: the FLOPs column and total when nothing was
    counted (our models declare no example input), the Mode column when every module trains; the totals in
    one line instead of seven."""

    @staticmethod
    def summarize(summary_data: list[tuple[str, list[str]]], total_parameters: int, trainable_parameters: int,
                  model_size: float, total_training_modes: dict[str, int], total_flops: int,
                  **summarize_kwargs: Any) -> None:
        from rich import get_console
        from rich.table import Table

        empty = set()
        if not total_flops:
            empty.add("FLOPs")
        if not total_training_modes.get("eval"):
            empty.add("Mode")
        kept = [(name, values) for name, values in summary_data if name not in empty]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        for name, _ in kept:
            table.add_column(name, justify="right" if name in ("Params", "FLOPs") else "left",
                             style="dim" if name == " " else None, no_wrap=name == "Name")
        for row in zip(*(values for _, values in kept)):
            table.add_row(*row)
        frozen = total_parameters - trainable_parameters
        totals = (f"{get_human_readable_count(int(trainable_parameters)).strip()} trainable parameters, "
                  f"{get_human_readable_count(int(frozen)).strip()} frozen, {get_formatted_model_size(model_size)} MB")
        if total_flops:
            totals += f", {get_human_readable_count(total_flops)} FLOPs"
        console = get_console()
        console.print(table)
        console.print(totals)
