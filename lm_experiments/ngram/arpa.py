"""ARPA back-off files (the format SRILM, KenLM and every ASR toolkit read) from a Kneser-Ney model."""

from pathlib import Path

import numpy as np

from lm_experiments.io import atomic_write

START, END = "<s>", "</s>"
LOG10_E = np.log10(np.e)


def _names(tokens: np.ndarray, itos: list[str], eos: int) -> list[str]:
    """Each row of ids as ARPA words: an `<eos>` first is `<s>`, anywhere else `</s>`."""
    words = np.array(itos, dtype=object)[tokens]
    if tokens.shape[1] > 1:
        words[:, 0] = np.where(tokens[:, 0] == eos, START, words[:, 0])
    words[:, 1:] = np.where(tokens[:, 1:] == eos, END, words[:, 1:])
    if tokens.shape[1] == 1:
        words[:, 0] = np.where(tokens[:, 0] == eos, END, words[:, 0])
    return [" ".join(row) for row in words]


def write_arpa(model, itos: list[str], path: Path) -> Path:
    """Log10 probabilities of every stored n-gram and log10 back-off weights of every context.

    `<s>` is written as a unigram with probability 10^-99 (it is never predicted) and
    the back-off weight of the sentence-start context, as KenLM writes it.
    """
    counts, eos, order = model.counts, model.counts.eos, model.counts.order
    sections, sizes = [], []
    for k in range(1, order + 1):
        tokens = counts.tokens_of(k)
        names = _names(tokens, itos, eos)
        log_p = model.log_probs[k] * LOG10_E
        backoff = model.log_gammas[k] * LOG10_E if k < order else None
        lines = []
        if k == 1:
            start_backoff = f"\t{backoff[eos]:.7g}" if backoff is not None else ""
            lines.append(f"-99\t{START}{start_backoff}")
        for index, name in enumerate(names):
            if backoff is not None and not (k == 1 and tokens[index, 0] == eos):
                lines.append(f"{log_p[index]:.7g}\t{name}\t{backoff[index]:.7g}")
            else:
                lines.append(f"{log_p[index]:.7g}\t{name}")
        sections.append(lines)
        sizes.append(len(lines))
    with atomic_write(path) as out:
        out.write("\\data\\\n")
        for k, size in enumerate(sizes, start=1):
            out.write(f"ngram {k}={size}\n")
        for k, lines in enumerate(sections, start=1):
            out.write(f"\n\\{k}-grams:\n")
            out.write("\n".join(lines))
            out.write("\n")
        out.write("\n\\end\\\n")
    return Path(path)
