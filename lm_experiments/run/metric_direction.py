"""Which way a metric improves, decided once by its name, for every place that ranks runs or epochs.

`lm-compare` sorts runs by it, and the checkpoint and early-stopping callbacks take their
`mode` from it (`${metric_mode:${optimized_metric}}` in their configs), so a sweep over
`optimized_metric=val/ws353` keeps the best epoch by the highest correlation without
another setting.
"""

from omegaconf import OmegaConf

LOWER_IS_BETTER = ("ppl", "loss", "time/", "oov")


def lower_is_better(metric: str) -> bool:
    return any(marker in metric for marker in LOWER_IS_BETTER)


def metric_mode(metric: str | None) -> str:
    """Lightning's `mode` for monitoring `metric`: "min" for perplexities, losses, times and OOV shares, else "max"
    (and "min" for no metric, where a callback monitors nothing and the value is unused)."""
    return "min" if metric is None or lower_is_better(metric) else "max"


def register_resolvers() -> None:
    """`${metric_mode:...}` in the configs; safe to call more than once."""
    if not OmegaConf.has_resolver("metric_mode"):
        OmegaConf.register_new_resolver("metric_mode", metric_mode)


register_resolvers()
