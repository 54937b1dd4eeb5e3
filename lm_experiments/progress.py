"""Progress of the long set-up steps (tokenizing a corpus, counting co-occurrences) as percentage log lines.

Log lines rather than a live bar: these steps run inside the data module's set-up, where
Lightning's own rich progress bar may already hold the terminal, and a line also lands in
the run's `train.log` and in CI logs. A line every `step` of the way, never more often
than every `seconds`, and one when done.
"""

import logging
import time


class ProgressLog:
    def __init__(self, logger: logging.Logger, description: str, total: float, unit: str = "",
                 step: float = 0.1, seconds: float = 2.0):
        self.logger, self.description, self.total, self.unit = logger, description, max(float(total), 1.0), unit
        self.step, self.seconds = step, seconds
        self.done, self._next, self._last = 0.0, step, time.monotonic()
        self._started = self._last

    def advance(self, amount: float, count: str = "") -> None:
        """`amount` more of the total done; `count` says what was made so far ("4.2M words")."""
        self.done += amount
        share = min(self.done / self.total, 0.99)  # (a total that was an estimate never reads 100% early)
        now = time.monotonic()
        if share >= self._next and now - self._last >= self.seconds:
            self.logger.info("%s: %d%%%s", self.description, int(100 * share), f" ({count})" if count else "")
            self._last = now
            self._next = share + self.step

    def finish(self, count: str = "") -> None:
        self.logger.info("%s: done in %.1f s%s", self.description, time.monotonic() - self._started,
                         f" ({count})" if count else "")
