"""Kneser-Ney n-gram: our perplexity vs KenLM's on the same model (our ARPA file), and our build time.

    python benchmarks/ngram_vs_kenlm.py --corpus ../shared/data/ptb --order 5

The `kenlm` module (a dev dependency) loads ARPA files and scores text, but cannot
estimate models (that is KenLM's `lmplz` binary, not on PyPI), so this compares the
scoring of one model by two implementations: our vectorised back-off lookups, and
KenLM's query code reading the file we export. Prints both test perplexities and
their ratio, and our counting + estimation time.
"""

import argparse
import gzip
import math
import tempfile
import time
from pathlib import Path

import numpy as np


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [line.split() for line in handle]


def split_file(folder: Path, split: str) -> Path:
    for name in (f"ptb.{split}.txt", f"brown.{split}.txt", f"{split}.txt"):
        for suffix in ("", ".gz"):
            if (folder / (name + suffix)).is_file():
                return folder / (name + suffix)
    raise SystemExit(f"no {split} file in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="folder with train/test files (PTB or Brown)")
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=1)
    args = parser.parse_args()
    import kenlm

    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.models.ngram import NGramModel

    train_lines = read_lines(split_file(args.corpus, "train"))
    test_lines = read_lines(split_file(args.corpus, "test"))
    words, counts = np.unique([w for line in train_lines for w in line], return_counts=True)
    vocab = Vocabulary.build(list(words), counts, min_count=args.min_count)

    def encode(lines):
        return np.concatenate([vocab.lookup(line + ["<eos>"]) for line in lines])

    started = time.perf_counter()
    model = NGramModel(vocab, order=args.order)
    model.fit(encode(train_lines))
    built = time.perf_counter() - started
    started = time.perf_counter()
    ours_log = model.stream_log_probs(encode(test_lines))
    scored = time.perf_counter() - started
    ours = math.exp(-ours_log.mean())
    with tempfile.TemporaryDirectory() as tmp:
        arpa = model.write_arpa(Path(tmp) / "model.arpa")
        reference = kenlm.Model(str(arpa))
        started = time.perf_counter()
        total = sum(reference.score(" ".join(line), bos=True, eos=True) for line in test_lines)
        kenlm_seconds = time.perf_counter() - started
    tokens = sum(len(line) + 1 for line in test_lines)
    theirs = 10 ** (-total / tokens)
    print(f"{args.order}-gram Kneser-Ney on {args.corpus}: {len(vocab):,} vocabulary, {tokens:,} test tokens")
    print(f"{'':18}{'lm_experiments':>16}{'KenLM (our ARPA)':>18}{'ratio':>8}")
    print(f"{'test perplexity':18}{ours:16.4f}{theirs:18.4f}{ours / theirs:8.5f}")
    print(f"{'scoring sec':18}{scored:16.2f}{kenlm_seconds:18.2f}")
    print(f"count + estimate: {built:.1f} s")


if __name__ == "__main__":
    main()
