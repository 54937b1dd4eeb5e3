"""GloVe: lm_experiments against glove.c (stanfordnlp/GloVe) on the same tokens and settings, in one run.

    python benchmarks/glove_vs_glovec.py --glove-build /tmp/glove/build --corpus ../shared/data/nltk-en8.txt.gz \
        --step cooccur --memory 1
    python benchmarks/glove_vs_glovec.py --glove-build /tmp/glove/build --corpus ../shared/data/text8-head.txt.gz \
        --step train --epochs 15 --dim 200 --threads 2

glove.c is not part of this project: build it from its repository (`make` in a clone of
https://github.com/stanfordnlp/GloVe) and pass its `build/` folder. Both tools read the
same tokens: the corpus goes through our data pipeline (`data=file`, as `train.py` reads
it), and glove.c is handed our vocabulary (`vocab.txt`, rank order) and our token stream
written back as text (one line per corpus line; out-of-vocabulary words as `<unk>`, which
glove.c drops as we do).

`--step cooccur`: co-occurrence counting, window `--window`, 1/distance weighting, within
`--memory` GB for both (`data.view.memory`, glove.c's `-memory`): seconds and peak RSS of
each process (GNU time), the number of distinct cells and whether they and their values
are the same. `--step train`: the counts cached first, then the wall time of training
(our `experiment=glove` run: shuffle, epochs, evaluation, export; glove.c's `shuffle` and
`glove`), both with `--threads` threads, and both vector sets scored by gensim's evaluators.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CREC = np.dtype([("word1", np.int32), ("word2", np.int32), ("value", np.float64)])  # glove.c's record


def encode(corpus: Path, min_count: int, window: int, cache: Path):
    """Our vocabulary and training stream for `corpus`, as `python train.py data=file data.path=...` reads it."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import open_dict

    from lm_experiments import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["model=glove", "data=file", f"data.path={corpus}",
                                          f"data.min_count={min_count}", f"data.window={window}"])
    with open_dict(cfg):
        cfg.paths.cache_dir = str(cache)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    return datamodule.vocab, datamodule.encoded.splits["train"], datamodule.encoded.cache_dir


def write_for_glove_c(vocab, stream, folder: Path) -> tuple[Path, Path]:
    """`vocab.txt` (our words in rank order, with counts) and `corpus.txt` (our stream as text)."""
    specials = vocab.num_specials
    vocab_file, corpus_file = folder / "vocab.txt", folder / "corpus.txt"
    vocab_file.write_text("".join(f"{w} {int(c)}\n" for w, c in zip(vocab.itos[specials:], vocab.counts[specials:])))
    words = np.array(vocab.itos, dtype=object)
    with open(corpus_file, "w", encoding="utf-8") as out:
        for start in range(0, len(stream), 1 << 20):  # a word then its separator: a space, or a newline at <eos>
            ids = np.asarray(stream[start: start + (1 << 20)])
            separators = np.where(ids == vocab.eos_index, "\n", " ").astype(object)
            tokens = words[ids]
            tokens[ids == vocab.eos_index] = ""
            out.write("".join((tokens + separators).tolist()))
    return vocab_file, corpus_file


def timed(command: list[str], **options) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, peak RSS in GB) of a command, by GNU time."""
    options.setdefault("stdout", subprocess.PIPE)
    result = subprocess.run(["/usr/bin/time", "-f", "TIMED %e %M", *command], stderr=subprocess.PIPE, text=True,
                            **options)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stderr[-3000:]}")
    line = next(line for line in result.stderr.splitlines() if line.startswith("TIMED "))
    seconds, kilobytes = line.split()[1:]
    return float(seconds), int(kilobytes) / 2**20, result


OUR_COUNT = """
import json, sys, time
from pathlib import Path
import numpy as np
from lm_experiments.data.cooccurrence import count_cooccurrences
from lm_experiments.data.vocab import Vocabulary
vocab = Vocabulary.load(Path(sys.argv[1]))
stream = np.load(sys.argv[2], mmap_mode="r")
started = time.perf_counter()
cells = count_cooccurrences(stream, vocab, int(sys.argv[3]), "harmonic", float(sys.argv[4]), Path(sys.argv[5]))
print(json.dumps({"count_sec": time.perf_counter() - started, "cells": len(cells)}))
"""


def cooccur(args, vocab, stream, cache_dir: Path, work: Path) -> None:
    vocab_file, corpus_file = write_for_glove_c(vocab, stream, work)
    ours_folder = work / "ours"
    ours_folder.mkdir()
    vocab.save(work / "vocab.tsv")
    ours_wall, ours_rss, result = timed([sys.executable, "-c", OUR_COUNT, str(work / "vocab.tsv"),
                                         str(cache_dir / "train.npy"), str(args.window), str(args.memory),
                                         str(ours_folder)])
    ours = json.loads(result.stdout.strip().splitlines()[-1])
    with open(corpus_file) as text, open(work / "cooccurrence.bin", "wb") as out:
        theirs_wall, theirs_rss, _ = timed([str(args.glove_build / "cooccur"), "-memory", str(args.memory),
                                            "-vocab-file", str(vocab_file), "-verbose", "0", "-window-size",
                                            str(args.window)], stdin=text, stdout=out)
    from lm_experiments.data.cooccurrence import read_cells

    cells = read_cells(ours_folder)
    records = np.fromfile(work / "cooccurrence.bin", CREC)
    specials = vocab.num_specials
    ours_keys = np.asarray(cells.rows, np.int64) * len(vocab) + cells.cols
    their_keys = (records["word1"].astype(np.int64) - 1 + specials) * len(vocab) + records["word2"] - 1 + specials
    order = np.argsort(their_keys)
    same_cells = len(their_keys) == len(ours_keys) and np.array_equal(their_keys[order], ours_keys)
    largest = float(np.max(np.abs(records["value"][order] - cells.values) / records["value"][order])) \
        if same_cells else float("nan")
    print(f"\nco-occurrence counting on {args.corpus}: {len(stream):,} tokens, vocabulary {len(vocab):,}, window "
          f"{args.window}, 1/distance, memory {args.memory} GB")
    print(f"{'':28}{'lm_experiments':>16} {'glove.c cooccur':>16}{'ratio':>8}")
    print(f"{'wall sec (process)':28}{ours_wall:>16.1f} {theirs_wall:>16.1f}{theirs_wall / ours_wall:>8.2f}")
    print(f"{'counting sec (in process)':28}{ours['count_sec']:>16.1f} {'':>16}")
    print(f"{'peak RSS GB':28}{ours_rss:>16.2f} {theirs_rss:>16.2f}")
    print(f"{'distinct cells':28}{ours['cells']:>16,} {len(records):>16,}")
    print(f"same cells: {same_cells}; largest relative difference of a value: {largest:.2e}")


def score(vectors) -> dict:
    from lm_experiments.evaluation.benchmarks import benchmark_path

    analogy, _ = vectors.evaluate_word_analogies(str(benchmark_path(None, "analogies")), restrict_vocab=30000)
    return {"analogy": analogy, **{name: vectors.evaluate_word_pairs(str(benchmark_path(None, name)))[1].statistic
                                   for name in ("ws353", "simlex")}}


def train(args, vocab, stream, cache_dir: Path, work: Path) -> None:
    from gensim.models import KeyedVectors
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from lm_experiments import CONFIG_DIR
    from lm_experiments.data.cooccurrence import load_cooccurrences
    from lm_experiments.run.training import train as train_run

    load_cooccurrences(stream, vocab, cache_dir, args.window, "harmonic", args.memory)  # counted before the clock
    overrides = ["experiment=glove", "data=file", f"data.path={args.corpus}", f"data.min_count={args.min_count}",
                 f"data.window={args.window}", f"model.vector_size={args.dim}", f"trainer.max_epochs={args.epochs}",
                 f"task.updater.threads={args.threads}", f"data.view.memory={args.memory}", "logger=none",
                 "callbacks.progress_bar=null", "callbacks.embedding_map=null",
                 "callbacks.embedding_eval.every_n_epochs=1000", "callbacks.model_checkpoint=null",
                 "callbacks.last_checkpoint=null", *args.ours]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir, cfg.paths.cache_dir = str(work / "ours"), str(args.cache)
    started = time.perf_counter()
    train_run(cfg)
    ours_wall = time.perf_counter() - started
    ours = score(KeyedVectors.load_word2vec_format(work / "ours" / "vectors.bin", binary=True))

    vocab_file, corpus_file = write_for_glove_c(vocab, stream, work)
    with open(corpus_file) as text, open(work / "cooccurrence.bin", "wb") as out:
        timed([str(args.glove_build / "cooccur"), "-memory", str(args.memory), "-vocab-file", str(vocab_file),
               "-verbose", "0", "-window-size", str(args.window)], stdin=text, stdout=out)
    started = time.perf_counter()
    with open(work / "cooccurrence.bin") as cells, open(work / "shuffled.bin", "wb") as out:
        timed([str(args.glove_build / "shuffle"), "-memory", str(args.memory), "-verbose", "0"], stdin=cells,
              stdout=out)
    timed([str(args.glove_build / "glove"), "-input-file", str(work / "shuffled.bin"), "-vocab-file",
           str(vocab_file), "-save-file", str(work / "theirs"), "-iter", str(args.epochs), "-vector-size",
           str(args.dim), "-threads", str(args.threads), "-x-max", "100", "-alpha", "0.75", "-eta", "0.05",
           "-binary", "0", "-model", "2", "-write-header", "1", "-verbose", "0"])
    theirs_wall = time.perf_counter() - started
    theirs = score(KeyedVectors.load_word2vec_format(work / "theirs.txt", binary=False))
    print(f"\nGloVe on {args.corpus}: {len(stream):,} tokens, vocabulary {len(vocab):,}, window {args.window}, "
          f"dim {args.dim}, {args.epochs} epochs, {args.threads} threads (counting done before the clock)")
    print(f"{'':28}{'lm_experiments':>16} {'glove.c':>12}{'ratio':>8}")
    print(f"{'training wall sec':28}{ours_wall:>16.1f} {theirs_wall:>12.1f}{theirs_wall / ours_wall:>8.2f}")
    for key in ("analogy", "ws353", "simlex"):
        print(f"{key:28}{ours[key]:>16.4f} {theirs[key]:>12.4f}{ours[key] - theirs[key]:>+8.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--glove-build", type=Path, required=True, help="glove.c's build/ folder (cooccur, ...)")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--step", choices=["cooccur", "train"], default="cooccur")
    parser.add_argument("--memory", type=float, default=1.0, help="GB, for both tools")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None, help="our token cache (default: a temporary folder)")
    parser.add_argument("ours", nargs="*", help="extra Hydra overrides for our run")
    args = parser.parse_args()
    if not (args.glove_build / "cooccur").is_file():
        raise SystemExit(f"no glove.c build in {args.glove_build}: run `make` in a clone of stanfordnlp/GloVe")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        args.cache = args.cache or work / "cache"
        vocab, stream, cache_dir = encode(args.corpus, args.min_count, args.window, args.cache)
        (cooccur if args.step == "cooccur" else train)(args, vocab, stream, cache_dir, work)


if __name__ == "__main__":
    main()
