"""The framework tax, row by row: each model against its plain reference, one after the other, on one machine.

    python benchmarks/time_to_result.py --rows lstm --examples /tmp/peers/examples --ptb ../shared/data/ptb
    python benchmarks/time_to_result.py --rows transformer --nanogpt /tmp/peers/nanoGPT --steps 200
    python benchmarks/time_to_result.py --rows glove --glove-build /tmp/peers/GloVe/build --dim 200
    python benchmarks/time_to_result.py --rows skipgram,cbow,fasttext --text8 ../shared/data/text8-head.txt.gz
    python benchmarks/time_to_result.py --rows kn5 --kenlm-bin /tmp/peers/kenlm/build/bin --memory 1

Every tool runs in its own process, started here and waited for with `os.wait4`, so each
row reports, for ours and for the peer: time to result (from the command to its artefact
on disk, with the defaults of both sides: ours with its default callbacks, per-epoch
evaluation, checkpoints and exports), throughput (tokens or words per second of training,
as each tool counts them), peak resident memory, the quality figure, and the ratios
(speed: peer time / our time and our throughput / theirs; memory: ours / theirs). Rows:

- `lstm`: the PyTorch word-language-model example (`word_language_model/main.py` of a clone
  of pytorch/examples, `--examples`) against `model=lstm` at its configuration (2 x 200,
  dropout 0.2, bptt 35, batch 20, SGD lr 20, clip 0.25), one epoch of PTB (`--ptb`, our
  benchmark copy; the example reads it as plain train/valid/test.txt); test perplexity.
- `transformer`: nanoGPT's `train.py` (a clone of karpathy/nanoGPT, `--nanogpt`; PTB written in
  its `.bin` format beside its own data) against `model=transformer` at one config (see
  `transformer_row`), `--steps` steps; throughput from the median step time of both (ours from
  the steps between logged values); validation perplexity (nanoGPT's estimate over 20
  random batches of windows, ours over the whole split in strided windows).
- `glove`: glove.c (`--glove-build`, the `build/` of a clone of stanfordnlp/GloVe after `make`) from
  the text through vocab_count, cooccur, shuffle and glove, against `experiment=glove` from
  the same text (`--text8`), `--glove-epochs`, `--dim`; analogy of both vector files.
- `skipgram`, `cbow`, `fasttext`, `skipgram_hs`: gensim's Word2Vec / FastText against ours on
  `--text8` (10,000-word sentences, `--dim`, window 5, 5 negatives, sample 1e-3, min_count 5,
  `--epochs`), both with every core; time to vectors includes reading, vocabulary, training
  and writing word2vec's binary file; analogy accuracy (3CosAdd, top 30k) of both vector
  files by gensim's own evaluator.
- `kn5`: KenLM's `lmplz -o 5` (`--kenlm-bin`) on the text our `model=ngram` run trains on (`--nltk`
  tokenized as the run reads it, the held-out tail cut off, rare words as one word), against
  `model=ngram model.order=5 data=file` on the file, both sorting in `--memory` GB; time to
  the ARPA file; the n-grams each file holds.

Peers are never part of this project: clone or install them first (benchmarks/README.md
says how); a row whose peer is missing is skipped with one line saying what to pass.
"""

import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measured:
    seconds: float      # time to result: the whole command
    peak_mb: float      # peak resident memory of the process (and its children)
    throughput: float   # tokens or words per second of training, as the tool counts them
    quality: float      # the row's quality figure
    log: str = ""


def measure(command: list[str], cwd: Path, log: Path, env: dict | None = None) -> tuple[float, float]:
    """Run `command` alone, its output into `log`; (wall seconds, peak RSS in MB) of it and its children."""
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed (exit {os.waitstatus_to_exitcode(status)}); see {log}")
    return seconds, usage.ru_maxrss / 1024


def ours(overrides: list[str], work: Path, name: str) -> tuple[float, float, dict]:
    """`python train.py <overrides>` into a fresh run folder: (seconds, peak MB, metrics.json)."""
    run = work / f"ours-{name}"
    seconds, peak = measure([sys.executable, str(ROOT / "train.py"), *overrides, f"hydra.run.dir={run}",
                             f"paths.cache_dir={work / 'cache'}"], ROOT, work / f"ours-{name}.log")
    return seconds, peak, json.loads((run / "metrics.json").read_text())


def plain_ptb(ptb: Path, work: Path) -> Path:
    """PTB as the example reads it: train.txt, valid.txt, test.txt, plain text."""
    folder = work / "ptb-plain"
    folder.mkdir(exist_ok=True)
    for split in ("train", "valid", "test"):
        source = next(p for p in (ptb / f"ptb.{split}.txt.gz", ptb / f"ptb.{split}.txt", ptb / f"{split}.txt")
                      if p.is_file())
        opener = gzip.open if source.suffix == ".gz" else open
        with opener(source, "rb") as read, open(folder / f"{split}.txt", "wb") as write:
            shutil.copyfileobj(read, write)
    return folder


def lstm_row(args, work: Path) -> tuple[Measured, Measured]:
    example = args.examples / "word_language_model"
    if not (example / "main.py").is_file():
        raise FileNotFoundError(f"--examples: no word_language_model/main.py under {args.examples} (clone "
                                f"pytorch/examples)")
    data = plain_ptb(args.ptb, work)
    accelerator = ["--accel"] if args.device == "gpu" else []
    seconds, peak = measure([sys.executable, "main.py", "--data", str(data), "--epochs", str(args.epochs),
                             "--save", str(work / "example.pt"), *accelerator], example, work / "example.log")
    text = (work / "example.log").read_text()
    per_batch = [float(ms) for ms in re.findall(r"ms/batch\s+([\d.]+)", text)]
    theirs = Measured(seconds, peak, 20 * 35 / (sum(per_batch) / len(per_batch) / 1000),
                      float(re.findall(r"test ppl\s+([\d.]+)", text)[-1]), str(work / "example.log"))
    seconds, peak, metrics = ours(["model=lstm", "data=ptb", f"data.path={args.ptb}", f"trainer.max_epochs="
                                   f"{args.epochs}", "seed=1111", f"trainer.accelerator={args.device}"], work, "lstm")
    return Measured(seconds, peak, metrics["train/words_per_sec_mean"], metrics["test/ppl"]), theirs


def nanogpt_data(ptb: Path, folder: Path) -> Path:
    """PTB in nanoGPT's format (`data/<name>/train.bin`, `val.bin`: uint16 ids; `meta.pkl`: the vocabulary size),
    tokenized as `data=ptb` reads it: whitespace words, an `<eos>` per line."""
    import pickle
    from collections import Counter

    import numpy as np

    plain = plain_ptb(ptb, folder.parent)
    lines = {split: (plain / f"{split}.txt").read_text().splitlines() for split in ("train", "valid")}
    counts = Counter(word for line in lines["train"] for word in line.split() + ["<eos>"])
    ids = {word: i for i, (word, _) in enumerate(counts.most_common())}
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train.bin"), ("valid", "val.bin")):
        stream = [ids[word] for line in lines[split] for word in line.split() + ["<eos>"]]
        np.array(stream, dtype=np.uint16).tofile(folder / name)
    with open(folder / "meta.pkl", "wb") as out:
        pickle.dump({"vocab_size": len(ids)}, out)
    return folder


def transformer_row(args, work: Path) -> tuple[Measured, Measured]:
    """nanoGPT's train.py against model=transformer at one config: 3 layers, 4 heads, d 256, block 128, dropout
    0.3, batch 32, AdamW (lr 1e-3, weight decay 0.1, betas 0.9/0.99), learned positions, biases, clip 1, warm-up
    then cosine decay, `--steps` steps of PTB in float32, no compile (experiment=transformer_ptb_cpu), on `--device`."""
    if not (args.nanogpt / "train.py").is_file():
        raise FileNotFoundError(f"--nanogpt: no train.py under {args.nanogpt} (clone karpathy/nanoGPT)")
    steps, warmup = args.steps, max(args.steps // 10, 1)
    data = nanogpt_data(args.ptb, args.nanogpt / "data" / "ptb_lm_experiments")
    log = work / "nanogpt.log"
    device = "cuda" if args.device == "gpu" else "cpu"
    seconds, peak = measure([sys.executable, "train.py", f"--dataset={data.name}", f"--device={device}",
                             "--compile=False",
                             "--dtype=float32", "--n_layer=3", "--n_head=4", "--n_embd=256", "--block_size=128",
                             "--batch_size=32", "--gradient_accumulation_steps=1", "--dropout=0.3", "--bias=True",
                             "--learning_rate=1e-3", "--weight_decay=0.1", "--beta2=0.99", f"--warmup_iters={warmup}",
                             f"--max_iters={steps}", f"--lr_decay_iters={steps}", "--min_lr=1e-4",
                             f"--eval_interval={steps}", "--eval_iters=20", "--log_interval=10",
                             f"--out_dir={work / 'nanogpt-out'}"], args.nanogpt, log)
    text = log.read_text()
    # a logged step's time includes an evaluation where one ran just before it (steps 0 and --steps): the median
    per_step = sorted(float(ms) for _, ms in re.findall(r"iter (\d+): loss [\d.]+, time ([\d.]+)ms", text))
    val_loss = float(re.findall(r"val loss ([\d.]+)", text)[-1])
    theirs = Measured(seconds, peak, 32 * 128 / (per_step[len(per_step) // 2] / 1000), math.exp(val_loss), str(log))
    seconds, peak, metrics = ours(["experiment=transformer_ptb_cpu", f"data.path={args.ptb}", "model.positions=learned",
                                   "trainer.max_epochs=1", f"trainer.limit_train_batches={steps}",
                                   f"scheduler.warmup_steps={warmup}", "seed=1337",
                                   f"trainer.accelerator={args.device}"], work, "transformer")
    throughput = median_interval_throughput(work / "ours-transformer" / "metrics.csv", 32 * 128)
    return Measured(seconds, peak, throughput, metrics["val/ppl"]), theirs


def median_interval_throughput(metrics_csv: Path, tokens_per_step: int) -> float:
    """The median tokens/s between consecutive logged steps, as nanoGPT's median step time is read: our
    `train/words_per_sec` is the epoch's tokens over its training seconds so far, so two logged values give the
    tokens and seconds of the steps between them (the first interval, the warm-up, is one of many)."""
    import csv

    with open(metrics_csv) as handle:
        logged = [(int(row["step"]), float(row["train/words_per_sec"])) for row in csv.DictReader(handle)
                  if row.get("train/words_per_sec")]
    points = [((step + 1) * tokens_per_step, (step + 1) * tokens_per_step / speed) for step, speed in logged]
    rates = sorted((t2 - t1) / (s2 - s1) for (t1, s1), (t2, s2) in zip(points, points[1:]) if s2 > s1)
    return rates[len(rates) // 2]


def glove_row(args, work: Path) -> tuple[Measured, Measured]:
    """glove.c's four steps from the text (vocab_count, cooccur, shuffle, glove) against `experiment=glove` from the
    same text: window 10, 1/distance, x_max 100, alpha 0.75, eta 0.05, `--dim`, `--glove-epochs`, every core,
    `--memory` GB for the counting of both, min_count 5; time to vectors on disk; analogy by gensim's evaluator of
    both vector files (w + w~)."""
    build = args.glove_build
    if not (build / "glove").is_file():
        raise FileNotFoundError(f"--glove-build: no glove.c build in {build} (`make` in a clone of stanfordnlp/GloVe)")
    if args.text8 is None or not args.text8.is_file():
        raise FileNotFoundError("--text8: pass a text8-style file (../shared/data/text8-head.txt.gz)")
    text = work / "glove-corpus.txt"
    with gzip.open(args.text8, "rb") if args.text8.suffix == ".gz" else open(args.text8, "rb") as read, \
            open(text, "wb") as write:
        shutil.copyfileobj(read, write)
    with open(text) as handle:
        tokens = sum(len(line.split()) for line in handle)
    threads, memory, epochs, dim = os.cpu_count(), args.memory, args.glove_epochs, args.dim
    script = (f"set -e; cd {work}; {build}/vocab_count -min-count 5 -verbose 0 < {text} > glove-vocab.txt; "
              f"{build}/cooccur -memory {memory} -vocab-file glove-vocab.txt -window-size 10 -verbose 0 < {text} "
              f"> glove-cooccur.bin; {build}/shuffle -memory {memory} -verbose 0 < glove-cooccur.bin > "
              f"glove-shuffled.bin; {build}/glove -input-file glove-shuffled.bin -vocab-file glove-vocab.txt "
              f"-save-file glove-vectors -iter {epochs} -vector-size {dim} -threads {threads} -x-max 100 -alpha 0.75 "
              f"-eta 0.05 -binary 0 -model 2 -write-header 1 -verbose 0")
    seconds, peak = measure(["bash", "-c", script], work, work / "glove-c.log")
    analogy = scored_by_gensim(work / "glove-vectors.txt", binary=False)
    theirs = Measured(seconds, peak, tokens * epochs / seconds, analogy, str(work / "glove-c.log"))
    seconds, peak, metrics = ours(["experiment=glove", "data=file", f"data.path={args.text8}",
                                   "data.tokenizer=whitespace", f"trainer.max_epochs={epochs}",
                                   f"model.vector_size={dim}", f"data.view.memory={memory}"], work, "glove")
    mine = Measured(seconds, peak, tokens * epochs / seconds, scored_by_gensim(work / "ours-glove" / "vectors.bin"))
    return mine, theirs


def kenlm_training_text(corpus: Path, work: Path, holdout: float = 0.05, min_count: int = 5) -> tuple[Path, int]:
    """The text `model=ngram data=file` trains on, for lmplz: our `words` tokenizer (lower-cased alphabetic runs), the
    same training tokens (the last `holdout` of them held out twice, lines end where an `<eos>` stands) and the
    words under `min_count` as one `<rare>` word (our `<unk>`; lmplz refuses `<unk>` in its text). Returns the file
    and its training tokens."""
    from collections import Counter

    from lm_experiments.data.tokenizers import make_tokenizer

    tokenize = make_tokenizer("words", lowercase=True)
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rt", encoding="utf-8") as handle:
        lines = [tokenize(line) for line in handle]
    counts = Counter(word for line in lines for word in line)
    total = sum(len(line) + 1 for line in lines)  # an <eos> per line
    kept = total - 2 * int(total * holdout)
    text, written = work / "kenlm-train.txt", 0
    with open(text, "w", encoding="utf-8") as out:
        for line in lines:
            room = kept - written
            if room <= 0:
                break
            words = [word if counts[word] >= min_count else "<rare>" for word in line][:room]
            out.write(" ".join(words) + "\n")
            written += len(words) + 1
    return text, kept


def kn5_row(args, work: Path) -> tuple[Measured, Measured]:
    """KenLM's `lmplz -o 5` (`--kenlm-bin`, the build/bin of a clone of kpu/kenlm) on our training text of `--nltk`
    against `model=ngram model.order=5 data=file` on the file: both at `--memory` GB for sorting (lmplz's `-S`, our
    `model.memory`); time to the ARPA file (ours also tokenizes the file and scores both held-out parts, the run's
    defaults), counted n-grams per second; the n-grams each ARPA file holds."""
    lmplz = args.kenlm_bin / "lmplz"
    if not lmplz.is_file():
        raise FileNotFoundError(f"--kenlm-bin: no lmplz in {args.kenlm_bin} (build kpu/kenlm: cmake, make lmplz)")
    if not args.nltk.is_file():
        raise FileNotFoundError("--nltk: pass ../shared/data/nltk-en8.txt.gz")
    text, tokens = kenlm_training_text(args.nltk, work)
    (work / "kenlm-tmp").mkdir(exist_ok=True)
    memory = f"{int(args.memory * 1024)}M"
    seconds, peak = measure([str(lmplz), "-o", "5", "-S", memory, "-T", str(work / "kenlm-tmp"), "--text", str(text),
                             "--arpa", str(work / "lmplz.arpa")], work, work / "lmplz.log")
    theirs = Measured(seconds, peak, tokens / seconds, arpa_ngrams(work / "lmplz.arpa"), str(work / "lmplz.log"))
    seconds, peak, _ = ours(["model=ngram", "model.order=5", "data=file", f"data.path={args.nltk}",
                             f"model.memory={args.memory}"], work, "kn5")
    return Measured(seconds, peak, tokens / seconds, arpa_ngrams(work / "ours-kn5" / "model.arpa")), theirs


def arpa_ngrams(path: Path) -> float:
    """The n-grams an ARPA file holds, from its header."""
    total = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("ngram "):
                total += int(line.split("=")[1])
            elif line.startswith("\\1-grams"):
                break
    return float(total)


WORD2VEC = {"skipgram": ("skipgram", "negative"), "cbow": ("cbow", "negative"), "fasttext": ("fasttext", "negative"),
            "skipgram_hs": ("skipgram", "hierarchical")}

GENSIM = """
import sys, time, json
sys.path.insert(0, {benchmarks!r})
from argparse import Namespace
from pathlib import Path
from word2vec_vs_gensim import run_gensim
args = Namespace(**json.loads(sys.argv[1]))
print(json.dumps(run_gensim(args, Path(sys.argv[2]))))
"""


def scored_by_gensim(path: Path, binary: bool = True) -> float:
    """Analogy accuracy of a word2vec file (binary or text) by gensim's evaluator (3CosAdd, top 30k, in-vocabulary
    words): the rule gensim's own vectors are scored by, so fastText's n-gram answers to unseen words count for
    neither side."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gensim.models import KeyedVectors
    from word2vec_vs_gensim import gensim_scores

    return gensim_scores(KeyedVectors.load_word2vec_format(str(path), binary=binary))["analogy"]


def word2vec_row(name: str):
    model, sampler = WORD2VEC[name]

    def row(args, work: Path) -> tuple[Measured, Measured]:
        if args.text8 is None or not args.text8.is_file():
            raise FileNotFoundError("--text8: pass a text8-style file (../shared/data/text8-head.txt.gz)")
        settings = {"corpus": str(args.text8), "model": model, "sampler": sampler, "epochs": args.epochs,
                    "dim": args.dim, "window": 5, "negative": 5, "sample": 1e-3, "min_count": 5,
                    "threads": os.cpu_count(), "bucket": 2_000_000}
        log = work / f"gensim-{name}.log"
        seconds, peak = measure([sys.executable, "-c", GENSIM.format(benchmarks=str(ROOT / "benchmarks")),
                                 json.dumps(settings), str(work)], ROOT, log)
        result = json.loads(log.read_text().strip().splitlines()[-1])
        theirs = Measured(seconds, peak, result["words/sec"], result["analogy"], str(log))
        overrides = ["data=file", f"data.path={args.text8}", "data.tokenizer=whitespace", f"model={model}",
                     f"sampler={sampler}", f"trainer.max_epochs={args.epochs}", f"model.vector_size={args.dim}"]
        overrides += ["model.bucket=2000000"] if model == "fasttext" else []
        seconds, peak, metrics = ours(overrides, work, name)
        analogy = scored_by_gensim(work / f"ours-{name}" / "vectors.bin")
        return Measured(seconds, peak, metrics["train/words_per_sec_mean"], analogy), theirs

    return row


def median_of(runs: list[Measured]) -> Measured:
    """Each field's median over repeated runs (a busy spell of a shared machine hits one run, not the row)."""
    def middle(values):
        return sorted(values)[len(values) // 2]

    return Measured(*(middle([getattr(run, field) for run in runs]) for field in
                      ("seconds", "peak_mb", "throughput", "quality")), runs[0].log)


ROWS = {"lstm": (lstm_row, "PyTorch word_language_model", "tokens/s", "test ppl"),
        "transformer": (transformer_row, "nanoGPT train.py", "tokens/s", "val ppl"),
        "glove": (glove_row, "glove.c", "corpus tokens x epochs / s, end to end", "analogy"),
        "kn5": (kn5_row, "KenLM lmplz", "training tokens / s, end to end", "n-grams"),
        **{name: (word2vec_row(name), "gensim", "words/s", "analogy") for name in WORD2VEC}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="lstm", help=f"comma-separated, of {', '.join(ROWS)}")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                        help="the lstm and transformer rows: both sides on this device (float32)")
    parser.add_argument("--dim", type=int, default=100, help="word vectors' size (the word2vec rows)")
    parser.add_argument("--examples", type=Path, default=Path("/tmp/peers/examples"),
                        help="a clone of pytorch/examples")
    parser.add_argument("--nanogpt", type=Path, default=Path("/tmp/peers/nanoGPT"), help="a clone of karpathy/nanoGPT")
    parser.add_argument("--glove-build", type=Path, default=Path("/tmp/peers/GloVe/build"),
                        help="glove.c's build/ folder (make in a clone of stanfordnlp/GloVe)")
    parser.add_argument("--glove-epochs", type=int, default=15, help="the GloVe row's epochs (glove.c's default 25)")
    parser.add_argument("--memory", type=float, default=1.0,
                        help="GB for the counting of the glove and kn5 rows, both tools")
    parser.add_argument("--kenlm-bin", type=Path, default=Path("/tmp/peers/kenlm/build/bin"),
                        help="KenLM's build/bin (cmake and make lmplz in a clone of kpu/kenlm)")
    parser.add_argument("--nltk", type=Path, default=ROOT.parent / "shared" / "data" / "nltk-en8.txt.gz",
                        help="the kn5 row's corpus")
    parser.add_argument("--steps", type=int, default=200, help="training steps of the transformer row")
    parser.add_argument("--ptb", type=Path, default=ROOT.parent / "shared" / "data" / "ptb")
    parser.add_argument("--text8", type=Path, default=ROOT.parent / "shared" / "data" / "text8-head.txt.gz")
    parser.add_argument("--work", type=Path, default=None, help="where runs and logs go (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each row this many times (ours and the peer back to back) and print the medians")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="time-to-result-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    unknown = [row for row in rows if row not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    print(f"| row | peer | time to result, ours / peer | {'throughput'}, ours / peer | peak RSS, ours / peer | "
          f"quality, ours / peer | speed ratio (time, throughput) | memory ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name in rows:
        function, peer, unit, quality = ROWS[name]
        try:
            runs = [function(args, work) for _ in range(args.repeat)]
        except FileNotFoundError as missing:
            print(f"| {name} | {peer} | skipped: {missing} | | | | | |")
            continue
        mine, theirs = (median_of([run[side] for run in runs]) for side in (0, 1))
        print(f"| {name} | {peer} | {mine.seconds:.1f} s / {theirs.seconds:.1f} s | {mine.throughput:,.0f} / "
              f"{theirs.throughput:,.0f} {unit} | {mine.peak_mb:,.0f} / {theirs.peak_mb:,.0f} MB | "
              f"{mine.quality:.4g} / {theirs.quality:.4g} {quality} | {theirs.seconds / mine.seconds:.2f}x, "
              f"{mine.throughput / theirs.throughput:.2f}x | {mine.peak_mb / theirs.peak_mb:.2f}x |", flush=True)
    print(f"(logs and runs in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
