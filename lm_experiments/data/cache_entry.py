"""Cache entries (a tokenized corpus, its encoding under one vocabulary, a co-occurrence matrix) that are
built atomically, verified when opened, and rebuilt when damaged.

An entry is a folder built under a temporary name and renamed into place, with a
`manifest.json` written last that records every file's size and BLAKE2 checksum.
Opening an entry checks them; a damaged entry (a file cut short, overwritten, missing)
is reported in one line and rebuilt, never read. Temporary folders and partial
downloads carry the host and process id of their builder, so the next run on the same
host removes those whose process is gone (a run killed while tokenizing) and leaves a
concurrent builder's alone.
"""

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<host>[^.]+)\.(?P<pid>\d+)\.[^.]+$")


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
    """Delete the temporary files and folders in `folder` whose builder on this host has died."""
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


def _checksum(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(folder: Path) -> None:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = {p.name: {"size": p.stat().st_size, "blake2b": _checksum(p)} for p in files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def entry_problem(folder: Path) -> str | None:
    """What is wrong with a built entry (a file missing, of another size or content), or None if it is intact."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"its {MANIFEST} is missing or unreadable"
    for name, expected in manifest.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != expected["size"]:
            return f"{name} is {size} bytes, {expected['size']} when it was written"
        if _checksum(path) != expected["blake2b"]:
            return f"{name} changed since it was written"
    return None


def build_entry(target: Path, build: Callable[[Path], None]) -> None:
    """Run `build(tmpdir)`, write the manifest, and move the folder into place; a crash leaves no entry."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), dir=target.parent))
    try:
        build(tmp)
        _write_manifest(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # another process won the race: keep theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_entry(target: Path, build: Callable[[Path], None], what: str) -> bool:
    """Make sure an intact entry is at `target`, building (or rebuilding) it if needed; True if it was reused."""
    remove_stale_temporaries(target.parent)
    if target.is_dir():
        problem = entry_problem(target)
        if problem is None:
            return True
        log.warning("The cached %s in %s is damaged (%s): rebuilding it.", what, target, problem)
        shutil.rmtree(target, ignore_errors=True)
    build_entry(target, build)
    return False
