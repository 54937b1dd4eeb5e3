"""How much a skip-gram-hierarchical-softmax figure owes to the Huffman tree: gensim trained on its own tree and
on ours (the tree our `sampler=hierarchical` builds for the same corpus, put into gensim's model), with the
corpus as given and with its sentences in reverse order.

    python benchmarks/huffman_trees.py --corpus ../shared/data/text8-head.txt.gz --epochs 5 --dim 200 --seeds 1 2 3

Both trees are optimal Huffman codes of the same counts; they differ in how equal
counts are paired (gensim's heap compares counts only, so ties fall by heap position;
ours takes leaves before inner nodes, then the earlier one), and in our two extra
leaves, `<unk>` and `<eos>`. Thousands of rare words share a count, so which of them
become siblings is in effect a draw, fixed by the corpus's word order. Training the
same model on both trees separates that draw from everything else: the sentence
reversal redraws both trees without changing a single count.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np


def gensim_words(args) -> list[str]:
    from lm_experiments.data.reading import open_text

    with open_text(Path(args.corpus)) as handle:
        return handle.read().split()


def our_tree(words: list[str], tmp: Path):
    """Our vocabulary and HierarchicalSoftmax's tree for the text `words`, built as `data=file` builds them."""
    from lm_experiments.data.corpora import TextFile
    from lm_experiments.data.stream import load_encoded
    from lm_experiments.objectives.hierarchical import HierarchicalSoftmax

    path = tmp / "corpus.txt"
    path.write_text(" ".join(words) + "\n", encoding="utf-8")
    vocab = load_encoded(TextFile(str(path)), tmp / "cache", min_count=5).vocab
    tree = HierarchicalSoftmax(vocab, dim=1)
    return vocab, tree.codes.numpy(), tree.points.numpy(), tree.mask.sum(1).numpy()


def train_gensim(args, sentences, seed: int, tree=None) -> dict:
    """gensim's skip-gram-hs on its own tree, or on `tree` = (vocab, codes, points, lengths)."""
    from gensim.models import Word2Vec

    from lm_experiments.evaluation.benchmarks import benchmark_path

    model = Word2Vec(vector_size=args.dim, window=args.window, min_count=args.min_count, sg=1, hs=1, negative=0,
                     sample=args.sample, workers=args.threads, seed=seed)
    model.build_vocab(sentences)
    if tree is not None:
        vocab, codes, points, lengths = tree
        for word in model.wv.index_to_key:
            i = vocab.stoi[word]
            model.wv.set_vecattr(word, "code", codes[i, : lengths[i]].astype(np.uint8))
            model.wv.set_vecattr(word, "point", points[i, : lengths[i]].astype(np.uint32))
        model.syn1 = np.zeros((len(vocab) - 1, args.dim), dtype=np.float32)  # one row per inner node of ours
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    analogy, _ = model.wv.evaluate_word_analogies(str(benchmark_path(None, "analogies")), restrict_vocab=30000)
    return {"analogy": analogy, "ws353": model.wv.evaluate_word_pairs(str(benchmark_path(None, "ws353")))[1].statistic}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="a text8-style file (plain, .gz or .zip)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="gensim's workers")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()

    words = gensim_words(args)
    forward = [words[i: i + 10000] for i in range(0, len(words), 10000)]  # gensim's Text8Corpus sentences
    rows = []
    for order, sentences in (("as given", forward), ("reversed", forward[::-1])):
        with tempfile.TemporaryDirectory() as tmp:
            ours = our_tree([w for s in sentences for w in s], Path(tmp))
        for name, tree in (("gensim's", None), ("ours", ours)):
            runs = [train_gensim(args, sentences, seed, tree) for seed in args.seeds]
            rows.append((order, name, runs))
            print(f"{order}, {name} tree: " + ", ".join(f"{r['analogy']:.2%}" for r in runs), flush=True)

    print(f"\ngensim skip-gram-hs on {args.corpus}: {len(words):,} words, {args.epochs} epoch(s), dim {args.dim}, "
          f"seeds {args.seeds}")
    print(f"{'sentences':10}{'tree':10}{'analogy (each seed)':>34}{'mean':>9}{'WS-353':>9}")
    for order, name, runs in rows:
        each = " ".join(f"{r['analogy']:.2%}" for r in runs)
        print(f"{order:10}{name:10}{each:>34}{np.mean([r['analogy'] for r in runs]):>9.2%}"
              f"{np.mean([r['ws353'] for r in runs]):>9.3f}")


if __name__ == "__main__":
    main()
