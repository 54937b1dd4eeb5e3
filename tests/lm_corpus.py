"""A tiny language with learnable structure: train/valid/test files for language-model tests."""

import random
from pathlib import Path

NOUNS = ["cat", "dog", "bird", "fish", "horse", "cow", "mouse", "lion"]
VERBS = ["sees", "likes", "chases", "feeds", "hears", "finds"]
ADJECTIVES = ["big", "small", "red", "old"]


def sentence(rng: random.Random) -> str:
    """the [adj] noun verb the [adj] noun [and the noun verb]: a determiner always opens a noun phrase."""
    def phrase() -> list[str]:
        return ["the"] + ([rng.choice(ADJECTIVES)] if rng.random() < 0.4 else []) + [rng.choice(NOUNS)]

    words = phrase() + [rng.choice(VERBS)] + phrase()
    if rng.random() < 0.3:
        words += ["and"] + phrase() + [rng.choice(VERBS)] + phrase()
    return " ".join(words)


def write_lm_corpus(folder: Path, train: int = 1500, held_out: int = 150, seed: int = 0) -> Path:
    """train.txt / valid.txt / test.txt, one sentence per line; returns the folder."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("valid", held_out), ("test", held_out)):
        (folder / f"{split}.txt").write_text("\n".join(sentence(rng) for _ in range(count)) + "\n")
    return folder
