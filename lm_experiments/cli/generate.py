"""Sample text from a trained language model's run folder.

    lm-generate outputs/train/runs/<date>/<time> --prompt "the company said" \\
        --tokens 40 --samples 3 --temperature 0.8 --top-k 50 --top-p 0.95

The run folder's `config.yaml`, `vocab.tsv` and checkpoint rebuild the model exactly
as it was trained. Works for every language model (n-gram, NNLM, RNN/GRU/LSTM,
Transformer).
"""

import argparse
import sys
from pathlib import Path

import torch

from lm_experiments.data.tokenizers import make_tokenizer
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, exit_status
from lm_experiments.evaluation.generation import detokenize, sample
from lm_experiments.run import assembly
from lm_experiments.run import folder as run_folder
from lm_experiments.tasks.base import Provides


def load_run_model(run: Path, checkpoint: str = run_folder.LAST_CHECKPOINT, device: str = "cpu"):
    """The trained task of a run folder, in eval mode on `device`, and the run's config."""
    task, cfg = assembly.load_task(run, checkpoint, device)
    if Provides.NEXT_TOKEN not in task.provides:
        raise UserError(f"{run} holds a {type(task).__name__} over {task.name}, not a language model; "
                        f"it cannot generate text.")
    return task, cfg


def encode_prompt(text: str, vocab: Vocabulary, cfg) -> list[int]:
    """The prompt's ids after an `<eos>` (a sentence start), tokenized as the run's corpus was."""
    tokens = make_tokenizer(cfg.data.get("tokenizer", "whitespace"), cfg.data.get("lowercase", False))(text)
    return [vocab.eos_index] + vocab.lookup(tokens).tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lm-generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder (with config.yaml, vocab.tsv, checkpoints/)")
    parser.add_argument("--checkpoint", default=run_folder.LAST_CHECKPOINT, help="'last' or a .ckpt path")
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
        return exit_status(error)
    for row in drawn.tolist():
        print(detokenize(prompt_ids[1:] + row, model.vocab.itos))
        print("---")
    return 0


if __name__ == "__main__":
    sys.exit(main())
