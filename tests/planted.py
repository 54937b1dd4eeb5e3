"""A synthetic corpus with planted analogies, small enough to train on in seconds.

Pair i has a country word, a capital word and three topic words of its own.
Countries occur with "nation"-type words, capitals with "city"-type words, each
with its pair's topic words around it; so country_i - capital_i is one shared
direction and "country_i : capital_i :: country_j : capital_j" is answerable.
"""

import random
from pathlib import Path

COUNTRY_CONTEXT = ["nation", "state", "republic", "border", "people"]
CAPITAL_CONTEXT = ["city", "town", "mayor", "streets", "downtown"]
FILLER = ["the", "a", "of", "and", "in", "is", "was", "with"]


def write_planted_corpus(folder: Path, pairs: int = 12, sentences_per_word: int = 120, seed: int = 0):
    """Write `corpus.txt` and `analogies.txt` into `folder`; return their paths."""
    rng = random.Random(seed)
    countries = [f"country{i}" for i in range(pairs)]
    capitals = [f"capital{i}" for i in range(pairs)]
    topics = [[f"topic{i}x{k}" for k in range(3)] for i in range(pairs)]
    lines = []
    for i in range(pairs):
        for word, context in ((countries[i], COUNTRY_CONTEXT), (capitals[i], CAPITAL_CONTEXT)):
            for _ in range(sentences_per_word):
                sentence = rng.sample(topics[i], 2) + rng.sample(context, 2) + rng.sample(FILLER, 2) + [word]
                rng.shuffle(sentence)
                lines.append(" ".join(sentence))
    rng.shuffle(lines)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n")
    analogies = folder / "analogies.txt"
    questions = [f"{countries[i]} {capitals[i]} {countries[j]} {capitals[j]}"
                 for i in range(pairs) for j in range(pairs) if i != j]
    analogies.write_text(": planted-capitals\n" + "\n".join(questions) + "\n")
    return corpus, analogies
