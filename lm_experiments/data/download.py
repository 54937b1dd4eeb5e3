"""Download a public file once into the cache, verify it, and fail clearly when offline."""

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from lm_experiments.data.cache_entry import remove_stale_temporaries, temporary_prefix
from lm_experiments.errors import UserError


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: Path, md5: str | None, corpus: str, timeout: float = 30.0) -> Path:
    """Return `dest`, downloading `url` into it first if it is not already cached.

    The download goes to a temporary file that is renamed only after the checksum
    matches, so an interrupted or corrupted download is never mistaken for data.
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest.parent)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(dest.name), suffix="-part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        if md5 is not None and (got := md5sum(Path(tmp))) != md5:
            raise UserError(
                f"The {corpus} download from {url} is corrupt (md5 {got}, expected {md5}). "
                f"Try again, or download it yourself and pass data.path=/path/to/the/file."
            )
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise UserError(
            f"Could not download the {corpus} corpus from {url} ({error}). If this machine is offline, "
            f"copy the file here some other way and pass data.path=/path/to/the/file "
            f"(plain text, .gz or .zip are all read)."
        ) from error
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
