"""Sample text from a trained language model's run folder.

    python -m lm_experiments.generate outputs/train/runs/<date>/<time> --prompt "the company said" \\
        --tokens 40 --samples 3 --temperature 0.8 --top-k 50 --top-p 0.95

The run folder's `config.yaml`, `vocab.tsv` and checkpoint rebuild the model exactly
as it was trained. Works for every language model (n-gram, NNLM, RNN/GRU/LSTM,
Transformer).
"""

import argparse
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

from lm_experiments.data.tokenize import make_tokenizer
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, user_error_in
from lm_experiments.sampling import detokenize, sample


def load_run_model(run: Path, checkpoint: str = "last", device: str = "cpu"):
    """The trained module of a run folder, in eval mode on `device`, and the run's config."""
    from lm_experiments.run import instantiate_model

    run = Path(run)
    for name in ("config.yaml", "vocab.tsv"):
        if not (run / name).is_file():
            raise UserError(f"{run} is not a run folder: it has no {name}. Pass the folder a training run wrote.")
    path = run / "checkpoints" / f"{checkpoint}.ckpt" if checkpoint == "last" else Path(checkpoint)
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}. Pass --checkpoint PATH, or train with the default callbacks.")
    cfg = OmegaConf.load(run / "config.yaml")
    vocab = Vocabulary.load(run / "vocab.tsv")
    model = instantiate_model(cfg, vocab, for_training=False)
    if not hasattr(model, "next_token_log_probs"):
        raise UserError(f"{run} holds a {type(model).__name__}, not a language model; it cannot generate text.")
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.on_load_checkpoint(state)
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), cfg


def encode_prompt(text: str, vocab: Vocabulary, cfg) -> list[int]:
    """The prompt's ids after an `<eos>` (a sentence start), tokenized as the run's corpus was."""
    tokens = make_tokenizer(cfg.data.get("tokenizer", "whitespace"), cfg.data.get("lowercase", False))(text)
    return [vocab.eos_index] + vocab.lookup(tokens).tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder (with config.yaml, vocab.tsv, checkpoints/)")
    parser.add_argument("--checkpoint", default="last", help="'last' or a .ckpt path")
    parser.add_argument("--prompt", default="", help="text to continue (default: a new sentence)")
    parser.add_argument("--tokens", type=int, default=40, help="tokens to draw per sample")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        model, cfg = load_run_model(args.run, args.checkpoint, args.device)
        prompt_ids = encode_prompt(args.prompt, model.vocab, cfg)
        prompt = torch.tensor([prompt_ids] * args.samples, device=args.device)
        generator = torch.Generator(device=args.device).manual_seed(args.seed)
        drawn = sample(model, prompt, args.tokens, args.temperature, args.top_k, args.top_p, generator)
    except Exception as error:
        cause = user_error_in(error)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        return 2
    for row in drawn.tolist():
        print(detokenize(prompt_ids[1:] + row, model.vocab.itos))
        print("---")
    return 0


if __name__ == "__main__":
    sys.exit(main())
