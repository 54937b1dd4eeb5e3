"""An ARPA back-off file read back into the n-gram tables the scoring code uses, so a finished n-gram run
(`model.arpa`, ours or lmplz's) scores text as it did at the end of training, without its counts.

Each order's lines are read in blocks (memory set by the block and the model, not by
Python objects per line): the words are mapped to the run's vocabulary ids (`<s>` and
`</s>` are its `<eos>`, as where the model was written), each n-gram's prefix is found
in the order below it, and the order's table is sorted by the same keys counting builds
(`ngram/counts.py`). Probabilities and back-off weights turn from log10 into natural logs.
"""

import itertools
import logging
import math
from pathlib import Path

import numpy as np

from lm_experiments.errors import UserError
from lm_experiments.ngram.arpa import END, START
from lm_experiments.ngram.counts import ABSENT, NGramCounts, OrderTable, lookup
from lm_experiments.ngram.smoothing import BackoffModel
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)
LN_10 = math.log(10.0)
BLOCK_LINES = 1 << 20
SENTENCE_START = -3  # `<s>` among the unigrams
KENLM_UNKNOWN = "<unk>"  # lmplz's own unknown-word entry, where the run's <unk> was renamed for it


def _header(handle, path: Path) -> list[int]:
    """The n-gram counts per order from the `\\data\\` section."""
    for line in handle:
        if line.strip() == "\\data\\":
            break
        if line.strip():
            raise UserError(f"{path} is not an ARPA file: it does not begin with \\data\\ (found {line[:40]!r}).")
    sizes = []
    for line in handle:
        if line.startswith("ngram "):
            order, _, size = line[6:].partition("=")
            if int(order) != len(sizes) + 1:
                raise UserError(f"{path}: the ARPA header lists order {order} after {len(sizes)}.")
            sizes.append(int(size))
        elif sizes and not line.strip():
            return sizes
    raise UserError(f"{path}: the ARPA header ends before its n-gram counts.")


def _section_lines(handle, k: int, path: Path):
    for line in handle:
        if line.strip() == f"\\{k}-grams:":
            return
        if line.strip():
            raise UserError(f"{path}: expected the \\{k}-grams: section, found {line[:40]!r}.")
    raise UserError(f"{path} ends before its \\{k}-grams: section (a file cut short?).")


def _parse_block(lines: list[str], k: int, ids_of: dict[str, int], path: Path):
    """(B,) log10 probabilities, (B, k) word ids (-1 for lmplz's own <unk>), (B,) log10 back-offs (0 if none)."""
    parts = [line.split() for line in lines]
    if any(len(p) not in (k + 1, k + 2) for p in parts):
        bad = next(line for line, p in zip(lines, parts) if len(p) not in (k + 1, k + 2))
        raise UserError(f"{path}: a line of the {k}-grams is not 'log10 p, {k} words[, back-off]': {bad[:80]!r}.")
    try:
        probs = np.array([float(p[0]) for p in parts])
        backoffs = np.array([float(p[k + 1]) if len(p) > k + 1 else 0.0 for p in parts])
    except ValueError as error:
        raise UserError(f"{path}: a number in the {k}-grams does not read ({error}).") from None
    words = [w for p in parts for w in p[1: k + 1]]
    ids = np.fromiter((ids_of.get(w, -2) for w in words), np.int64, len(words)).reshape(-1, k)
    if (ids == -2).any():
        unknown = words[int(np.argmax(ids.reshape(-1) == -2))]
        raise UserError(f"{path} holds the word {unknown!r}, which the run's vocabulary does not: the file is not "
                        f"this run's model.")
    return probs, ids, backoffs


def read_arpa(path: Path, itos: list[str], eos: int) -> BackoffModel:
    """The back-off model in `path` over the vocabulary `itos` (the names the file uses for its words)."""
    path = Path(path)
    size = len(itos)
    ids_of = {word: i for i, word in enumerate(itos)}
    ids_of[START] = ids_of[END] = eos
    ids_of.setdefault(KENLM_UNKNOWN, -1)
    progress = ProgressLog(log, f"reading {path.name}", path.stat().st_size, unit="B")
    log_probs, log_gammas, tables = {}, {}, {}
    log_prob1, log_gamma1 = np.full(size, np.nan), np.zeros(size)
    with open(path, encoding="utf-8") as handle:
        sizes = _header(handle, path)
        order = len(sizes)
        for k in range(1, order + 1):
            _section_lines(handle, k, path)
            probs, gammas, keys, prefixes = [], [], [], []
            remaining = sizes[k - 1]
            while remaining:
                lines = list(itertools.islice(handle, min(remaining, BLOCK_LINES)))
                if len(lines) < min(remaining, BLOCK_LINES):
                    raise UserError(f"{path} ends inside its {k}-grams (a file cut short?).")
                remaining -= len(lines)
                progress.advance(sum(len(line) for line in lines), f"{k}-grams")
                if k == 1:  # `<s>` (a sentinel here) holds only the back-off of <eos> as the sentence start
                    prob, ids, backoff = _parse_block(lines, k, {**ids_of, START: SENTENCE_START}, path)
                    word = ids[:, 0]
                    if (word == SENTENCE_START).any():
                        log_gamma1[eos] = backoff[word == SENTENCE_START][0]
                    known = word >= 0  # lmplz's own <unk> aside
                    log_prob1[word[known]] = prob[known]
                    context = known & (word != eos)  # `</s>` is never a context
                    log_gamma1[word[context]] = backoff[context]
                    continue
                prob, ids, backoff = _parse_block(lines, k, ids_of, path)
                prefix = ids[:, 0]
                for j in range(2, k):
                    prefix = lookup(tables[j], prefix, ids[:, j - 1], size)
                if (prefix < 0).any():
                    row = int(np.argmax(prefix < 0))
                    raise UserError(f"{path}: the {k}-gram {lines[row].split()[1: k + 1]} has no prefix among "
                                    f"the {k - 1}-grams: not a complete back-off model.")
                keys.append(prefix * size + ids[:, -1])
                prefixes.append(prefix)
                probs.append(prob)
                gammas.append(backoff)
            if k == 1:
                if np.isnan(log_prob1).any():
                    raise UserError(f"{path} has no unigram for {int(np.isnan(log_prob1).sum())} of the run's "
                                    f"words: the file is not this run's model.")
                log_probs[1], log_gammas[1] = log_prob1 * LN_10, log_gamma1 * LN_10
                continue
            key, prefix = np.concatenate(keys), np.concatenate(prefixes)
            sort = np.argsort(key, kind="stable")
            key = key[sort]
            if key.size > 1 and (np.diff(key) == 0).any():
                raise UserError(f"{path} lists a {k}-gram twice.")
            tables[k] = OrderTable(keys=key, counts=np.zeros(key.size, np.int32),
                                   prefix=prefix[sort].astype(np.int32),
                                   suffix=np.full(key.size, ABSENT, np.int32), vocab_size=size)
            log_probs[k] = np.concatenate(probs)[sort] * LN_10
            if k < order:
                log_gammas[k] = np.concatenate(gammas)[sort] * LN_10
    progress.finish(", ".join(f"{n:,} {k}-grams" for k, n in enumerate(sizes, 1)))
    counts = NGramCounts.of_tables(tables, order, size, eos)
    return BackoffModel(counts, log_probs, log_gammas)

