"""Does a trained ELMo tell the senses of a word apart? Peters et al.'s (2018) Table 4, on our own biLM.

    python benchmarks/elmo_contexts.py outputs/elmo_nltk_en8/runs/<date>_<time> \\
        --corpus ../shared/data/nltk-en8.txt.gz --word bank \\
        --query "he sat on the bank of the river and watched the water" \\
        --query "she took the money to the bank and opened an account"

For each query sentence, the word's contextual vector (the biLM's top layer, forward and
backward) is compared with the same word's vectors in windows of the corpus around its
occurrences (`--half` tokens each side), and the nearest windows are printed: they should share the
query's sense. Its token vector (layer 0, what a static embedding gives) is the same in both
queries, so it would rank the windows identically for both; the script prints how many of
the top windows the two queries share under each (contextual: few; static: all).
"""

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from lm_experiments.cli.embed import ElmoEmbedder
from lm_experiments.data.reading import open_text
from lm_experiments.run.console import quiet_third_party_noise


def occurrences(corpus: Path, word: str, limit: int, half: int = 10) -> list[list[str]]:
    """Windows of 2 * half + 1 tokens centred on `word`, from the corpus (one whitespace-separated stream)."""
    with open_text(corpus) as handle:
        tokens = handle.read().split()
    centres = [i for i, token in enumerate(tokens) if token == word and half <= i < len(tokens) - half]
    step = max(1, len(centres) // limit)
    return [tokens[i - half: i + half + 1] for i in centres[::step][:limit]]


def word_vectors(embedder: ElmoEmbedder, sentences: list[list[str]], positions: list[int]) -> torch.Tensor:
    """(n, L + 1, 2p): every layer's unit-length vector of the token at `positions[i]` of sentence i."""
    rows = []
    for start in range(0, len(sentences), 64):
        batch = sentences[start: start + 64]
        out = embedder.embed(batch)
        rows.append(out.layers[torch.arange(len(batch)), torch.tensor(positions[start: start + 64])])
    return F.normalize(torch.cat(rows), dim=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a model=elmo run folder")
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--word", default="bank")
    parser.add_argument("--query", action="append", required=True, help="a sentence holding --word (twice)")
    parser.add_argument("--windows", type=int, default=400, help="corpus windows around the word to search")
    parser.add_argument("--half", type=int, default=10, help="tokens on each side of the word in a window")
    parser.add_argument("--topn", type=int, default=5)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    quiet_third_party_noise()
    embedder = ElmoEmbedder(args.run)
    windows = occurrences(args.corpus, args.word, args.windows, args.half)
    queries = [q.split() for q in args.query]
    top_layer = embedder.model.num_layers
    print(f"{len(windows)} windows of the corpus around '{args.word}'")
    found = word_vectors(embedder, windows, [args.half] * len(windows))                   # (n, L + 1, 2p): centres
    asked = word_vectors(embedder, queries, [q.index(args.word) for q in queries])       # (q, L + 1, 2p)
    shared = {}
    for name, layer in (("contextual (top biLSTM layer)", top_layer), ("static (token layer)", 0)):
        best = (asked[:, layer] @ found[:, layer].T).topk(args.topn, dim=1)
        print(f"\n== {name}")
        for query, scores, rows in zip(args.query, best.values, best.indices):
            print(f"query: {query}")
            for score, row in zip(scores.tolist(), rows.tolist()):
                print(f"  {score:.3f}  {' '.join(windows[row])}")
        shared[name] = len(set(best.indices[0].tolist()) & set(best.indices[1].tolist()))
    for name, count in shared.items():
        print(f"{name}: the two queries share {count} of their top {args.topn} windows")


if __name__ == "__main__":
    main()
