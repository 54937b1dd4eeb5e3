"""Download a public file once into the cache, verify it, and fail clearly when offline.

The transfer is pooch's: a progress bar, retries on a broken connection or a bad checksum
(`RETRIES`), the file streamed to a temporary name and moved into place only once its md5
matches. Local `file://` sources (mirrors, tests) are copied through the same path.
"""

import logging
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from lm_experiments.data.cache_entry import remove_stale_temporaries
from lm_experiments.errors import UserError

RETRIES = 2  # after the first try, with a pause of 1, then 2 seconds
logging.getLogger("pooch").setLevel(logging.WARNING)  # its "Downloading ..." line repeats ours


def _copy_local(url: str, output_file, pooch_instance) -> None:
    """pooch's downloader protocol, for `file://` URLs (pooch itself speaks HTTP(S), FTP, SFTP and DOI)."""
    shutil.copyfile(unquote(urlparse(url).path), output_file)


def fetch(url: str, dest: Path, md5: str | None, corpus: str, timeout: float = 30.0) -> Path:
    """Return `dest`, downloading `url` into it first if it is not already cached.

    A download that fails or does not match `md5` leaves nothing behind, so an interrupted
    or corrupted download is never mistaken for data."""
    import pooch
    import requests

    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest.parent)
    source = pooch.create(path=dest.parent, base_url="", registry={dest.name: f"md5:{md5}" if md5 else None},
                          urls={dest.name: url}, retry_if_failed=RETRIES)
    local = urlparse(url).scheme == "file"
    downloader = _copy_local if local else pooch.HTTPDownloader(progressbar=True, timeout=timeout)
    try:
        source.fetch(dest.name, downloader=downloader)
    except ValueError as error:
        if "hash" not in str(error):
            raise
        raise UserError(
            f"The {corpus} download from {url} is corrupt (md5 does not match: {error}). "
            f"Try again, or download it yourself and pass data.path=/path/to/the/file."
        ) from error
    except (requests.exceptions.RequestException, OSError) as error:
        raise UserError(
            f"Could not download the {corpus} corpus from {url} ({error}). If this machine is offline, "
            f"copy the file here some other way and pass data.path=/path/to/the/file "
            f"(plain text, .gz or .zip are all read)."
        ) from error
    return dest
