"""Atomic file writing: an artefact either exists whole or not at all, and a write that fails says so in one line.

The bytes go to a temporary file in the destination's folder, are flushed to the disk
(fsync), and only then renamed over the destination, so a crash, a kill or a full disk
leaves the previous file (or none), never a cut one. A write the system refuses (a full
disk, a read-only folder, no permission, a path through a file) is one `UserError` that
names the path and the free space, which the commands print as one line, exit status 2.
"""

import contextlib
import errno
import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from lm_experiments.errors import UserError

log = logging.getLogger(__name__)

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


NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
TOO_MANY_OPEN = {errno.EMFILE, errno.ENFILE}


def folder_write_failed(what: str, folder: Path, error: OSError, setting: str) -> UserError:
    """One line for a folder we write into (a cache, scratch) that refused: the reason and what to do about that
    reason, `setting` being the option that moves the folder."""
    reason = error.strerror or str(error)
    if error.errno in NO_ROOM:
        advice = f"free space there ({free_space(folder)}) or point {setting} at a disk with room"
    elif error.errno in NOT_WRITABLE:
        advice = f"point {setting} at a folder you can write"
    elif error.errno in TOO_MANY_OPEN:
        advice = "raise the limit on open files (ulimit -n) and run again"
    else:
        advice = f"check the folder, or point {setting} elsewhere"
    return UserError(f"Could not write the {what} into {folder} ({reason}): {advice}.")


def write_failed(path: Path, error: OSError) -> UserError:
    """One line for a refused write: the path, the system's reason, the free space."""
    reason = error.strerror or type(error).__name__
    return UserError(f"Cannot write {path}: {reason} ({free_space(path)} on its disk).")


TEMPORARY_SUFFIX = ".tmp"  # of a file written atomically (a scratch folder has none)
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<host>[^.]+)\.(?P<pid>\d+)\.[^.]+(\.tmp)?$")


def temporary_prefix(name: str) -> str:
    """The prefix of a temporary file or folder building `name`: hidden, naming this host and process."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
    return f".{name}.{host}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files and folders in `folder` whose builder on this host has died (a run killed while
    it wrote an artefact, counted into scratch or built a cache entry): every temporary we make is named by
    `temporary_prefix`, so the next run in the same folder finds what a dead one left."""
    if not folder.is_dir():
        return
    host = temporary_prefix("x").split(".")[2]
    for path in folder.iterdir():
        match = _TEMPORARY.match(path.name)
        if match is None or match["host"] != host or _alive(int(match["pid"])):
            continue
        log.info("removing %s, left behind by a run that stopped while building it", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def scratch_folder(name: str, parent: Path | None = None) -> tempfile.TemporaryDirectory:
    """A temporary folder in `parent` (TMPDIR by default), removed when the block ends, and named so that the next
    run removes it if this process is killed first (a dead run's n-gram counts can hold gigabytes)."""
    parent = Path(tempfile.gettempdir() if parent is None else parent)
    remove_stale_temporaries(parent)
    return tempfile.TemporaryDirectory(prefix=temporary_prefix(name), dir=parent)


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
        remove_stale_temporaries(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name), suffix=TEMPORARY_SUFFIX, dir=path.parent)
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
