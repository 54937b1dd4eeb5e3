"""Look inside a trained model: `lm-inspect RUN WHAT [options]` (or `python -m lm_experiments.cli.inspect_run`).

    lm-inspect RUN attention --text "the company said it expects"   every layer x head, and a head view (HTML)
    lm-inspect RUN heads [--windows 64] [--baseline untrained]      mean attention distance and entropy per head
    lm-inspect RUN positions [--dims 0,2,32,64]                     the positional encoding, its waveforms, the
    lm-inspect positions --dim 128 --length 100                       position similarities, the shift check
    lm-inspect RUN [RUN ...] gradient-flow [--steps 35]             d loss_T / d h_(T-k) against k, clipping history
    lm-inspect RUN layer-weights                                    ELMo's learned scalar-mix weights and gamma

attention, heads and positions take a Transformer run (model=transformer), gradient-flow
RNN/GRU/LSTM runs (model=rnn|gru|lstm; several are drawn on one picture), layer-weights a
classifier with ELMo (model.embedding=elmo or model.elmo=<run>). The pictures (PNG; the
head view HTML) and the numbers beside them (.tsv, .txt) go into the (first) run folder, or
--output. Held-out text is the run's validation split (--split test: its test split),
in windows spread evenly over it.
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import torch

from lm_experiments.errors import UserError, exit_status, positive_int
from lm_experiments.files import atomic_write
from lm_experiments.run import assembly
from lm_experiments.run import folder as run_folder
from lm_experiments.tasks.base import Provides

MAX_POSITIONS = 4096    # positions a picture of the encoding shows (its similarities: 4,096^2 floats, 64 MB)
MAX_DIMENSIONS = 8192   # the width of a sinusoidal encoding drawn without a run
COMMANDS = ("attention", "heads", "positions", "gradient-flow", "layer-weights")
NEEDS = {Provides.ATTENTION_MAPS: "a Transformer run (model=transformer)",
         Provides.GRADIENT_THROUGH_TIME: "an RNN, GRU or LSTM language-model run (model=rnn, gru or lstm)"}


def load(run: Path, what: str, needs: Provides, checkpoint: str, device: str = "cpu"):
    """The run's trained task and config, or one line saying which kind of run `what` takes."""
    task, cfg = assembly.load_task(run, checkpoint, device)
    if needs not in task.provides:
        raise UserError(f"{run} is a {type(task).__name__} over {task.name}; {what} takes {NEEDS[needs]}.")
    return task, cfg


def held_out_ids(task, cfg, split: str):
    """The token ids of the run's validation (or test) split, read as the run read its corpus."""
    from hydra.utils import instantiate

    from lm_experiments.cli.evaluate import SPLITS, data_config

    if split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}.")
    datamodule = instantiate(data_config(cfg, []), vocabulary=task.vocab)
    if not datamodule.has_split(split):
        raise UserError(f"The run's corpus has no {split} split to take windows from.")
    return datamodule.splits[split]


def windows_of(task, cfg, split: str, count: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    from lm_experiments.inspection.windows import spread_windows

    ids = held_out_ids(task, cfg, split)
    if len(ids) < length + 1:
        raise UserError(f"The {split} split has {len(ids)} tokens, fewer than one window of {length}.")
    return spread_windows(ids, count, length)


def attention(run: Path, text: str, out: Path, checkpoint: str) -> list[Path]:
    from lm_experiments.cli.generate import encode_prompt
    from lm_experiments.inspection.figures import draw_attention_grid
    from lm_experiments.inspection.head_view import write_head_view

    if not text.strip():
        raise UserError("attention needs --text \"...\": the sentence whose attention to draw.")
    task, cfg = load(run, "attention", Provides.ATTENTION_MAPS, checkpoint)
    ids = encode_prompt(text, task.vocab, cfg)
    if len(ids) > task.model.block_size:
        raise UserError(f"--text is {len(ids)} tokens with the <eos> before it; the model sees at most "
                        f"model.block_size={task.model.block_size}.")
    maps = task.model.attention_maps(torch.tensor([ids]))[:, 0]                            # (L, H, T, T)
    tokens = [task.vocab.itos[i] for i in ids]
    title = f"{run.name}: attention of {len(maps)} layers x {maps.shape[1]} heads"
    return [draw_attention_grid(maps, tokens, out / run_folder.ATTENTION_FILE, title),
            write_head_view(maps, tokens, out / run_folder.HEAD_VIEW_FILE, title)]


def heads(run: Path, out: Path, checkpoint: str, windows: int, length: int | None, baseline: str, split: str,
          seed: int) -> list[Path]:
    from lm_experiments.inspection.attention import head_statistics, uniform_statistics
    from lm_experiments.inspection.figures import draw_head_statistics

    task, cfg = load(run, "heads", Provides.ATTENTION_MAPS, checkpoint)
    length = min(length or task.model.block_size, task.model.block_size)
    inputs, _ = windows_of(task, cfg, split, windows, length)
    statistics = {"trained": head_statistics(task.model.attention_maps(inputs))}
    if baseline == "untrained":
        torch.manual_seed(seed)
        fresh = assembly.instantiate_task(cfg, task.vocab, labels=None, for_training=False).eval()
        statistics["untrained"] = head_statistics(fresh.model.attention_maps(inputs))
    uniform_distance, uniform_entropy = uniform_statistics(length)
    rows = ["\t".join(["layer", "head"] + [f"{name}_{what}" for name in statistics for what in ("distance",
                                                                                              "entropy")])]
    layers, count = statistics["trained"].distance.shape
    for layer in range(layers):
        for head in range(count):
            values = [f"{float(getattr(s, what)[layer, head]):.4f}" for s in statistics.values()
                      for what in ("distance", "entropy")]
            rows.append("\t".join([str(layer + 1), str(head + 1), *values]))
    table = out / run_folder.HEADS_TABLE
    with atomic_write(table) as handle:
        handle.write("\n".join(rows) + "\n")
    print("\n".join(row.replace("\t", "  ") for row in rows))
    print(f"(over {len(inputs)} windows of {length} tokens; attention spread evenly would give distance "
          f"{uniform_distance:.2f} and entropy {uniform_entropy:.2f})")
    title = f"{run.name}: what each head attends to ({len(inputs)} held-out windows of {length} tokens)"
    return [draw_head_statistics(statistics, out / run_folder.HEADS_FILE, title), table]


def positions(run: Path | None, out: Path, checkpoint: str, dims: list[int] | None, dim: int | None,
              length: int | None, offset: int) -> list[Path]:
    from lm_experiments.inspection.figures import draw_positions
    from lm_experiments.inspection.positions import cosine_similarities, shift_residual
    from lm_experiments.models.transformer import sinusoidal_positions

    if length is not None and not 3 <= length <= MAX_POSITIONS:
        raise UserError(f"--length {length}: positions draws 3 to {MAX_POSITIONS:,} positions (the similarity picture "
                        f"is positions x positions).")
    if run is None:
        if dim is None:
            raise UserError("positions without a run draws the sinusoidal encoding: give --dim D (and --length N).")
        if positive_int(dim, "--dim") % 2 or not 2 <= dim <= MAX_DIMENSIONS:
            raise UserError(f"--dim {dim}: the sinusoidal encoding pairs a sine with a cosine, so its width is an even "
                            f"number from 2 to {MAX_DIMENSIONS:,}.")
        table = sinusoidal_positions(length or 100, dim)
        name = "the sinusoidal encoding"
    else:
        task, _ = load(run, "positions", Provides.ATTENTION_MAPS, checkpoint)
        table = task.model.position_table().detach()[: length or MAX_POSITIONS]
        name = f"{run.name}: {task.model.positions} positions"
    count, width = table.shape
    dims = dims if dims is not None else sorted({0, 2 * (width // 8), 2 * (width // 4), 2 * (width // 2) - 2} &
                                                set(range(width)))
    wrong = [d for d in dims if not 0 <= d < width]
    if wrong:
        raise UserError(f"--dims {wrong} outside the encoding's {width} dimensions.")
    if count < 3:
        raise UserError(f"The table has {count} positions; the shift check needs at least 3.")
    lines = [f"{name}: {count} positions x {width} dimensions",
             "PE(pos + k) = M_k PE(pos), M_k fitted by least squares over every position; relative residual:"]
    for k in sorted({1, min(offset, count - 2), min(max(count // 4, 1), count - 2)}):
        fit = shift_residual(table, k)
        linear = f"{fit.linear:.2e}" if fit.linear is not None else "(not determined: positions - k <= dimensions)"
        lines.append(f"  k={k}: one 2x2 block per (sin, cos) pair {fit.blockwise:.2e}; any d x d matrix {linear}")
    note = out / run_folder.POSITIONS_NOTE
    with atomic_write(note) as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    picture = draw_positions(table, dims, cosine_similarities(table), out / run_folder.POSITIONS_FILE,
                             f"{name}, {count} positions x {width} dimensions")
    return [picture, note]


def clipping_history(run: Path) -> tuple[np.ndarray, np.ndarray]:
    """(steps, total gradient norms before clipping) from the run's metrics.csv, empty where it has none."""
    path = run / run_folder.CSV_METRICS_FILE
    steps, norms = [], []
    if path.is_file():
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("grad_norm/total"):
                    steps.append(int(float(row.get("step") or len(steps))))
                    norms.append(float(row["grad_norm/total"]))
    return np.asarray(steps), np.asarray(norms)


def gradient_flow(runs: list[Path], out: Path, checkpoint: str, windows: int, steps: int, split: str) -> list[Path]:
    from lm_experiments.inspection.figures import draw_gradient_flow
    from lm_experiments.inspection.gradient_flow import gradient_through_time
    curves, history, clips = {}, {}, set()
    for run in runs:
        task, cfg = load(run, "gradient-flow", Provides.GRADIENT_THROUGH_TIME, checkpoint)
        inputs, targets = windows_of(task, cfg, split, windows, steps + 1)
        label = f"{run.name} ({cfg.model.get('cell', task.name)})"
        if label in curves:
            label = f"{run} ({cfg.model.get('cell', task.name)})"
        curves[label] = gradient_through_time(task.model.embed, task.model.rnn, task.objective.nll, inputs, targets)
        history[label] = clipping_history(run)
        clip = cfg.get("trainer", {}).get("gradient_clip_val")
        if clip:
            clips.add(float(clip))
    rows = ["k\t" + "\t".join(f"{label} {q}" for label in curves for q in ("q25", "median", "q75"))]
    quartiles = {label: np.percentile(norms.double().numpy(), [25, 50, 75], axis=0) for label, norms in curves.items()}
    for k in range(steps + 1):
        rows.append("\t".join([str(k)] + [f"{q[i, k]:.4e}" for q in quartiles.values() for i in range(3)]))
    table = out / run_folder.GRADIENT_FLOW_TABLE
    with atomic_write(table) as handle:
        handle.write("\n".join(rows) + "\n")
    for label, q in quartiles.items():
        print(f"{label}: median ||d loss_T / d h_(T-k)|| {q[1, 0]:.3g} at k=0, {q[1, steps // 2]:.3g} at "
              f"k={steps // 2}, {q[1, steps]:.3g} at k={steps} (ratio {q[1, steps] / max(q[1, 0], 1e-300):.2e})")
    shown = {label: h for label, h in history.items() if len(h[0])}
    picture = draw_gradient_flow(curves, out / run_folder.GRADIENT_FLOW_FILE,
                                 f"gradient flow over {len(inputs)} held-out windows of {steps + 1} tokens",
                                 shown or None, clips.pop() if len(clips) == 1 else None)
    return [picture, table]


def layer_weights(run: Path, out: Path, checkpoint: str) -> list[Path]:
    """Read off the checkpoint, so the biLM run the classifier was trained with need not be at hand."""
    from omegaconf import OmegaConf

    from lm_experiments.inspection.figures import draw_layer_weights

    run_folder.check_run_folder(run)
    cfg = OmegaConf.load(run / run_folder.CONFIG_FILE)
    model = cfg.get("model", {})
    if not (model.get("embedding") == "elmo" or model.get("elmo")):
        raise UserError(f"{run} has no ELMo layers to weigh; layer-weights takes a classifier trained with "
                        f"model.embedding=elmo or model.elmo=<an elmo run>.")
    path = run_folder.checkpoint_path(run, checkpoint)
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}. Pass --checkpoint PATH, or train with the default callbacks.")
    state = run_folder.model_weights(run_folder.load_checkpoint(path)["state_dict"])
    weights = next((v for k, v in state.items() if k.endswith("elmo.mix.weights")), None)
    gamma = next((v for k, v in state.items() if k.endswith("elmo.mix.gamma")), None)
    if weights is None or gamma is None:
        raise UserError(f"{path} holds no ELMo scalar mix (elmo.mix.weights, elmo.mix.gamma).")
    shares = torch.softmax(weights.float(), dim=0)
    print("layer\tsoftmax(w)\n" + "\n".join(f"{j}\t{float(s):.4f}" for j, s in enumerate(shares)) +
          f"\ngamma\t{float(gamma):.4f}")
    return [draw_layer_weights(shares, float(gamma), out / run_folder.LAYER_WEIGHTS_FILE,
                               f"{run.name}: ELMo's layer weights")]


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def parse(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="lm-inspect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="+", metavar="RUN ... WHAT", help=f"run folders, then one of {COMMANDS}")
    parser.add_argument("--text", default="", help="attention: the text whose attention to draw")
    parser.add_argument("--windows", type=int, default=64, help="heads, gradient-flow: held-out windows")
    parser.add_argument("--length", type=int, default=None,
                        help="heads: window length (default the model's block_size); positions: positions drawn")
    parser.add_argument("--baseline", choices=("none", "untrained"), default="none",
                        help="heads: draw an untrained model of the same config beside the trained one")
    parser.add_argument("--dims", type=_int_list, default=None, help="positions: the dimensions drawn as waveforms")
    parser.add_argument("--dim", type=int, default=None, help="positions without a run: the encoding's width")
    parser.add_argument("--offset", type=int, default=5, help="positions: a shift k to check PE(pos + k) = M_k PE")
    parser.add_argument("--steps", type=int, default=35, help="gradient-flow: how far back (k = 0..steps)")
    parser.add_argument("--split", default="valid", help="heads, gradient-flow: valid or test")
    parser.add_argument("--checkpoint", default=run_folder.LAST_CHECKPOINT, help="'last', 'best' or a .ckpt path")
    parser.add_argument("--output", type=Path, default=None, help="the folder for the files (default: the run's)")
    parser.add_argument("--seed", type=int, default=0, help="heads --baseline untrained: its initialisation")
    args = parser.parse_args(argv)
    commands = [item for item in args.items if item in COMMANDS]
    if len(commands) != 1 or args.items[-1] != commands[0]:
        parser.error(f"name the run folders, then one of {', '.join(COMMANDS)} (last)")
    args.what, args.runs = commands[0], [Path(item).expanduser() for item in args.items[:-1]]
    return args


def run_command(args) -> list[Path]:
    what, runs = args.what, args.runs
    if not runs and what != "positions":
        raise UserError(f"{what} needs a run folder: lm-inspect RUN {what}.")
    if len(runs) > 1 and what != "gradient-flow":
        raise UserError(f"{what} takes one run folder; only gradient-flow draws several on one picture.")
    for run in runs:
        if not run.is_dir():
            raise UserError(f"No run folder at {run}.")
        run_folder.check_run_folder(run)
    for name, value in (("--windows", args.windows), ("--steps", args.steps), ("--offset", args.offset)):
        positive_int(value, name)
    if args.length is not None:
        positive_int(args.length, "--length")
    out = args.output or (runs[0] if runs else Path.cwd())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--output {out}: cannot make the folder ({error.strerror}).") from None
    if what == "attention":
        return attention(runs[0], args.text, out, args.checkpoint)
    if what == "heads":
        return heads(runs[0], out, args.checkpoint, args.windows, args.length, args.baseline, args.split, args.seed)
    if what == "positions":
        return positions(runs[0] if runs else None, out, args.checkpoint, args.dims, args.dim, args.length,
                         args.offset)
    if what == "gradient-flow":
        return gradient_flow(runs, out, args.checkpoint, args.windows, args.steps, args.split)
    return layer_weights(runs[0], out, args.checkpoint)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        written = run_command(args)
    except Exception as error:
        return exit_status(error)
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
