"""The Python API, for notebooks and scripts: train a run from overrides, load a finished run.

    from lm_experiments import train, load_run

    run = train(["model=lstm", "data=ptb", "data.path=../shared/data/ptb", "trainer.max_epochs=1"])
    run.metrics["test/ppl"], run.folder
    loaded = load_run(run.folder)            # the trained model and its vocabulary
    vectors = load_run(skipgram_folder).vectors
    vectors.most_similar("king")             # gensim KeyedVectors (FastTextKeyedVectors for fastText runs)

`train` composes the same config `python train.py <overrides>` would (Hydra's compose API
over the configs shipped in the package), writes the same run folder (with Hydra's
`.hydra/` files, so `compare` and `evaluate` read it as any run) and returns instead of
exiting: bad input raises `UserError` with the message the command line would print.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lm_experiments import assembly, run_folder
from lm_experiments.errors import user_error_in
from lm_experiments.run_claim import RunClaim

log = logging.getLogger(__name__)


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

    from lm_experiments.command_line import compose_checked

    cfg = compose_checked(list(overrides or []), return_hydra_config=True)  # an unknown option: one UserError
    HydraConfig.instance().set_config(cfg)  # as under train.py: the chosen options are known (W&B tags)
    folder = Path(output_dir if output_dir is not None else cfg.hydra.run.dir)
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.output_dir = str(folder)
    return cfg, folder


def train(overrides: list[str] | None = None, output_dir: str | Path | None = None) -> TrainedRun:
    """Train one run, as `python train.py <overrides>` does, and return its final metrics and folder.

    A failed run leaves no stub folder behind (as on the command line); the error is raised."""
    from lm_experiments.training import train as run_training

    cfg, folder = compose_run_config(overrides, output_dir)
    with RunClaim(folder) as claim:  # a second run in the folder stops here, before it writes anything
        run_folder.write_hydra_files(folder, cfg, list(overrides or []))
        with _run_log(folder / run_folder.LOG_FILE):
            try:
                metrics = run_training(cfg)
            except BaseException as error:
                claim.cleanup()  # only what this run created
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
