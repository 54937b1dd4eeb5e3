"""Evaluate without training: `lm-eval TARGET [--split valid] [--json] [overrides]`
(or `python -m lm_experiments.cli.evaluate`).

TARGET is a run folder, a checkpoint in one (`.ckpt`), or any vectors file gensim reads
(word2vec text or binary, GloVe text, gensim `.kv` including `FastTextKeyedVectors`,
fastText's own `.bin`), so vectors trained elsewhere are scored by the same batched
evaluator as ours:

- word vectors (an embedding or count run, or a file): analogies (3CosAdd and 3CosMul over
  the 30k most frequent words, as gensim), WS-353 and SimLex-999 (Spearman), nearest
  neighbours; vectors that answer unseen words (fastText) answer the evaluation words
  outside their vocabulary, as in training.
- language models (and ELMo's biLM, the n-gram model): perplexity on the test split
  (`--split valid`: the validation split), optionally on another corpus with the run's
  vocabulary: `data=wikitext2 data.path=...` (its words outside the vocabulary read `<unk>`),
  or on one file scored whole, read as the run read its corpus: `--data held_out.txt`.
  An n-gram run is read from its `model.arpa` (no checkpoint: it takes no optimizer step).
- an ARPA file or KenLM binary model (`model.arpa`, `model.binary`): perplexity of `--data
  FILE` through the kenlm module, as KenLM's `query` reads text.
- classifiers: accuracy and macro-F1 on the test (or validation) split.

The numbers are the ones the run itself reports: the same code scores the same weights.
`--checkpoint best` takes the run's best epoch (kept by `callbacks.model_checkpoint`).
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lm_experiments import CONFIG_DIR
from lm_experiments.errors import UserError, exit_status
from lm_experiments.run import assembly
from lm_experiments.run import folder as run_folder
from lm_experiments.tasks.base import Provides

# the data settings that say how a model reads its corpus: kept from the run when evaluating on another corpus
VIEW_SETTINGS = ("batch_size", "bptt", "eval_batch_size", "batch_words", "window", "sample")
SPLITS = {"test": "test", "valid": "val"}


@dataclass
class Evaluation:
    target: str
    kind: str                        # "word vectors" | "language model" | "classifier"
    metrics: dict[str, float]
    neighbours: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def as_json(self) -> str:
        metrics = {k: (v if math.isfinite(v) else None) for k, v in sorted(self.metrics.items())}
        neighbours = {q: [[w, s] for w, s in found] for q, found in self.neighbours.items()}
        return json.dumps({"target": self.target, "kind": self.kind, "metrics": metrics, "neighbours": neighbours},
                          indent=1)


class KeyedVectorSource:
    """A vectors file, offering the embedding evaluation what an embedding task offers it: its words and
    vectors, and (for `FastTextKeyedVectors`) vectors for words outside its vocabulary."""

    def __init__(self, kv):
        from gensim.models.fasttext import FastTextKeyedVectors

        self.kv = kv
        unseen = {Provides.UNSEEN_WORD_VECTORS} if isinstance(kv, FastTextKeyedVectors) else set()
        self.provides = frozenset({Provides.WORD_VECTORS, *unseen})

    def word_vectors(self) -> tuple[list[str], torch.Tensor]:
        return list(self.kv.index_to_key), torch.from_numpy(np.asarray(self.kv.vectors, dtype=np.float32))

    def vectors_for(self, words: list[str]) -> torch.Tensor:
        return torch.from_numpy(np.stack([self.kv.get_vector(w) for w in words]).astype(np.float32))


def evaluate_vectors(source, target: str, analogies: str | None = None, similarity: dict | None = None,
                     restrict_vocab: int = 30000, neighbours: list[str] | None = None, topn: int = 5) -> Evaluation:
    """`source` offers `provides`, `word_vectors()` and `vectors_for(words)`: a trained task or a vectors file."""
    from lm_experiments.callbacks.embedding_eval import EmbeddingEvaluation

    evaluation = EmbeddingEvaluation(analogies=analogies, similarity=similarity, restrict_vocab=restrict_vocab,
                                     neighbours=neighbours, topn=topn)
    evaluation.setup(None, source, "validate")
    metrics = {name.removeprefix("val/"): value for name, value in evaluation.evaluate(source).items()}
    return Evaluation(target, "word vectors", metrics, evaluation.last_neighbours)


def _data_group_of(data) -> str:
    """The `data=` option a run's data settings came from, found by its corpus's (or source's) class."""
    from omegaconf import OmegaConf

    node = data.get("corpus") or data.get("source") or {}
    target = node.get("_target_")
    for path in sorted((CONFIG_DIR / "data").glob("*.yaml")):
        option = OmegaConf.load(path)
        if (option.get("corpus") or option.get("source") or {}).get("_target_") == target:
            return path.stem
    raise UserError(f"The run's corpus ({target}) is none of the data= options: pass data=<name> to pick one.")


def _carry(fresh, saved, given: set[str], prefix: str = "") -> None:
    """Copy the run's `saved` values into the newly composed `fresh` data node, except where the user gave
    a value or `fresh` holds an interpolation (`corpus.path: ${data.path}` follows the carried `data.path`)."""
    from omegaconf import DictConfig, OmegaConf, open_dict

    with open_dict(fresh):
        for key, value in saved.items():
            name = f"{prefix}{key}"
            if name in given or (key in fresh and OmegaConf.is_interpolation(fresh, key)):
                continue
            if isinstance(value, DictConfig) and isinstance(fresh.get(key), DictConfig):
                _carry(fresh[key], value, given, f"{name}.")
            else:
                fresh[key] = value


def _override_pairs(overrides: list[str]) -> list[tuple[str, str]]:
    """(key, override) for each `data=...` / `data.<key>=...`; anything else is refused."""
    pairs = [(item.split("=", 1)[0].lstrip("+~"), item) for item in overrides]
    for key, item in pairs:
        if "=" not in item or not (key == "data" or key.startswith("data.")):
            raise UserError(f"{item}: evaluate takes data=<name> and data.<key>=<value> overrides only.")
    return pairs


def data_config(run_cfg, overrides: list[str], data_file: str | None = None):
    """The data node to score the run on: the run's own, or another corpus (`data=<name>`) read as the run's
    model reads (its view and its view settings), or one file (`data_file`) read as the run read its corpus and
    scored whole; `data.*` overrides on top."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    pairs = _override_pairs(overrides)
    chosen = [item.split("=", 1)[1] for key, item in pairs if key == "data"]
    if data_file is not None and chosen:
        raise UserError("--data FILE scores one file as the run read its own corpus; leave data=<name> out.")
    group = chosen[-1] if chosen else _data_group_of(run_cfg.data)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        composed = compose("train", overrides=[f"data={group}"] + [item for key, item in pairs if key != "data"])
    given = {key.removeprefix("data.") for key, _ in pairs if key != "data"}
    saved = run_cfg.data if not chosen else {k: run_cfg.data[k] for k in VIEW_SETTINGS if k in run_cfg.data}
    _carry(composed.data, OmegaConf.create(saved), given)
    composed.data.view = run_cfg.data.view
    if data_file is not None:
        encoding = (run_cfg.data.get("corpus") or {}).get("encoding", "utf-8")
        composed.data.corpus = OmegaConf.create({"_target_": "lm_experiments.data.corpora.HeldOutText",
                                                 "path": str(Path(data_file).expanduser()), "encoding": encoding})
        composed.data.path = str(Path(data_file).expanduser())
    OmegaConf.resolve(composed.data)  # (only the data node: the rest names Hydra's run folder)
    return composed.data


def evaluate_held_out(task, run_cfg, folder: Path, target: str, split: str, overrides: list[str],
                      device: str, progress: bool, data_file: str | None = None) -> Evaluation:
    """Score a split with the trained task, as `trainer.test` / `trainer.validate` do at the end of a run."""
    import lightning as L
    from hydra.utils import instantiate

    if split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}.")
    labels = run_folder.read_labels(folder)
    if data_file is not None and split != "test":
        raise UserError("--data FILE is scored whole as the test split; leave --split out.")
    datamodule = instantiate(data_config(run_cfg, overrides, data_file), vocabulary=task.vocab,
                             **({"label_set": labels} if labels is not None else {}))
    if not datamodule.has_split(split):
        raise UserError(f"The corpus has no {split} split to score (for one file, data.holdout sets how much of "
                        f"its end is held out).")
    trainer = L.Trainer(accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=progress)
    (trainer.test if split == "test" else trainer.validate)(task, datamodule=datamodule, verbose=False)
    prefix = f"{SPLITS[split]}/"
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
               if k.startswith(prefix) and not k.endswith(("_best", "best_epoch"))}
    kind = "classifier" if labels is not None else "language model"
    return Evaluation(target, kind, metrics)


KENLM_MODEL_SUFFIXES = (".arpa", ".binary", ".klm")  # an ARPA file or KenLM's binary model, queried through kenlm


def evaluate_kenlm_file(path: Path, data_file: str | None) -> Evaluation:
    """Perplexity of a text file under an ARPA or KenLM binary model file, as KenLM's `query` gives it: each line a
    sentence of whitespace-separated words, `</s>` counted as a token, unknown words scored as the model's <unk>."""
    import logging

    from lm_experiments.data.reading import open_text, text_size
    from lm_experiments.progress import ProgressLog

    if data_file is None:
        raise UserError(f"{path} is a language model file: give the text to score with --data FILE.")
    try:
        import kenlm
    except ImportError:
        raise UserError("Scoring an ARPA or KenLM binary file directly takes the kenlm module (pip install kenlm); "
                        "a run folder's model is scored without it.") from None
    try:
        model = kenlm.Model(str(path))
    except (OSError, RuntimeError) as error:
        raise UserError(f"KenLM cannot read {path}: {' '.join(str(error).split())[:200]}") from None
    source = Path(data_file).expanduser()
    if not source.is_file():
        raise UserError(f"--data {source} is not a file.")
    progress = ProgressLog(logging.getLogger(__name__), f"scoring {source.name}", text_size(source, None))
    log10, tokens = 0.0, 0
    with open_text(source) as handle:
        for line in handle:
            words = line.split()
            log10 += model.score(" ".join(words), bos=True, eos=True)
            tokens += len(words) + 1
            progress.advance(len(line))
    if tokens == 0:
        raise UserError(f"--data {source} holds no text.")
    progress.finish(f"{tokens:,} tokens")
    loss = -log10 * math.log(10.0) / tokens
    return Evaluation(str(path), "language model", {"test/ppl": math.exp(loss), "test/loss": loss,
                                                    "test/tokens": float(tokens)})


def evaluate(target: str | Path, checkpoint: str = run_folder.LAST_CHECKPOINT, split: str = "test",
             overrides: list[str] | None = None, device: str = "cpu", progress: bool = False,
             data_file: str | None = None, **vector_options) -> Evaluation:
    """Evaluate a run folder, a checkpoint file or a vectors file (see the module docstring)."""
    _override_pairs(list(overrides or []))
    if Path(target).suffix in KENLM_MODEL_SUFFIXES and Path(target).expanduser().is_file():
        return evaluate_kenlm_file(Path(target).expanduser(), data_file)
    if data_file is not None and not Path(target).expanduser().is_dir() and Path(target).suffix != ".ckpt":
        raise UserError("--data FILE is held-out text for a run's language model; a vectors file is scored on the "
                        "evaluation files.")
    path = Path(target).expanduser()
    if path.is_file() and path.suffix == ".ckpt":
        folder, checkpoint = run_folder.run_folder_of(path), str(path)
    elif path.is_dir():
        folder = path
    else:
        if overrides:
            raise UserError("data overrides apply to runs; a vectors file is scored on the evaluation files.")
        from lm_experiments.vectors import load_vectors

        return evaluate_vectors(KeyedVectorSource(load_vectors(path, "TARGET")), str(path), **vector_options)
    task, run_cfg = assembly.load_task(folder, checkpoint, device)
    if Provides.WORD_VECTORS in task.provides:
        if overrides or data_file is not None:
            raise UserError("data overrides and --data apply to language models and classifiers; word vectors are "
                            "scored on the evaluation files.")
        return evaluate_vectors(task, str(path), **vector_options)
    return evaluate_held_out(task, run_cfg, folder, str(path), split, list(overrides or []), device, progress,
                             data_file)


def print_evaluation(evaluation: Evaluation) -> None:
    from rich.console import Console

    from lm_experiments.run.summary import metrics_table

    headline = ("analogy", "analogy_mul", "ws353", "simlex", "test/ppl", "val/ppl", "test/acc", "val/acc")
    console = Console()
    console.print(metrics_table(evaluation.metrics, f"{evaluation.target}: {evaluation.kind}", headline))
    for query, found in evaluation.neighbours.items():
        console.print(f"  {query}: " + ", ".join(f"{word} ({score:.2f})" for word, score in found))


def _similarity_files(items: list[str]) -> dict[str, str | None] | None:
    if not items:
        return None
    files = {"ws353": None, "simlex": None}
    for item in items:
        name, _, path = item.partition("=")
        if not path:
            raise UserError(f"--similarity {item}: give NAME=PATH (e.g. ws353=wordsim353.tsv).")
        files[name] = path
    return files


def main(argv: list[str] | None = None) -> int:
    from lm_experiments.run.console import quiet_third_party_noise

    parser = argparse.ArgumentParser(prog="lm-eval", description=__doc__.split("\n\n")[0],
                                     epilog="Run folder, checkpoint or vectors file; overrides only for runs.")
    parser.add_argument("target", help="a run folder, a .ckpt file in one, or a vectors file")
    parser.add_argument("overrides", nargs="*", help="data=<name> and data.<key>=<value> (language models and "
                                                     "classifiers: score another corpus with the run's vocabulary)")
    parser.add_argument("--checkpoint", default=run_folder.LAST_CHECKPOINT, help="last, best, or a .ckpt path")
    parser.add_argument("--split", default="test", choices=sorted(SPLITS), help="held-out split to score")
    parser.add_argument("--data", metavar="FILE", help="a text file to score whole with the run's language model "
                                                       "(read as the run read its corpus)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON (for scripts)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--analogies", help="analogy questions file (default: gensim's questions-words.txt)")
    parser.add_argument("--similarity", action="append", default=[], metavar="NAME=PATH",
                        help="a word-similarity file scored as NAME (default: gensim's WS-353 and SimLex-999)")
    parser.add_argument("--restrict-vocab", type=int, default=30000, help="analogy candidates: the most frequent N")
    parser.add_argument("--neighbours", default="king,france,computer,good,three,government",
                        help="comma-separated words whose nearest neighbours are shown")
    parser.add_argument("--topn", type=int, default=5)
    args = parser.parse_args(argv)
    quiet_third_party_noise()
    try:
        evaluation = evaluate(args.target, args.checkpoint, args.split, args.overrides, args.device,
                              progress=not args.json, data_file=args.data, analogies=args.analogies,
                              similarity=_similarity_files(args.similarity), restrict_vocab=args.restrict_vocab,
                              neighbours=[w for w in args.neighbours.split(",") if w], topn=args.topn)
    except Exception as error:
        return exit_status(error)
    if args.json:
        print(evaluation.as_json())
    else:
        print_evaluation(evaluation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
