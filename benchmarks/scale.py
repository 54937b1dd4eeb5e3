"""How time and memory grow with the corpus: every step at 1x, 4x and 16x a corpus (nltk-en8 tiled), each in a
process of its own, timed alone.

    python benchmarks/scale.py --corpus ../shared/data/nltk-en8.txt.gz --factors 1 4 16

The corpus is written out `factor` times into one temporary file (16x nltk-en8: 130M
tokens) and read with `data.min_count` = 5 x factor, so the vocabulary is the same at every
factor (tiling multiplies every count); with it the distinct co-occurrence cells and the
distinct n-grams stay what they are at 1x. A step whose memory is set by them and not by
the corpus keeps the same peak RSS at every factor, and a linear one takes factor x its 1x
time. For each step the table gives the
wall seconds and peak RSS (GNU time) per factor, and the growth from the smallest to the
largest factor: time ratio / factor ratio (1.0 = linear) and the RSS ratio.

Steps, as a user runs them (`train.py` with `data=file data.path=<tiled>`):
tokenize (tokenizing and encoding into the cache), skipgram (one epoch, dim 100, the
fused kernel), cooccur (counting, window 10, `data.view.memory=1`), glove (one epoch, dim
100, on the counts just cached), kn5 (counting, estimating and writing the ARPA file of a
5-gram Kneser-Ney model, and scoring the held-out text). Each `train.py` wall includes its
start-up (about 8 s).
"""

import argparse
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("tokenize", "skipgram", "cooccur", "glove", "kn5")
QUIET = ["logger=none", "callbacks.progress_bar=null", "callbacks.embedding_map=null",
         "callbacks.model_checkpoint=null", "callbacks.last_checkpoint=null", "callbacks.embedding_projector=null",
         "callbacks.embedding_eval=null"]  # the training step alone: evaluation costs the same at every size

TOKENIZE = """
import sys
from pathlib import Path
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict
from lm_experiments import CONFIG_DIR
with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
    cfg = compose("train", overrides=["model=glove", "data=file", "data.path=" + sys.argv[1],
                                      "data.min_count=" + sys.argv[3]])
with open_dict(cfg):
    cfg.paths.cache_dir = sys.argv[2]
datamodule = instantiate(cfg.data)
datamodule.setup("fit")
print(datamodule.encoded.cache_dir)
"""

COOCCUR = """
import sys
from pathlib import Path
import numpy as np
from lm_experiments.data.cooccurrence import load_cooccurrences
from lm_experiments.data.vocab import Vocabulary
folder = Path(sys.argv[1])
cells = load_cooccurrences(np.load(folder / "train.npy", mmap_mode="r"), Vocabulary.load(folder / "vocab.tsv"),
                           folder, 10, "harmonic", 1.0)
print(len(cells))
"""


def tile(corpus: Path, factor: int, out: Path) -> Path:
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rb") as handle:
        text = handle.read()
    with open(out, "wb") as tiled:
        for _ in range(factor):
            tiled.write(text if text.endswith(b"\n") else text + b"\n")
    return out


def timed(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GB, stdout) of a command run alone."""
    result = subprocess.run(["/usr/bin/time", "-f", "TIMED %e %M", *command], capture_output=True, text=True,
                            cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{result.stderr[-3000:]}")
    line = next(line for line in result.stderr.splitlines() if line.startswith("TIMED "))
    seconds, kilobytes = line.split()[1:]
    return float(seconds), int(kilobytes) / 2**20, result.stdout


def run_step(step: str, corpus: Path, cache: Path, work: Path, min_count: int) -> tuple[float, float]:
    data = ["data=file", f"data.path={corpus}", f"paths.cache_dir={cache}", f"data.min_count={min_count}"]
    if step == "tokenize":
        wall, rss, _ = timed([sys.executable, "-c", TOKENIZE, str(corpus), str(cache), str(min_count)])
    elif step == "cooccur":
        _, _, folder = timed([sys.executable, "-c", TOKENIZE, str(corpus), str(cache), str(min_count)])
        wall, rss, _ = timed([sys.executable, "-c", COOCCUR, folder.strip().splitlines()[-1]])
    else:
        model = {"skipgram": ["model=skipgram", "model.vector_size=100"],
                 "glove": ["model=glove", "model.vector_size=100", "data.window=10", "data.view.memory=1"],
                 "kn5": ["model=ngram", "model.order=5"]}[step]
        wall, rss, _ = timed([sys.executable, "train.py", *data, *model, "trainer.max_epochs=1", *QUIET,
                              f"hydra.run.dir={work / step}"])
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    args = parser.parse_args()
    results: dict[str, dict[int, tuple[float, float]]] = {step: {} for step in args.steps}
    for factor in args.factors:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            corpus = tile(args.corpus, factor, work / f"tiled-{factor}x.txt")
            cache = work / "cache"
            for step in args.steps:
                results[step][factor] = run_step(step, corpus, cache, work, 5 * factor)
                wall, rss = results[step][factor]
                print(f"{factor}x {step}: {wall:.1f} s, {rss:.2f} GB", flush=True)
    low, high = min(args.factors), max(args.factors)
    print(f"\n{args.corpus} tiled {', '.join(f'{f}x' for f in args.factors)}: seconds / peak RSS GB per step")
    print(f"{'step':10}" + "".join(f"{f'{f}x':>18}" for f in args.factors) + f"{'time growth':>14}{'RSS growth':>12}")
    for step, by_factor in results.items():
        cells = "".join(f"{by_factor[f][0]:>10.1f} s {by_factor[f][1]:>4.2f}" for f in args.factors)
        growth = (by_factor[high][0] / by_factor[low][0]) / (high / low) if high > low else float("nan")
        memory = by_factor[high][1] / by_factor[low][1]
        print(f"{step:10}{cells}{growth:>14.2f}{memory:>12.2f}")


if __name__ == "__main__":
    main()
