"""Contextual word vectors from a trained ELMo run: `lm-embed RUN --input sentences.txt --output vectors.npz`
(or `python -m lm_experiments.cli.embed`), or in Python:

    from lm_experiments import ElmoEmbedder
    embedder = ElmoEmbedder("outputs/elmo_ptb/runs/<date>_<time>")
    out = embedder.embed([["the", "bank", "rose"], ["a", "river", "bank"]])
    out.layers  # (B, T, L + 1, 2p): the token layer (twice) and each biLSTM layer's [forward; backward]
    out.mixed   # (B, T, 2p): the scalar mix of the layers
    out.mask    # (B, T): True at real tokens

Any word gets a vector, seen in training or not (its characters). The CLI reads one
whitespace-tokenized sentence per line and writes a NumPy `.npz` (not AllenNLP's HDF5):
`layers` (N, L + 1, 2p) and `mixed` (N, 2p) for the N tokens of all sentences in order,
and `offsets` (S + 1,): sentence s (input line s) is rows offsets[s]:offsets[s + 1], none for a
blank line.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from lm_experiments.errors import UserError, exit_status
from lm_experiments.files import atomic_write
from lm_experiments.run.api import ElmoEmbedder


def read_sentences(path: Path) -> list[list[str]]:
    """One sentence per input line, blank lines included (as empty sentences), so output s is input line s."""
    if not path.is_file():
        raise UserError(f"--input {path} is not a file.")
    data = path.read_bytes()
    if b"\x00" in data:
        raise UserError(f"--input {path} is a binary file, not text: one sentence per line, tokens separated by "
                        f"spaces.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"--input {path} is not UTF-8 text (byte {error.start:,}).") from None
    sentences = [line.split() for line in text.splitlines()]
    if not any(sentences):
        raise UserError(f"--input {path} holds no sentence.")
    return sentences


def check_output(path: Path) -> Path:
    """The --output file, refused in one line where it cannot be one: a folder, or under a file."""
    if path.is_dir():
        raise UserError(f"--output {path} is a folder: name the .npz file to write.")
    blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise UserError(f"--output {path}: {blocking} is a file, not a folder.")
    return path


def parse_weights(text: str) -> list[float]:
    """--weights: finite numbers separated by commas (their count is checked against the biLM's layers)."""
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"--weights {text!r}: expected numbers separated by commas.") from None
    if not all(math.isfinite(w) for w in weights):
        raise UserError(f"--weights {text!r}: every weight must be a finite number.")
    return weights


def main(argv: list[str] | None = None) -> int:
    from rich.progress import Progress

    parser = argparse.ArgumentParser(prog="lm-embed", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="the folder of a finished model=elmo run")
    parser.add_argument("--input", required=True, help="sentences, one per line, tokens separated by spaces")
    parser.add_argument("--output", required=True, help="the .npz to write (layers, mixed, offsets)")
    parser.add_argument("--checkpoint", default="last", help="'last' or a .ckpt path")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per batch")
    parser.add_argument("--weights", help="comma-separated scalar-mix weights before the softmax (default equal)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        sentences = read_sentences(Path(args.input))
        output = check_output(Path(args.output))
        weights = parse_weights(args.weights) if args.weights else None
        embedder = ElmoEmbedder(args.run, args.checkpoint, args.device, weights)
        width = embedder.mix.weights.shape[0]
        layers, mixed = [], []
        real = [s for s in sentences if s]
        with Progress(transient=True) as progress:
            job = progress.add_task("embedding", total=len(real))
            for start in range(0, len(real), args.batch_size):
                out = embedder.embed(real[start: start + args.batch_size])
                layers.append(out.layers[out.mask].cpu().numpy())
                mixed.append(out.mixed[out.mask].cpu().numpy())
                progress.advance(job, len(out.mask))
        dim = 2 * embedder.model.output_dim
        layers = np.concatenate(layers) if layers else np.zeros((0, width, dim), dtype=np.float32)
        mixed = np.concatenate(mixed) if mixed else np.zeros((0, dim), dtype=np.float32)
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
        with atomic_write(output, "wb", encoding=None) as out_file:
            np.savez(out_file, layers=layers, mixed=mixed, offsets=offsets)
    except Exception as error:
        return exit_status(error)
    blank = sum(1 for s in sentences if not s)
    print(f"wrote {args.output}: {len(sentences)} sentences ({blank} blank), {int(offsets[-1])} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
