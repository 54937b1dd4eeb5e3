"""word2vec (skip-gram / CBOW x negative sampling / hierarchical softmax): lm_experiments vs gensim's
Word2Vec, same corpus and settings.

    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --epochs 1
    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --model cbow
    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --sampler hierarchical
    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --model fasttext

fastText is compared with gensim's `FastText` (same min_n=3, max_n=6 and bucket).

Prints analogy accuracy (3CosAdd, top-30k), WordSim-353 / SimLex-999 Spearman,
words/sec and wall time for both, and our/gensim ratios. Both see the text as
10,000-word "sentences" (gensim's Text8Corpus convention) and the same
hyper-parameters; gensim uses all cores, as a user would run it.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def run_ours(args, out: Path) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from lm_experiments.run import train

    overrides = ["data=file", f"data.path={args.corpus}", "data.tokenizer=whitespace",
                 f"data.window={args.window}", f"data.sample={args.sample}", f"data.min_count={args.min_count}",
                 f"model={args.model}", f"sampler={args.sampler}", f"model.vector_size={args.dim}"]
    overrides += [f"sampler.negative={args.negative}"] if args.sampler == "negative" else []
    overrides += [f"model.bucket={args.bucket}"] if args.model.startswith("fasttext") else []
    overrides += [f"trainer.max_epochs={args.epochs}", "callbacks.progress_bar=null", "logger=csv",
                  f"trainer.accelerator={args.accelerator}"] + args.ours
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out / "ours")
    started = time.perf_counter()
    metrics = train(cfg)
    wall = time.perf_counter() - started
    from gensim.models import KeyedVectors

    vectors = KeyedVectors.load_word2vec_format(out / "ours" / "vectors.bin", binary=True)
    return {**gensim_scores(vectors), "words/sec": metrics["train/words_per_sec_mean"], "wall sec": wall}


def gensim_scores(vectors) -> dict:
    """Both tools' vectors scored by the same code (gensim's evaluators, in-vocabulary words only), so
    fastText's n-gram answers for unseen words do not make the two columns measure different things."""
    from lm_experiments.evaluation.benchmarks import benchmark_path

    analogy, _ = vectors.evaluate_word_analogies(str(benchmark_path(None, "analogies")), restrict_vocab=30000)
    similarity = {name: vectors.evaluate_word_pairs(str(benchmark_path(None, name)))[1].statistic
                  for name in ("ws353", "simlex")}
    return {"analogy": analogy, **similarity}


def run_gensim(args, words: list[str]) -> dict:
    from gensim.models import FastText, Word2Vec

    sentences = [words[i: i + 10000] for i in range(0, len(words), 10000)]
    started = time.perf_counter()
    hierarchical = args.sampler == "hierarchical"
    common = {"vector_size": args.dim, "window": args.window, "min_count": args.min_count,
              "sg": int(args.model in ("skipgram", "fasttext")), "hs": int(hierarchical),
              "negative": 0 if hierarchical else args.negative, "sample": args.sample, "epochs": args.epochs,
              "workers": os.cpu_count(), "seed": 1}
    if args.model.startswith("fasttext"):
        model = FastText(sentences, min_n=3, max_n=6, bucket=args.bucket, **common)
    else:
        model = Word2Vec(sentences, **common)
    train_sec = time.perf_counter() - started
    return {**gensim_scores(model.wv), "words/sec": len(words) * args.epochs / train_sec,
            "wall sec": time.perf_counter() - started}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="a text8-style file (plain, .gz or .zip)")
    parser.add_argument("--model", choices=["skipgram", "cbow", "fasttext", "fasttext_cbow"], default="skipgram")
    parser.add_argument("--bucket", type=int, default=2_000_000, help="fastText's hashed n-gram rows")
    parser.add_argument("--sampler", choices=["negative", "hierarchical"], default="negative")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("ours", nargs="*", help="extra Hydra overrides for our run, e.g. data.batch_words=512")
    args = parser.parse_args()

    from lm_experiments.data.reading import open_text

    with open_text(Path(args.corpus)) as handle:
        words = handle.read().split()
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_ours(args, Path(tmp))
    theirs = run_gensim(args, words)

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU x{os.cpu_count()}"
    print(f"\n{args.model} x {args.sampler} on {args.corpus}: {len(words):,} words, {args.epochs} epoch(s), "
          f"dim {args.dim}, window {args.window}, "
          f"negative {args.negative}, sample {args.sample}, min_count {args.min_count}; {device}")
    print(f"{'':12}{'lm_experiments':>16} {'gensim':>12}{'ratio':>10}")
    for key in ("analogy", "ws353", "simlex", "words/sec", "wall sec"):
        ratio = ours[key] / theirs[key] if theirs[key] else float("nan")
        shown = ",.0f" if key == "words/sec" else ".4f"
        print(f"{key:12}{ours[key]:>16{shown}} {theirs[key]:>12{shown}}{ratio:>10.2f}")


if __name__ == "__main__":
    main()
