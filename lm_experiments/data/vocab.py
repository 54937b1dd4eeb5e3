"""The vocabulary: specials first, then words by descending training frequency."""

from pathlib import Path

import numpy as np

from lm_experiments.errors import UserError
from lm_experiments.files import atomic_write

UNK, EOS = "<unk>", "<eos>"
SPECIALS = (UNK, EOS)


class Vocabulary:
    """Index <-> word maps and training counts.

    Index 0 is `<unk>` and 1 is `<eos>`; the words follow in descending frequency,
    so "the top-k words" (analogy evaluation, exports) is a slice.
    """

    unk_index, eos_index = 0, 1
    num_specials = len(SPECIALS)

    def __init__(self, itos: list[str], counts: np.ndarray):
        if list(itos[: self.num_specials]) != list(SPECIALS):
            raise ValueError(f"vocabulary must start with the specials {SPECIALS}")
        self.itos = list(itos)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.stoi = {word: index for index, word in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    @property
    def words(self) -> list[str]:
        """The real words (no specials), most frequent first."""
        return self.itos[self.num_specials:]

    @classmethod
    def build(cls, words: list[str], counts: np.ndarray, min_count: int = 5, max_size: int | None = None):
        """Keep words seen at least `min_count` times (at most `max_size` of them, the most frequent).

        Literal `<unk>`/`<eos>` tokens in the text (PTB spells out `<unk>`) merge into the specials.
        """
        counts = np.asarray(counts, dtype=np.int64)
        special_counts = np.zeros(len(SPECIALS), dtype=np.int64)
        is_special = np.zeros(len(words), dtype=bool)
        for slot, special in enumerate(SPECIALS):
            for index in (i for i, w in enumerate(words) if w == special):
                special_counts[slot] += counts[index]
                is_special[index] = True
        candidates = np.flatnonzero((counts >= min_count) & ~is_special)
        order = candidates[np.argsort(-counts[candidates], kind="stable")]
        if max_size is not None:
            order = order[:max_size]
        if len(order) == 0:
            raise UserError(
                f"The vocabulary is empty: no word occurs at least data.min_count={min_count} times "
                f"in the training text ({int(counts.sum())} tokens). Lower data.min_count or use a larger corpus."
            )
        dropped = np.ones(len(words), dtype=bool)
        dropped[order] = False
        special_counts[0] += counts[dropped & ~is_special].sum()
        itos = list(SPECIALS) + [words[i] for i in order]
        return cls(itos, np.concatenate([special_counts, counts[order]]))

    def lookup(self, words: list[str]) -> np.ndarray:
        """Index of each word, `<unk>` for unknown ones."""
        get, unk = self.stoi.get, self.unk_index
        return np.fromiter((get(w, unk) for w in words), dtype=np.int64, count=len(words))

    def save(self, path: Path) -> None:
        with atomic_write(path) as out:
            for word, count in zip(self.itos, self.counts.tolist()):
                out.write(f"{word}\t{count}\n")

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        itos, counts = [], []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                word, count = line.rstrip("\n").split("\t")
                itos.append(word)
                counts.append(int(count))
        return cls(itos, np.array(counts, dtype=np.int64))
