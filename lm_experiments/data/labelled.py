"""Labelled sentence sets (`data=mr`, `sst`, `labelled_file`): where the text lives and how it splits.

A source returns its splits as lists of `Example`s with labels as written (strings);
the data module builds the vocabulary and the label set from the training split and
encodes everything once. Sets without an official split get a seeded one here: MR
is split into 10 disjoint folds for cross-validation (Kim 2014); a single labelled
file holds out `holdout` of its examples for each missing split.
"""

import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lm_experiments.data.corpora import SPLITS
from lm_experiments.data.download import fetch
from lm_experiments.data.reading import open_text
from lm_experiments.data.trees import Tree, parse_tree
from lm_experiments.errors import UserError, non_negative_int, positive_int
from lm_experiments.files import atomic_write

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """One labelled sentence: its tokens and label, and for treebanks its tree with a label per node
    (`node_labels[i]` None: node i is not a training example, an SST-2 neutral phrase)."""

    tokens: tuple[str, ...]
    label: str | None
    tree: Tree | None = None
    node_labels: tuple[str | None, ...] | None = None


def _read_lines(path: Path, encoding: str) -> list[str]:
    with open_text(path, encoding=encoding) as handle:
        try:
            return handle.read().splitlines()
        except UnicodeDecodeError as error:
            raise UserError(f"{path} is not {encoding} text ({error.reason} at byte {error.start}): set "
                            f"data.source.encoding (latin-1 reads any bytes).") from error


def _find(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for suffix in ("", ".gz"):
            if (folder / (name + suffix)).is_file():
                return folder / (name + suffix)
    return None


def held_out(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(kept, held out): a seeded random `fraction` of the examples set aside (Kim's 10% dev set)."""
    if not (isinstance(fraction, int | float) and 0 < fraction <= 0.5):
        raise UserError(f"data.holdout={fraction} must be above 0 and at most 0.5: the share of the training "
                        f"examples set aside (the rest is trained on).")
    order = np.random.default_rng(seed).permutation(len(examples))
    size = int(round(len(examples) * fraction))
    if size < 1 or size >= len(examples):
        raise UserError(f"Holding out {fraction:g} of {len(examples)} examples leaves none on one side: "
                        f"set data.holdout between 0 and 0.5, or give the split as a file.")
    held = set(order[:size].tolist())
    return ([e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held])


def fold_of(count: int, folds: int, seed: int) -> np.ndarray:
    """(count,) fold number of every example: a seeded permutation dealt round-robin, so the folds are
    disjoint, cover everything and differ in size by at most one."""
    fold = np.empty(count, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(count)] = np.arange(count) % folds
    return fold


class LabelledSource:
    """Base class: `splits(cache_dir)` -> {"train": [...], "valid": [...], "test": [...]}."""

    name = "labelled"

    def splits(self, cache_dir: Path) -> dict[str, list[Example]]:
        raise NotImplementedError


class MovieReviews(LabelledSource):
    """Pang & Lee's sentence polarity v1.0 (`rt-polarity.pos` / `.neg`, 5,331 each), with Kim's protocol:
    10-fold cross-validation (`fold` is the test fold, folds fixed by `split_seed`), and `holdout` of
    the other nine folds as the validation set (model selection)."""

    name = "mr"
    url = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
    lines_per_file = 5331
    files = {"positive": "rt-polarity.pos", "negative": "rt-polarity.neg"}

    def __init__(self, path: str | None = None, encoding: str = "utf-8", fold: int = 0, folds: int = 10,
                 holdout: float = 0.1, split_seed: int = 1234, url: str | None = None):
        self.path = Path(path).expanduser() if path else None
        self.encoding = encoding
        self.folds = positive_int(folds, "data.folds")
        if self.folds < 2:
            raise UserError(f"data.folds={folds}: cross-validation needs at least 2 folds.")
        self.fold = non_negative_int(fold, "data.fold")
        if self.fold >= self.folds:
            raise UserError(f"data.fold={fold} is not one of the {self.folds} folds (0..{self.folds - 1}).")
        self.holdout, self.split_seed = holdout, split_seed
        self.url = url or self.url

    def _folder(self, cache_dir: Path) -> Path:
        if self.path is not None:
            if not self.path.is_dir():
                raise UserError(f"data.path={self.path} is not a folder: data=mr reads a folder holding "
                                f"rt-polarity.pos and rt-polarity.neg (optionally .gz).")
            return self.path
        folder = Path(cache_dir) / "downloads" / "rt-polaritydata"
        if not all((folder / name).is_file() for name in self.files.values()):
            self._download(folder, Path(cache_dir))
        return folder

    def _download(self, folder: Path, cache_dir: Path) -> None:
        """Unpack the Cornell archive into the cache, as UTF-8 (the archive's text is Windows-1252), after
        checking each file's line count; a file is renamed into place only once it is whole."""
        archive = fetch(self.url, cache_dir / "downloads" / "rt-polaritydata.tar.gz", None, self.name)
        try:
            with tarfile.open(archive) as tar:
                for name in self.files.values():
                    member = next((m for m in tar.getmembers() if m.name.endswith("/" + name)), None)
                    if member is None:
                        raise UserError(f"{archive} has no {name}: delete it and run again.")
                    raw = tar.extractfile(member).read()
                    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("cp1252", errors="replace")
                    if text.count("\n") != self.lines_per_file:
                        raise UserError(f"{name} in {archive} has {text.count(chr(10))} lines, expected "
                                        f"{self.lines_per_file}; delete the archive and run again.")
                    with atomic_write(folder / name) as out:
                        out.write(text)
        except tarfile.TarError as error:
            raise UserError(f"{archive} is not a readable archive ({error}): delete it and run again.") from error

    def splits(self, cache_dir: Path) -> dict[str, list[Example]]:
        folder = self._folder(cache_dir)
        examples = []
        for label, name in self.files.items():
            path = _find(folder, (name,))
            if path is None:
                raise UserError(f"data.path={folder} has no {name} (or {name}.gz).")
            lines = [line.split() for line in _read_lines(path, self.encoding)]
            examples += [Example(tuple(tokens), label) for tokens in lines if tokens]
        if not examples:
            raise UserError(f"The MR files in {folder} hold no sentences.")
        fold = fold_of(len(examples), self.folds, self.split_seed)
        test = [e for e, f in zip(examples, fold) if f == self.fold]
        rest = [e for e, f in zip(examples, fold) if f != self.fold]
        train, valid = held_out(rest, self.holdout, self.split_seed + 1 + self.fold)
        log.info("MR fold %d of %d: %d train, %d valid, %d test sentences", self.fold, self.folds, len(train),
                 len(valid), len(test))
        return {"train": train, "valid": valid, "test": test}


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


SST_BINARY = {"0": "negative", "1": "negative", "2": None, "3": "positive", "4": "positive"}


class SentimentTreebank(LabelledSource):
    """The Stanford Sentiment Treebank's PTB-form trees (`train.txt`, `dev.txt`, `test.txt`, 8,544 / 1,101 /
    2,210 sentences). `labels=fine`: SST-5, labels 0-4; `binary`: SST-2, 0-1 negative, 3-4 positive, and
    neutral nodes are not examples (sentences with a neutral root are dropped, except as a source of
    labelled phrases with `phrases`)."""

    name = "sst"
    url = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
    md5 = "5c3b23ce88089053fd3efeb4a34f614d"
    split_names = {"train": ("train.txt",), "valid": ("dev.txt", "valid.txt"), "test": ("test.txt",)}

    def __init__(self, path: str | None = None, encoding: str = "utf-8", labels: str = "fine",
                 phrases: bool = False, url: str | None = None):
        if labels not in ("fine", "binary"):
            raise UserError(f"data.labels must be fine (SST-5) or binary (SST-2); got {labels!r}.")
        self.path = Path(path).expanduser() if path else None
        self.encoding, self.labels, self.phrases = encoding, labels, bool(phrases)
        self.url = url or self.url

    def _files(self, cache_dir: Path) -> dict[str, tuple[Path, str | None]]:
        if self.path is None:
            archive = fetch(self.url, Path(cache_dir) / "downloads" / "trainDevTestTrees_PTB.zip", self.md5,
                            self.name)
            return {split: (archive, f"trees/{names[0]}") for split, names in self.split_names.items()}
        if not self.path.is_dir():
            raise UserError(f"data.path={self.path} is not a folder: data=sst reads a folder holding train.txt, "
                            f"dev.txt and test.txt (optionally .gz).")
        found = {split: _find(self.path, names) for split, names in self.split_names.items()}
        if found["train"] is None:
            raise UserError(f"data.path={self.path} has no train.txt (or train.txt.gz).")
        return {split: (path, None) for split, path in found.items() if path is not None}

    def _example(self, tree: Tree, with_phrases: bool) -> Example | None:
        if any(label not in SST_BINARY for label in tree.labels):
            raise UserError(f"SST labels are 0-4; a tree has {sorted(set(tree.labels) - set(SST_BINARY))}.")
        mapped = tuple(SST_BINARY[label] if self.labels == "binary" else label for label in tree.labels)
        root = mapped[tree.root]
        if root is None and not (with_phrases and any(label is not None for label in mapped)):
            return None
        return Example(tuple(tree.leaves()), root, tree, mapped)

    def splits(self, cache_dir: Path) -> dict[str, list[Example]]:
        splits = {}
        for split, (path, member) in self._files(cache_dir).items():
            with open_text(path, member=member, encoding=self.encoding) as handle:
                lines = handle.read().splitlines()
            trees = (parse_tree(line, f"{path}{':' + member if member else ''} line {number}")
                     for number, line in enumerate(lines, 1) if line.strip())
            made = (self._example(tree, self.phrases and split == "train") for tree in trees)
            splits[split] = [example for example in made if example is not None]
        return splits


class LabelledFile(LabelledSource):
    """The user's own data: `label<TAB>text` lines, whitespace-tokenized; a file is the training split (with
    `holdout` of it set aside for each missing split, seeded), a folder holds train/valid/test files."""

    name = "labelled_file"
    split_names = {split: (f"{split}.tsv", f"{split}.txt") for split in SPLITS}

    def __init__(self, path: str | None = None, encoding: str = "utf-8", holdout: float = 0.1,
                 split_seed: int = 1234):
        if not path:
            raise UserError("data=labelled_file needs data.path=/path/to/file.tsv (label<TAB>text lines) or a "
                            "folder holding train.tsv, valid.tsv and test.tsv.")
        self.path = Path(path).expanduser()
        self.encoding, self.holdout, self.split_seed = encoding, holdout, split_seed

    def _read(self, path: Path) -> list[Example]:
        examples = []
        for number, line in enumerate(_read_lines(path, self.encoding), 1):
            if not line.strip():
                continue
            label, tab, text = line.partition("\t")
            if not tab or not label.strip() or not text.split():
                raise UserError(f"{path} line {number} is not `label<TAB>text`: {line[:80]!r}.")
            examples.append(Example(tuple(text.split()), label.strip()))
        if not examples:
            raise UserError(f"{path} holds no labelled lines (`label<TAB>text`).")
        return examples

    def splits(self, cache_dir: Path) -> dict[str, list[Example]]:
        if self.path.is_file():
            found = {"train": self.path}
        elif self.path.is_dir():
            found = {split: p for split, names in self.split_names.items() if (p := _find(self.path, names))}
            if "train" not in found:
                raise UserError(f"data.path={self.path} has no train.tsv or train.txt.")
        else:
            what = "is not a regular file (a device or a pipe)" if self.path.exists() else "does not exist"
            raise UserError(f"data.path={self.path} {what}.")
        splits = {split: self._read(path) for split, path in found.items()}
        for number, split in enumerate(s for s in ("valid", "test") if s not in splits):
            splits["train"], splits[split] = held_out(splits["train"], self.holdout, self.split_seed + number)
            log.info("no %s file: %d of the training examples (data.holdout=%g) are held out as %s",
                     split, len(splits[split]), self.holdout, split)
        return splits
