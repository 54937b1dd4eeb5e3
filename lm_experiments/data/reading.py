"""Reading text from plain, gzip and zip files without loading a whole giant line at once."""

import gzip
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lm_experiments.errors import UserError

PIECE_CHARS = 1 << 22  # text8 is one 100 MB line: read it in 4M-character pieces


def open_text(path: Path, member: str | None = None, encoding: str = "utf-8") -> io.TextIOBase:
    """Open `path` as text, transparently decompressing .gz and .zip files.

    A zip must hold one file, or `member` names the one to read.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Data file {path} does not exist (or is not a file). Check data.path.")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="\n")
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if member is None:
            if len(names) != 1:
                raise UserError(f"{path} holds {len(names)} files; expected exactly one text file.")
            member = names[0]
        return io.TextIOWrapper(archive.open(member), encoding=encoding, newline="\n")
    return open(path, encoding=encoding, newline="\n")


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
