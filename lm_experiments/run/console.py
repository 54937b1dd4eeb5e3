"""A clean first screen: our log lines, the progress bar and the result table, not third-party noise.

Each filter names one message and where it comes from; every other warning still shows.
- Lightning's advertisement for its cloud logger ("💡 Tip: ... litlogger"), logged at INFO on every run.
- Lightning's "GPU available: False, used: False" and "TPU available: False, using: 0 TPU cores" on a machine
  without them (a GPU that is there still says so), and "Loading `train_dataloader` to estimate number of
  stepping batches", said before every schedule is built.
- PyTorch's FutureWarning about `LeafSpec`, raised inside Lightning's own `_pytree` helper on every fit:
  nothing a user of Lightning can change.
- PyTorch's note that LSTMs with projections (ELMo's) fall back from oneDNN to the default CPU kernel: the
  same numbers, and nothing to act on.
- Lightning's "Found N module(s) in eval mode at the start of training": a classifier reading ELMo keeps
  the frozen biLM in eval mode on purpose (no dropout inside it, `models/elmo_vectors.py`); no other
  model of ours leaves a module in eval mode.
The CSV logger's "directory exists and is not empty" warning is not filtered: its cause, our own files in
the run folder, is handled in `run/csv_log.py`.
"""

import logging
import re
import warnings

RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


NOISE = re.compile(r"litlogger|^(GPU|TPU|HPU) available: False|^Loading `train_dataloader` to estimate")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return NOISE.search(record.getMessage()) is None


_NOISE = _DropNoise()


def quiet_third_party_noise() -> None:
    """Install the filters above (idempotent: safe for every run of a multirun or a notebook)."""
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _NOISE not in logger.filters:
            logger.addFilter(_NOISE)
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning, module=r"lightning\.pytorch\.utilities\._pytree")
    warnings.filterwarnings("ignore", message=r"LSTM with projections is not supported with oneDNN",
                            category=UserWarning, module=r"torch\.nn\.modules\.rnn")
    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode at the start of training",
                            category=UserWarning, module=r"lightning\.pytorch\.loops\.fit_loop")
