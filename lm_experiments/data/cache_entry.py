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

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from lm_experiments.errors import UserError
from lm_experiments.files import folder_write_failed, remove_stale_temporaries, temporary_prefix

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
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


CACHE_SETTING = "paths.cache_dir (or LM_EXPERIMENTS_CACHE)"


def _inside(error: OSError, folder: Path) -> bool:
    """Whether `error` is about a path in `folder` (or has no path: a write to an open file)."""
    if error.filename is None:
        return True
    try:
        return Path(os.fsdecode(error.filename)).absolute().is_relative_to(Path(folder).absolute())
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def _cache_writes(what: str, folder: Path, within: Path | None = None):
    """An OSError about writing into the cache (under `within`, default everywhere) becomes one line saying what
    to do; others (a corpus file the build reads) pass through."""
    try:
        yield
    except OSError as error:
        if within is not None and not _inside(error, within):
            raise
        raise folder_write_failed(what, folder, error, CACHE_SETTING) from None


def build_entry(target: Path, build: Callable[[Path], None], what: str = "cache entry") -> bool:
    """Run `build(tmpdir)`, write the manifest, and move the folder into place; a crash leaves no entry.
    False if another process placed its entry first (theirs is kept)."""
    with _cache_writes(what, target.parent):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), dir=target.parent))
    try:
        with _cache_writes(what, target.parent, within=tmp):
            build(tmp)
        with _cache_writes(what, target.parent):
            _write_manifest(tmp)
            try:
                os.rename(tmp, target)
            except OSError:
                if not target.is_dir():
                    raise
                return False  # another process won the race
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_entry(target: Path, build: Callable[[Path], None], what: str) -> bool:
    """Make sure an intact entry is at `target`, building (or rebuilding) it if needed; True if it was reused.
    What is read is always what verified: an entry that cannot be replaced stops the run in one line."""
    remove_stale_temporaries(target.parent)
    if target.is_dir():
        problem = entry_problem(target)
        if problem is None:
            return True
        log.warning("The cached %s in %s is damaged (%s): rebuilding it.", what, target, problem)
        shutil.rmtree(target, ignore_errors=True)
        if target.exists():
            if entry_problem(target) is None:  # another process rebuilt it meanwhile
                return True
            raise _stuck(what, target, problem, "removed")
    if not build_entry(target, build, what):
        problem = entry_problem(target)
        if problem is not None:
            raise _stuck(what, target, problem, "replaced")
    return False


def _stuck(what: str, target: Path, problem: str, could_not: str) -> UserError:
    """A damaged entry this process cannot get rid of (another user's, in a shared cache): never read."""
    return UserError(f"The cached {what} in {target} is damaged ({problem}) and could not be {could_not}: remove it "
                     f"by hand (or ask its owner to), or point {CACHE_SETTING} elsewhere.")
