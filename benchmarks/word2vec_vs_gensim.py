"""word2vec (skip-gram / CBOW x negative sampling / hierarchical softmax): lm_experiments vs gensim's
Word2Vec, same corpus and settings.

    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --epochs 1
    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --model cbow
    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --sampler hierarchical
    python benchmarks/word2vec_vs_gensim.py --corpus ../shared/data/text8-head.txt.gz --model fasttext

fastText is compared with gensim's `FastText` (same min_n=3, max_n=6 and bucket).

Prints analogy accuracy (3CosAdd, top-30k), WordSim-353 / SimLex-999 Spearman,
words/sec (raw corpus words x epochs / training time, vocabulary building left out for
both), and time to vectors: from the start to the vectors on disk, gensim's reading the
file, building its vocabulary, training and saving word2vec's binary format, ours the
whole run with a fresh token cache (tokenizing, per-epoch evaluation and checkpoints, the
exports, with the default callbacks); and the our/gensim ratios. Both see the text as 10,000-word
"sentences" (gensim's Text8Corpus convention) and the same hyper-parameters; `--threads`
(default: every core) is our fused kernel's thread count and gensim's `workers`.
`--updater autograd` times our readable reference path instead of the fused kernel.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def run_ours(args, out: Path) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from lm_experiments import CONFIG_DIR
    from lm_experiments.old_names import renamed_overrides
    from lm_experiments.run.training import train

    overrides = ["data=file", f"data.path={args.corpus}", "data.tokenizer=whitespace",
                 f"data.window={args.window}", f"data.sample={args.sample}", f"data.min_count={args.min_count}",
                 f"model={args.model}", f"sampler={args.sampler}", f"model.vector_size={args.dim}"]
    overrides += [f"sampler.negative={args.negative}"] if args.sampler == "negative" else []
    overrides += [f"model.bucket={args.bucket}"] if args.model.startswith("fasttext") else []
    overrides += [f"trainer.max_epochs={args.epochs}", "callbacks.progress_bar=null", "logger=csv",
                  f"trainer.accelerator={args.device}", f"task/updater={args.updater}"]
    overrides += [f"task.updater.threads={args.threads}"] if args.updater in ("auto", "fused") else []
    overrides += renamed_overrides(args.ours)[0]  # older option names (in older commands) read as today's
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out / "ours")
        cfg.paths.cache_dir = str(out / "cache")  # tokenizing counts, as gensim's reading and vocabulary do
    started = time.perf_counter()
    metrics = train(cfg)
    wall = time.perf_counter() - started
    from gensim.models import KeyedVectors

    vectors = KeyedVectors.load_word2vec_format(out / "ours" / "vectors.bin", binary=True)
    return {**gensim_scores(vectors), "words/sec": metrics["train/words_per_sec_mean"], "time to vectors": wall}


def gensim_scores(vectors) -> dict:
    """Both tools' vectors scored by the same code (gensim's evaluators, in-vocabulary words only), so
    fastText's n-gram answers for unseen words do not make the two columns measure different things."""
    from lm_experiments.evaluation.benchmarks import benchmark_path

    analogy, _ = vectors.evaluate_word_analogies(str(benchmark_path(None, "analogies")), restrict_vocab=30000)
    similarity = {name: vectors.evaluate_word_pairs(str(benchmark_path(None, name)))[1].statistic
                  for name in ("ws353", "simlex")}
    return {"analogy": analogy, **similarity}


def run_gensim(args, out: Path) -> dict:
    from gensim.models import FastText, Word2Vec

    from lm_experiments.data.reading import open_text

    started = time.perf_counter()
    with open_text(Path(args.corpus)) as handle:
        words = handle.read().split()
    sentences = [words[i: i + 10000] for i in range(0, len(words), 10000)]
    hierarchical = args.sampler == "hierarchical"
    common = {"vector_size": args.dim, "window": args.window, "min_count": args.min_count,
              "sg": int(args.model in ("skipgram", "fasttext")), "hs": int(hierarchical),
              "negative": 0 if hierarchical else args.negative, "sample": args.sample, "workers": args.threads,
              "seed": 1}
    model = FastText(min_n=3, max_n=6, bucket=args.bucket, **common) if args.model.startswith("fasttext") else \
        Word2Vec(**common)
    model.build_vocab(sentences)
    training = time.perf_counter()  # words/sec over training alone, as ours counts it
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    train_sec = time.perf_counter() - training
    model.wv.save_word2vec_format(str(out / "gensim.bin"), binary=True)
    wall = time.perf_counter() - started
    return {**gensim_scores(model.wv), "words/sec": len(words) * args.epochs / train_sec, "time to vectors": wall}


def medians(runs: list[dict]) -> dict:
    return {key: float(np.median([run[key] for run in runs])) for key in runs[0]}


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
    parser.add_argument("--device", "--accelerator", dest="device", default="cpu", help="cpu | gpu | auto (ours)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="our fused kernel's threads and gensim's workers (default: every core)")
    parser.add_argument("--updater", choices=["auto", "fused", "fused_gpu", "autograd"], default="auto",
                        help="our embedding task's updater (task/updater=...)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run both this many times, alternating, and print the medians (shared machines)")
    parser.add_argument("ours", nargs="*", help="extra Hydra overrides for our run, e.g. data.batch_words=512")
    args = parser.parse_args()

    from lm_experiments.data.reading import open_text

    with open_text(Path(args.corpus)) as handle:
        words = handle.read().split()
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeat):  # alternated, so that a busy spell of a shared machine hits both
        with tempfile.TemporaryDirectory() as tmp:
            ours_runs.append(run_ours(args, Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            theirs_runs.append(run_gensim(args, Path(tmp)))
    ours, theirs = medians(ours_runs), medians(theirs_runs)

    device = torch.cuda.get_device_name() if args.device == "gpu" else f"CPU, {args.threads} threads"
    print(f"\n{args.model} x {args.sampler} on {args.corpus}: {len(words):,} words, {args.epochs} epoch(s), "
          f"dim {args.dim}, window {args.window}, negative {args.negative}, sample {args.sample}, "
          f"min_count {args.min_count}; ours task/updater={args.updater}; {device}"
          + (f"; medians of {args.repeat} alternated runs" if args.repeat > 1 else ""))
    print(f"{'':16}{'lm_experiments':>12} {'gensim':>12}{'ratio':>10}")
    for key in ("analogy", "ws353", "simlex", "words/sec", "time to vectors"):
        ratio = ours[key] / theirs[key] if theirs[key] else float("nan")
        shown = ",.0f" if key == "words/sec" else ".4f"
        print(f"{key:16}{ours[key]:>12{shown}} {theirs[key]:>12{shown}}{ratio:>10.2f}")
    print(f"time-to-vectors speed-up (gensim's / ours): {theirs['time to vectors'] / ours['time to vectors']:.2f}")


if __name__ == "__main__":
    main()
