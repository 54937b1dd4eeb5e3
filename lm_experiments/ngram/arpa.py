"""ARPA back-off files (the format SRILM, KenLM and every ASR toolkit read) from a Kneser-Ney model, streamed.

Every order is written in blocks of n-grams: their words found through the prefix chain,
their lines formatted into bytes by a compiled loop (log10 values to 7 significant digits,
as `%.7g` gives them, in fixed notation), so the file is written in memory set by the
block, not by the model, at disk speed.
"""

import logging
from pathlib import Path

import numpy as np
from numba import njit

from lm_experiments.files import atomic_write
from lm_experiments.progress import ProgressLog

log = logging.getLogger(__name__)

START, END = "<s>", "</s>"
LOG10_E = np.log10(np.e)
BLOCK = 1 << 18  # n-grams formatted at a time


@njit(cache=True, nogil=True)
def _put_number(out, at, value):
    """Write `value` into out[at:] with 7 significant digits in fixed notation; returns the new end."""
    if value != value:
        for byte in (110, 97, 110):  # nan
            out[at] = byte
            at += 1
        return at
    if value < 0:
        out[at] = 45  # -
        at += 1
        value = -value
    if value == 0.0:
        out[at] = 48
        return at + 1
    decimals = max(0, min(15, 6 - int(np.floor(np.log10(value)))))
    scale = 10 ** decimals
    scaled = np.int64(np.round(value * scale))
    whole, fraction = scaled // scale, scaled % scale
    digits = np.empty(20, np.uint8)
    count = 0
    while True:
        digits[count] = 48 + whole % 10
        count += 1
        whole //= 10
        if whole == 0:
            break
    for i in range(count - 1, -1, -1):
        out[at] = digits[i]
        at += 1
    if fraction:
        while fraction % 10 == 0:  # no trailing zeros
            fraction //= 10
            decimals -= 1
        out[at] = 46  # .
        at += 1
        for i in range(decimals - 1, -1, -1):
            out[at + i] = 48 + fraction % 10
            fraction //= 10
        at += decimals
    return at


@njit(cache=True, nogil=True)
def _put_name(out, at, names, starts, word):
    for i in range(starts[word], starts[word + 1]):
        out[at] = names[i]
        at += 1
    return at


@njit(cache=True, nogil=True)
def _format_lines(tokens, log_probs, backoffs, with_backoff, names, starts, eos, start_name, end_name, out):
    """Lines `log10 p <TAB> w1 ... wk [<TAB> log10 backoff]` for rows of word ids `tokens` (B, k) into `out`;
    an `<eos>` is `<s>` as a k-gram's first word (k > 1) and `</s>` anywhere else. Returns the bytes written."""
    at = 0
    order = tokens.shape[1]
    for row in range(tokens.shape[0]):
        at = _put_number(out, at, log_probs[row])
        out[at] = 9
        at += 1
        for position in range(order):
            if position:
                out[at] = 32
                at += 1
            word = tokens[row, position]
            if word == eos:
                name = start_name if position == 0 and order > 1 else end_name
                for byte in name:
                    out[at] = byte
                    at += 1
            else:
                at = _put_name(out, at, names, starts, word)
        if with_backoff[row]:
            out[at] = 9
            at = _put_number(out, at + 1, backoffs[row])
        out[at] = 10
        at += 1
    return at


def _block_tokens(counts, k: int, ids: np.ndarray) -> np.ndarray:
    """(B, k) word ids of the order-k n-grams `ids`, through the prefix chain."""
    columns = []
    for order in range(k, 1, -1):
        table = counts.tables[order]
        columns.append(table.last_words(ids))
        ids = table.prefix[ids]
    columns.append(ids)
    return np.stack(columns[::-1], axis=1).astype(np.int64)


def write_arpa(model, itos: list[str], path: Path) -> Path:
    """Log10 probabilities of every stored n-gram and log10 back-off weights of every context.

    `<s>` is written as a unigram with probability 10^-99 (it is never predicted) and
    the back-off weight of the sentence-start context, as KenLM writes it.
    """
    counts, eos, order = model.counts, model.counts.eos, model.counts.order
    encoded = [word.encode("utf-8") for word in itos]
    names = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum([len(word) for word in encoded])]).astype(np.int64)
    lengths = np.diff(starts)
    start_name, end_name = np.frombuffer(START.encode(), np.uint8), np.frombuffer(END.encode(), np.uint8)
    sizes = [counts.vocab_size + 1] + [counts.tables[k].keys.size for k in range(2, order + 1)]
    progress = ProgressLog(log, f"writing {Path(path).name}", sum(sizes))
    with atomic_write(path, "wb", encoding=None) as out:
        out.write(b"\\data\\\n" + b"".join(f"ngram {k}={size}\n".encode() for k, size in enumerate(sizes, 1)))
        for k in range(1, order + 1):
            out.write(f"\n\\{k}-grams:\n".encode())
            backoff = model.log_gammas[k] if k < order else None  # natural logs: converted block by block
            if k == 1:
                out.write(f"-99\t{START}".encode() + (f"\t{backoff[eos] * LOG10_E:.7g}".encode()
                                                      if backoff is not None else b"") + b"\n")
            total = counts.vocab_size if k == 1 else counts.tables[k].keys.size
            for first in range(0, total, BLOCK):
                ids = np.arange(first, min(first + BLOCK, total), dtype=np.int64)
                tokens = ids[:, None] if k == 1 else _block_tokens(counts, k, ids)
                log_probs = model.log_probs[k][ids] * LOG10_E
                backoffs = backoff[ids] * LOG10_E if backoff is not None else np.zeros(len(ids))
                with_backoff = np.full(len(ids), backoff is not None)
                if k == 1:
                    with_backoff &= ids != eos  # </s> is never a context
                names_bytes = int(lengths[tokens].sum())  # the names, exactly, and at most 50 bytes more a line
                buffer = np.empty(names_bytes + len(ids) * (k + 50), np.uint8)
                written = _format_lines(tokens, log_probs, backoffs, with_backoff, names, starts, eos, start_name,
                                        end_name, buffer)
                out.write(buffer[:written].tobytes())
                progress.advance(len(ids), f"{k}-grams")
        out.write(b"\n\\end\\\n")
    progress.finish(", ".join(f"{size:,} {k}-grams" for k, size in enumerate(sizes, 1)))
    return Path(path)
