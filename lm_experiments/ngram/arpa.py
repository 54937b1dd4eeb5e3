"""ARPA back-off files (the format SRILM, KenLM and every ASR toolkit read) from a Kneser-Ney model, streamed.

Every order is written in blocks of n-grams: their words found through the prefix chain,
their lines formatted into bytes by a compiled loop (log10 values to 7 significant digits,
as `%.7g` gives them, in fixed notation), so the file is written in memory set by the
block, not by the model, at disk speed.
"""

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
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


def write_arpa(model, itos: list[str], path: Path, threads: int | None = None) -> Path:
    """Log10 probabilities of every stored n-gram and log10 back-off weights of every context.

    `<s>` is written as a unigram with probability 10^-99 (it is never predicted) and
    the back-off weight of the sentence-start context, as KenLM writes it. Blocks are
    formatted on `threads` threads (default: every core; the kernel releases the GIL) a few
    blocks ahead of the one being written, in the file's order.
    """
    counts, eos, order = model.counts, model.counts.eos, model.counts.order
    encoded = [word.encode("utf-8") for word in itos]
    names = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum([len(word) for word in encoded])]).astype(np.int64)
    lengths = np.diff(starts)
    start_name, end_name = np.frombuffer(START.encode(), np.uint8), np.frombuffer(END.encode(), np.uint8)
    sizes = [counts.vocab_size + 1] + [counts.tables[k].keys.size for k in range(2, order + 1)]
    progress = ProgressLog(log, f"writing {Path(path).name}", sum(sizes))

    def block_lines(k: int, first: int, end: int) -> tuple[bytes, int]:
        """The lines of the order-k n-grams first..end-1 (a block): their bytes and how many."""
        backoff = model.log_gammas[k] if k < order else None  # natural logs: converted block by block
        ids = np.arange(first, end, dtype=np.int64)
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
        return buffer[:written].tobytes(), len(ids)

    def pieces():
        """The file in order: bytes to write as they are, or (k, first, end) blocks to format."""
        yield b"\\data\\\n" + b"".join(f"ngram {k}={size}\n".encode() for k, size in enumerate(sizes, 1))
        for k in range(1, order + 1):
            yield f"\n\\{k}-grams:\n".encode()
            if k == 1:
                backoff = model.log_gammas[1] if order > 1 else None
                yield f"-99\t{START}".encode() + (f"\t{backoff[eos] * LOG10_E:.7g}".encode()
                                                  if backoff is not None else b"") + b"\n"
            total = counts.vocab_size if k == 1 else counts.tables[k].keys.size
            yield from ((k, first, min(first + BLOCK, total)) for first in range(0, total, BLOCK))
        yield b"\n\\end\\\n"

    workers = threads or os.cpu_count() or 1
    with atomic_write(path, "wb", encoding=None) as out, ThreadPoolExecutor(workers) as pool:
        ahead: deque = deque()  # bytes, and (k, blocks being formatted), in the file's order

        def write_oldest():
            piece = ahead.popleft()
            if isinstance(piece, bytes):
                out.write(piece)
                return
            k, job = piece
            lines, count = job.result()
            out.write(lines)
            progress.advance(count, f"{k}-grams")

        for piece in pieces():
            ahead.append(piece if isinstance(piece, bytes) else (piece[0], pool.submit(block_lines, *piece)))
            while len(ahead) > 2 * workers:  # a bounded number of blocks in memory
                write_oldest()
        while ahead:
            write_oldest()
    progress.finish(", ".join(f"{size:,} {k}-grams" for k, size in enumerate(sizes, 1)))
    return Path(path)
