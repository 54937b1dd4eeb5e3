"""Redraw the pictures of docs/inspect.md from the shared PTB (and MR) data: small runs, then `lm-inspect`.

    python docs/draw_pictures.py [--data ../shared/data] [--work /tmp/lm_inspect_runs]

Trains a small Transformer, a tanh RNN and an LSTM on PTB, a small ELMo on PTB and a bag-of-vectors
classifier on MR over it (minutes on 2 cores), then writes docs/img/*.png with the commands the page
shows. The runs stay in --work for a second look.
"""

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
QUIET = ["callbacks.progress_bar=null", "callbacks.text_samples=null", "logger=csv"]


def train(work: Path, name: str, *overrides: str) -> Path:
    run = work / name
    if (run / "checkpoints" / "last.ckpt").is_file():
        return run                                                     # already trained in an earlier call
    subprocess.run([sys.executable, "train.py", *overrides, *QUIET, f"hydra.run.dir={run}"], cwd=ROOT, check=True)
    return run


def inspect(*argv) -> None:
    subprocess.run([sys.executable, "-m", "lm_experiments.cli.inspect_run", *map(str, argv)], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lm_inspect_runs"))
    args = parser.parse_args()
    ptb = args.data / "ptb"
    if not ptb.is_dir():
        sys.exit(f"error: no PTB at {ptb}; pass --data, the folder holding ptb/ and mr/.")
    IMAGES.mkdir(parents=True, exist_ok=True)
    lm = ["data=ptb", f"data.path={ptb}", "trainer.max_epochs=1", "trainer.limit_val_batches=40"]
    transformer = train(args.work, "transformer", "model=transformer", *lm, "model.d_model=128", "model.num_layers=2",
                        "model.num_heads=4", "model.block_size=32", "model.eval_stride=16", "model.dropout=0.1",
                        "trainer.limit_train_batches=1500", "data.batch_size=32")
    rnn = train(args.work, "rnn", "model=rnn", *lm, "model.num_layers=1", "trainer.limit_train_batches=600")
    lstm = train(args.work, "lstm", "model=lstm", *lm, "model.num_layers=1", "trainer.limit_train_batches=600")
    elmo = train(args.work, "elmo", "experiment=elmo_ptb", f"data.path={ptb}", "model.hidden_dim=128",
                 "model.projection_dim=64", "trainer.max_epochs=1", "trainer.limit_train_batches=600",
                 "trainer.limit_val_batches=20")
    classifier = train(args.work, "bow_elmo", "model=bow", "data=mr", f"data.path={args.data / 'mr'}",
                       "model.embedding=elmo", f"model.pretrained={elmo}", "model.embedding_dim=50",
                       "trainer.max_epochs=3")
    out = ["--output", IMAGES]
    inspect(transformer, "attention", "--text", "the company said it expects to report higher earnings", *out)
    inspect(transformer, "heads", "--windows", 64, "--baseline", "untrained", *out)
    inspect("positions", "--dim", 128, "--length", 100, *out)
    inspect(rnn, lstm, "gradient-flow", *out)
    inspect(classifier, "layer-weights", *out)
    for name in ("attention.html", "heads.tsv", "positions.txt", "gradient_flow.tsv"):
        (IMAGES / name).unlink(missing_ok=True)                        # the page shows the pictures only


if __name__ == "__main__":
    main()
