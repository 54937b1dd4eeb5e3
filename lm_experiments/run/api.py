"""The Python API, for notebooks and scripts: train a run from overrides, load a finished run.

    from lm_experiments import train, load_run

    run = train(["model=lstm", "data=ptb", "data.path=../shared/data/ptb", "trainer.max_epochs=1"])
    run.metrics["test/ppl"], run.folder
    loaded = load_run(run.folder)            # the trained model and its vocabulary
    vectors = load_run(skipgram_folder).vectors
    vectors.most_similar("king")             # gensim KeyedVectors (FastTextKeyedVectors for fastText runs)
    ElmoEmbedder(elmo_folder).embed([["the", "bank", "rose"]]).mixed   # ELMo's contextual vectors (lm-embed)

`train` composes the same config `python train.py <overrides>` would (Hydra's compose API
over the configs shipped in the package), writes the same run folder (with Hydra's
`.hydra/` files, so `lm-compare` and `lm-eval` read it as any run) and returns instead of
exiting: bad input raises `UserError` with the message the command line would print.
"""

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from lm_experiments.errors import UserError, user_error_in
from lm_experiments.models.scalar_mix import ScalarMix
from lm_experiments.old_names import renamed_overrides
from lm_experiments.run import assembly
from lm_experiments.run import folder as run_folder
from lm_experiments.run.lifecycle import train_in_folder

log = logging.getLogger(__name__)
_ONE_RUN = threading.Lock()  # train() is not re-entrant: Hydra's GlobalHydra and the process's generators


@dataclass
class TrainedRun:
    metrics: dict[str, float]  # the final metrics (as in metrics.json)
    folder: Path               # the run folder


@dataclass
class LoadedRun:
    task: object               # the trained LightningModule (model x objective), in eval mode
    model: object              # its model (the `model=` part: an encoder, the n-gram counts, ...)
    vocab: object              # the Vocabulary (`itos`, `stoi`, `counts`)
    config: object             # the run's resolved config (an OmegaConf DictConfig)
    vectors: object = None     # word vectors as gensim KeyedVectors (FastTextKeyedVectors for fastText); else None


def compose_run_config(overrides: list[str] | None = None, output_dir: str | Path | None = None):
    """The config `python train.py <overrides>` runs, and its run folder (Hydra's `hydra.run.dir` unless given)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from lm_experiments.run.command_line import compose_checked

    cfg = compose_checked(list(overrides or []), return_hydra_config=True)  # an unknown option: one UserError
    HydraConfig.instance().set_config(cfg)  # as under train.py: the chosen options are known (W&B tags)
    folder = Path(output_dir if output_dir is not None else cfg.hydra.run.dir)
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.output_dir = str(folder)
    return cfg, folder


def train(overrides: list[str] | None = None, output_dir: str | Path | None = None) -> TrainedRun:
    """Train one run, as `python train.py <overrides>` does, and return its final metrics and folder.

    A failed run leaves no stub folder behind (as on the command line); the error is raised. Old option names
    are read as today's, with a logged note each (`old_names.py`). One run at a time per process: a second
    `train()` while one runs (from another thread) is refused in one line."""
    if not _ONE_RUN.acquire(blocking=False):
        raise UserError("train() runs one run at a time in a process: Hydra's configuration, the random generators "
                        "and the loggers belong to the process. Run several in separate processes (python train.py "
                        "-m for a sweep, or multiprocessing).")
    try:
        return _train(overrides, output_dir)
    finally:
        _ONE_RUN.release()


def _train(overrides: list[str] | None, output_dir: str | Path | None) -> TrainedRun:
    overrides, notes = renamed_overrides(list(overrides or []))
    for note in notes:
        log.warning("%s", note)
    cfg, folder = compose_run_config(overrides, output_dir)
    try:
        metrics = train_in_folder(cfg, overrides, log_to=_run_log(folder / run_folder.LOG_FILE))
    except BaseException as error:
        cause = user_error_in(error)  # bad input, perhaps wrapped by Hydra's instantiate: raised as itself
        if cause is not None and cause is not error:
            raise cause from error
        raise
    return TrainedRun(metrics, folder)


@contextmanager
def _run_log(path: Path):
    """The run's `train.log`, as Hydra's job logging writes it: every INFO line of ours and Lightning's."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    root, ours = logging.getLogger(), logging.getLogger("lm_experiments")
    quiet = ours.level == logging.NOTSET and root.getEffectiveLevel() > logging.INFO
    root.addHandler(handler)
    if quiet:
        ours.setLevel(logging.INFO)  # (a notebook's root logger is at WARNING)
    try:
        yield
    finally:
        if quiet:
            ours.setLevel(logging.NOTSET)
        root.removeHandler(handler)
        handler.close()


def load_run(folder: str | Path, checkpoint: str = run_folder.LAST_CHECKPOINT, device: str = "cpu") -> LoadedRun:
    """A finished run's trained task and model (in eval mode on `device`), vocabulary and config; for runs
    that train word vectors also the vectors as gensim KeyedVectors, taken from the checkpoint asked for
    (`last`, `best` or a .ckpt path), so `load_run(f, "best").vectors` are the best epoch's."""
    task, cfg = assembly.load_task(Path(folder), checkpoint, device)
    return LoadedRun(task, task.model, task.vocab, cfg, task.keyed_vectors())


@dataclass
class Embedded:
    layers: torch.Tensor  # (B, T, L + 1, 2p)
    mixed: torch.Tensor   # (B, T, 2p)
    mask: torch.Tensor    # (B, T) bool


class ElmoEmbedder:
    """A finished `model=elmo` run's biLM, frozen, with a scalar mix (equal weights unless `weights` are given):
    `embed(sentences)` gives every token's layers (the token layer twice, each biLSTM layer's [forward;
    backward]) and their mix. Any word gets a vector, seen in training or not (its characters)."""

    def __init__(self, run: str | Path, checkpoint: str = "last", device: str = "cpu",
                 weights: list[float] | None = None, gamma: float = 1.0, layer_norm: bool = False):
        self.model = assembly.load_bilm(run, checkpoint, device,
                                        what="contextual vectors come from an ELMo run (model=elmo)")
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
