"""Atomic file writing: an artefact either exists whole or not at all, and a write that fails says so in one line.

The bytes go to a temporary file in the destination's folder, are flushed to the disk
(fsync), and only then renamed over the destination, so a crash, a kill or a full disk
leaves the previous file (or none), never a cut one. A write the system refuses (a full
disk, a read-only folder, no permission, a path through a file) is one `UserError` that
names the path and the free space, which the commands print as one line, exit status 2.
"""

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from lm_experiments.errors import UserError

# what a write inside the block can fail with that is about the destination, not the caller's own reading
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM}


def nearest_existing(path: Path) -> Path:
    """`path` itself if it exists, else its nearest existing parent folder (where a write would have to start)."""
    existing = Path(path).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def free_space(path: Path) -> str:
    """The free space on the disk holding `path` (or its nearest existing folder), for messages."""
    try:
        free = float(shutil.disk_usage(nearest_existing(path)).free)
    except OSError:
        return "free space unknown"
    if free < 1024:
        return f"{free:,.0f} bytes free"
    for unit in ("KB", "MB", "GB", "TB"):
        free /= 1024
        if free < 1024 or unit == "TB":
            break
    return f"{free:,.1f} {unit} free"


def write_failed(path: Path, error: OSError) -> UserError:
    """One line for a refused write: the path, the system's reason, the free space."""
    reason = error.strerror or type(error).__name__
    return UserError(f"Cannot write {path}: {reason} ({free_space(path)} on its disk).")


def _default_file_mode() -> int:
    """The mode `open(path, "w")` would give a new file (0o666 minus the umask); mkstemp uses 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds.

    A crash or an exception inside the block leaves no partial file behind, which
    matters because later runs trust any file they find (vectors, caches).
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"Cannot write {path}: it is a folder.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise write_failed(path, error) from None
    try:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": "\n"}
        try:
            with os.fdopen(fd, mode, **kwargs) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, _default_file_mode())
            os.replace(tmp, path)
        except OSError as error:
            if error.errno in WRITE_ERRNOS or isinstance(error, IsADirectoryError):
                raise write_failed(path, error) from None
            raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
