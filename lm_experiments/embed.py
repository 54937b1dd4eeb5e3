"""Contextual word vectors from a trained ELMo run: `python -m lm_experiments.embed RUN --input sentences.txt
--output vectors.npz`, or in Python:

    from lm_experiments.embed import ElmoEmbedder
    embedder = ElmoEmbedder("outputs/elmo_ptb/runs/<date>_<time>")
    out = embedder.embed([["the", "bank", "rose"], ["a", "river", "bank"]])
    out.layers  # (B, T, L + 1, 2p): the token layer (twice) and each biLSTM layer's [forward; backward]
    out.mixed   # (B, T, 2p): the scalar mix of the layers
    out.mask    # (B, T): True at real tokens

Any word gets a vector, seen in training or not (its characters). The CLI reads one
whitespace-tokenized sentence per line and writes a NumPy `.npz` (not AllenNLP's HDF5):
`layers` (N, L + 1, 2p) and `mixed` (N, 2p) for the N tokens of all sentences in order,
and `offsets` (S + 1,): sentence s is rows offsets[s]:offsets[s + 1].
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lm_experiments.bilm_loading import load_bilm
from lm_experiments.errors import UserError
from lm_experiments.io import atomic_write
from lm_experiments.models.scalar_mix import ScalarMix


@dataclass
class Embedded:
    layers: torch.Tensor  # (B, T, L + 1, 2p)
    mixed: torch.Tensor   # (B, T, 2p)
    mask: torch.Tensor    # (B, T) bool


class ElmoEmbedder:
    """A finished `model=elmo` run's biLM, frozen, with a scalar mix (equal weights unless `weights` are given)."""

    def __init__(self, run: str | Path, checkpoint: str = "last", device: str = "cpu",
                 weights: list[float] | None = None, gamma: float = 1.0, layer_norm: bool = False):
        self.model = load_bilm(run, checkpoint, device, what="contextual vectors come from an ELMo run (model=elmo)")
        self.device = device
        self.mix = ScalarMix(self.model.num_layers + 1, weights, gamma, layer_norm, trainable=False).to(device)

    @torch.no_grad()
    def embed(self, sentences: list[list[str]]) -> Embedded:
        if not sentences or any(len(s) == 0 for s in sentences):
            raise UserError("Every sentence to embed needs at least one token.")
        lengths = torch.tensor([len(s) for s in sentences], device=self.device)
        words = [w for sentence in sentences for w in sentence]
        flat = self.model.tokens.vectors_for(words)                                   # (N, p)
        mask = torch.arange(int(lengths.max()), device=self.device)[None, :] < lengths[:, None]
        tokens = flat.new_zeros(len(sentences), mask.shape[1], flat.shape[-1])
        tokens[mask] = flat
        layers = self.model.layers(tokens, lengths) * mask[..., None, None]
        return Embedded(layers, self.mix(layers, mask) * mask[..., None], mask)


def main(argv: list[str] | None = None) -> int:
    from rich.progress import Progress

    parser = argparse.ArgumentParser(prog="python -m lm_experiments.embed", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="the folder of a finished model=elmo run")
    parser.add_argument("--input", required=True, help="sentences, one per line, tokens separated by spaces")
    parser.add_argument("--output", required=True, help="the .npz to write (layers, mixed, offsets)")
    parser.add_argument("--checkpoint", default="last", help="'last' or a .ckpt path")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per batch")
    parser.add_argument("--weights", help="comma-separated scalar-mix weights before the softmax (default equal)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        path = Path(args.input)
        if not path.is_file():
            raise UserError(f"--input {path} is not a file.")
        sentences = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.split()]
        if not sentences:
            raise UserError(f"--input {path} holds no sentence.")
        weights = [float(w) for w in args.weights.split(",")] if args.weights else None
        embedder = ElmoEmbedder(args.run, args.checkpoint, args.device, weights)
        layers, mixed = [], []
        with Progress(transient=True) as progress:
            job = progress.add_task("embedding", total=len(sentences))
            for start in range(0, len(sentences), args.batch_size):
                out = embedder.embed(sentences[start: start + args.batch_size])
                layers.append(out.layers[out.mask].cpu().numpy())
                mixed.append(out.mixed[out.mask].cpu().numpy())
                progress.advance(job, len(out.mask))
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
        with atomic_write(args.output, "wb", encoding=None) as out_file:
            np.savez(out_file, layers=np.concatenate(layers), mixed=np.concatenate(mixed), offsets=offsets)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {len(sentences)} sentences, {int(offsets[-1])} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
