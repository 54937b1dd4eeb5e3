"""Reading text from plain, gzip and zip files without loading a whole giant line at once.

Every way a corpus file can be unreadable is one `UserError` naming the file and what is
wrong with it: missing, not a regular file (a folder, a device such as /dev/null), an
encoding Python does not know, a .gz or .zip that is not one, and a compressed file cut short
or damaged (a download that stopped), found when the reading reaches the damage.
"""

import codecs
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from lm_experiments.errors import UserError

# what reading a damaged or cut compressed file raises, somewhere in the middle
DAMAGED = (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile)

PIECE_CHARS = 1 << 22  # text8 is one 100 MB line: read it in 4M-character pieces


def open_text(path: Path, member: str | None = None, encoding: str = "utf-8") -> io.TextIOBase:
    """Open `path` as text, transparently decompressing .gz and .zip files.

    A zip must hold one file, or `member` names the one to read.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"Data file {path} does not exist. Check data.path.")
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a device or a pipe)"
        raise UserError(f"Data file {path} is {kind}: data.path names a text file (plain, .gz or .zip) or a folder of "
                        f"split files.")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"{path}: {encoding!r} is not a text encoding Python knows (data.corpus.encoding: utf-8, "
                        f"latin-1, cp1252, ...).") from None
    if path.suffix == ".gz":
        with open(path, "rb") as raw:
            if raw.read(2) != b"\x1f\x8b":
                raise UserError(f"{path} is not a gzip file (its first bytes are not gzip's): rename it, or "
                                f"download it again.")
        return CheckedText(gzip.open(path, "rt", encoding=encoding, newline="\n"), path)
    if path.suffix == ".zip":
        if not zipfile.is_zipfile(path):
            raise UserError(f"{path} is not a zip archive, or it was cut short: download it again.")
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if member is None:
            if len(names) != 1:
                raise UserError(f"{path} holds {len(names)} files; expected exactly one text file.")
            member = names[0]
        return CheckedText(io.TextIOWrapper(archive.open(member), encoding=encoding, newline="\n"), path)
    return open(path, encoding=encoding, newline="\n")


class CheckedText:
    """A compressed file's text handle whose reads turn damage into one `UserError` naming the file."""

    def __init__(self, handle, path: Path):
        self.handle, self.path = handle, path

    def _read(self, method, *args):
        try:
            return method(*args)
        except DAMAGED as error:
            raise UserError(f"{self.path} is cut short or damaged ({type(error).__name__}: {error}): download it "
                            f"again, or check the file.") from None

    def read(self, *args) -> str:
        return self._read(self.handle.read, *args)

    def readline(self, *args) -> str:
        return self._read(self.handle.readline, *args)

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def text_size(path: Path, member: str | None = None) -> int:
    """The uncompressed size in bytes of what `open_text` reads (for progress): the file's size, a zip
    member's recorded size, or a gzip's ISIZE trailer (the size modulo 2^32: an estimate beyond 4 GiB)."""
    path = Path(path)
    if path.suffix == ".gz":
        with open(path, "rb") as handle:
            handle.seek(-4, 2)
            return int.from_bytes(handle.read(4), "little")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.filename.endswith("/")]
            return sum(i.file_size for i in infos if member is None or i.filename == member)
    return path.stat().st_size


def iter_line_pieces(handle: io.TextIOBase, piece_chars: int = PIECE_CHARS) -> Iterator[tuple[str, bool]]:
    """Yield `(text, ends_line)` pieces that never split a word.

    Lines longer than `piece_chars` come out in several pieces, cut at whitespace,
    and only the last has `ends_line=True`; so line ends (for `<eos>`) survive while
    memory stays bounded.
    """
    carry = ""
    while True:
        piece = handle.readline(piece_chars)
        if not piece:
            if carry:
                yield carry, True
            return
        piece = carry + piece
        carry = ""
        if piece.endswith("\n"):
            yield piece, True
            continue
        cut = max(piece.rfind(" "), piece.rfind("\t"))
        if cut <= 0:
            carry = piece  # no whitespace yet: the word continues in the next piece
            continue
        yield piece[:cut], False
        carry = piece[cut:]
