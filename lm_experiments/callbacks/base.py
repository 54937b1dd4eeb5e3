"""Our callbacks name what they need from a task; the run gives a task only the callbacks it can serve."""

from typing import ClassVar

import lightning as L

from lm_experiments.tasks.base import Provides


class TaskCallback(L.Callback):
    """A callback that reads something only some tasks provide (`requires`, one of `Provides`)."""

    requires: ClassVar[Provides]
