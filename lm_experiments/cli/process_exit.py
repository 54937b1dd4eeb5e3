"""Ending a command's process without Python's module teardown.

Once Lightning is imported (with it torch._dynamo, Triton's bindings, SciPy and SymPy), the
interpreter's own shutdown spends about 1.1 s on 2 CPU cores clearing modules and collecting
their objects: a second of every run's time to result, after the last file is written.
`exit_now` runs what the process registered to run at exit (logging's flush and close,
W&B's and multiprocessing's handlers, `weakref.finalize`'s temporary folders) and flushes the
standard streams, then leaves at once. Only objects' finalizers at teardown are skipped,
which Python never promises to run; everything the run writes is closed before it returns.
"""

import atexit
import contextlib
import os
import sys
from typing import NoReturn


def exit_now(status: int) -> NoReturn:
    atexit._run_exitfuncs()  # every handler, newest first, as the interpreter runs them; they are then cleared
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            stream.flush()
    os._exit(status)


def exit_status_of(stop: SystemExit) -> int | None:
    """The status a `SystemExit` asks for, or None where the interpreter itself must handle it (a message)."""
    if stop.code is None:
        return 0
    return stop.code if isinstance(stop.code, int) else None
