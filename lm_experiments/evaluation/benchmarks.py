"""The standard evaluation files and the word -> row lookups that gensim's evaluators use."""

import logging
from pathlib import Path

from lm_experiments.data.corpora import gensim_test_file
from lm_experiments.errors import UserError

log = logging.getLogger(__name__)

# Installed with gensim: the offline defaults.
GENSIM_FILES = {"analogies": "questions-words.txt", "ws353": "wordsim353.tsv", "simlex": "simlex999.txt"}


def benchmark_path(path: str | None, default: str) -> Path:
    """`path`, or the named file from gensim's test data when `path` is None."""
    path = gensim_test_file(GENSIM_FILES[default]) if path is None else Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"Evaluation file {path} does not exist; fix the path in callbacks.embedding_eval.")
    return path


def restricted_lookup(words: list[str], restrict_vocab: int, case_insensitive: bool = True):
    """gensim's `ok_vocab`: key -> row among the first `restrict_vocab` words.

    With case folding the most frequent casing wins; `canonical[i]` is the row that
    word i's folded key maps to, so "Paris" and "paris" count as one word.
    """
    keys = words[:restrict_vocab]
    fold = str.upper if case_insensitive else (lambda word: word)
    lookup = {}
    for row in range(len(keys) - 1, -1, -1):
        lookup[fold(keys[row])] = row
    canonical = [lookup[fold(word)] for word in keys]
    return lookup, canonical, fold


def read_analogies(path: Path) -> list[tuple[str, list[str]]]:
    """(section, [a, b, c, d]) for each well-formed question, in file order."""
    questions, section = [], None
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if line.startswith(": "):
                section = line[2:].strip()
                continue
            fields = line.split()
            if section is None:
                raise UserError(f"{path}:{line_no}: analogy question before the first ': section' header.")
            if len(fields) == 4:
                questions.append((section, fields))
    return questions


def read_pairs(path: Path) -> list[tuple[str, str, float]]:
    """(word, word, human score) from a tab-separated similarity file; '#' lines are comments."""
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                a, b, score = fields
                pairs.append((a, b, float(score)))
            except ValueError:
                log.info("Skipping malformed line in %s: %r", path, line)
    return pairs
