"""From a composed config to a task: the model part, then the task around it with its objective and optimizer.

Used by a training run and by the tools that rebuild a finished run's task from its
folder (`load_task`: lm-eval, lm-generate, lm-inspect, `load_run`), so both build the same
objects in the same order (and so draw the same initial weights from the same seed).
What a model needs from elsewhere is loaded here and handed in, so that no model loads a
run or a file: a trained ELMo biLM (`load_bilm`, also what `lm-embed` reads) and, for a run
built to train, pretrained word vectors laid out for its vocabulary.
"""

from pathlib import Path

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from lm_experiments import old_names
from lm_experiments.config_options import check_options
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, user_error_in
from lm_experiments.models.base import BidirectionalLMEncoder
from lm_experiments.run import folder as run_folder
from lm_experiments.tasks.base import Restores
from lm_experiments.vectors import PretrainedRows, load_vectors, pretrained_rows

# the embedding modes (`model.embedding`) that start from pretrained word vectors named by `model.pretrained`
PRETRAINED_MODES = ("static", "non_static", "multichannel")


def instantiated(node, name: str, **given):
    """Hydra's `instantiate`, with any error the target raises on its arguments (Lightning's and PyTorch's own
    checks, a value of the wrong type) as one `UserError` naming the config key `name`: not Hydra's many-line
    "Error in call to target" with a hint about HYDRA_FULL_ERROR. Our own `UserError`s pass as they are."""
    try:
        return instantiate(node, **given)
    except Exception as error:
        if user_error_in(error) is not None:
            raise
        cause = error.__cause__ or error  # Hydra's InstantiationException holds the target's own exception
        text = str(cause).strip().splitlines()
        raise UserError(f"{name}: {text[0] if text else type(cause).__name__}"
                        f"{'' if text and type(cause).__name__ in text[0] else f' ({type(cause).__name__})'}") from None


def _optional_partial(node, name: str):
    """A partial from a group such as `sampler`, or None for its `none` option (an empty node)."""
    return instantiated(node, name) if node and "_target_" in node else None


def elmo_run(model: DictConfig) -> str | None:
    """The `model=elmo` run a sentence encoder reads ELMo vectors from: `model.elmo`, or `model.pretrained` with
    `model.embedding=elmo`. Only the models whose config has an `elmo` option read one (bow, textcnn, birnn)."""
    if "elmo" not in model:
        return None
    return model.get("pretrained") if model.get("embedding") == "elmo" else model.get("elmo")


def pretrained_source(model: DictConfig) -> str | None:
    """The vectors a sentence encoder starts from: `model.pretrained` where `model.embedding` is static,
    non_static or multichannel (the models whose config has an `embedding` option: bow, textcnn, birnn,
    treelstm); with `elmo` it names an ELMo run instead (`elmo_run`)."""
    return model.get("pretrained") if model.get("embedding") in PRETRAINED_MODES else None


def read_pretrained(source: str, vocab: Vocabulary) -> PretrainedRows:
    """`model.pretrained` (a run folder or a vectors file) laid out for the vocabulary's words."""
    return pretrained_rows(load_vectors(Path(source), "model.pretrained"), list(vocab.itos), str(source))


def build_model(model: DictConfig, vocab: Vocabulary, for_training: bool = True):
    """The `model=` part over `vocab`, handed what only the code can give it: the vocabulary, a trained biLM for a
    sentence encoder that reads ELMo, and (when it is built to train) its pretrained vectors."""
    check_options(model, "model", given=("vocab", "bilm", "pretrained_rows"))
    given = {}
    run = elmo_run(model)
    if run:
        given["bilm"] = load_bilm(run, what="ELMo vectors (model.embedding=elmo, model.elmo) come from a model=elmo "
                                            "run")
    source = pretrained_source(model)
    if source and for_training:
        given["pretrained_rows"] = read_pretrained(source, vocab)
    return instantiated(model, "model", vocab=vocab, **given)


def instantiate_task(cfg: DictConfig, vocab: Vocabulary, labels: list[str] | None = None, for_training: bool = True):
    """The task of a config over `vocab`: `model` is built first, then the task around it (the objective
    from `sampler`); without its optimizer and schedule when it is only rebuilt to be used. `labels` are
    the classes of labelled data (a classifier's), handed only to the tasks that classify."""
    check_options(cfg.task, "task", given=("vocab", "model", "objective", "optimizer", "scheduler", "labels"))
    check_options(cfg.get("sampler"), "sampler", given=("vocab", "dim", "sparse", "labels"))
    check_options(cfg.get("scheduler"), "scheduler", given=("optimizer", "total_steps", "steps_per_epoch"),
                  hint=" (Options of another schedule stay behind when a preset's is replaced: drop them with "
                       "~scheduler.<key>.)")
    model = build_model(cfg.model, vocab, for_training)
    optimizer = _optional_partial(cfg.get("optimizer"), "optimizer") if for_training else None
    scheduler = _optional_partial(cfg.get("scheduler"), "scheduler") if for_training else None
    by_data = {} if labels is None else {"labels": labels}
    return instantiated(cfg.task, "task", vocab=vocab, model=model,
                        objective=_optional_partial(cfg.get("sampler"), "sampler"),
                        optimizer=optimizer, scheduler=scheduler, **by_data)


def load_task(folder: Path, checkpoint: str = run_folder.LAST_CHECKPOINT, device: str = "cpu"):
    """A finished run's trained task, rebuilt from its config and vocabulary, in eval mode on `device`, with its
    trained state from its checkpoint (or, for a task that restores from its exported files, such as an n-gram
    run's model.arpa, from those); and the run's config."""
    folder = Path(folder)
    run_folder.check_run_folder(folder)
    cfg = OmegaConf.load(folder / run_folder.CONFIG_FILE)
    old_names.read_as_today(cfg)
    vocab = Vocabulary.load(folder / run_folder.VOCAB_FILE)
    task = instantiate_task(cfg, vocab, labels=run_folder.read_labels(folder), for_training=False)
    if task.restores_from is Restores.EXPORTED_FILES:
        if checkpoint not in (run_folder.LAST_CHECKPOINT, run_folder.BEST_CHECKPOINT):
            raise UserError(f"A {task.name} run keeps no checkpoint: its model is the files it exported in {folder}; "
                            f"leave --checkpoint out.")
        task.restore(folder, lambda: training_split(cfg, vocab))
        return task.to(device).eval(), cfg
    path = run_folder.checkpoint_path(folder, checkpoint)
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}. Pass --checkpoint PATH, or train with the default callbacks.")
    state = run_folder.load_checkpoint(path)
    task.on_load_checkpoint(state)
    task.load_state_dict(state["state_dict"])
    return task.to(device).eval(), cfg


def training_split(cfg: DictConfig, vocab: Vocabulary):
    """The ids of a run's training split under its vocabulary, as the run read it (held-out tail excluded)."""
    datamodule = instantiated(cfg.data, "data", vocabulary=vocab)
    datamodule.setup("fit")
    return datamodule.splits["train"]


def load_bilm(run: str | Path, checkpoint: str = run_folder.LAST_CHECKPOINT, device: str = "cpu",
              what: str = "ELMo vectors come from a model=elmo run") -> BidirectionalLMEncoder:
    """The frozen biLM (eval mode, no gradients) of a finished `model=elmo` run, alone: only the `model=` part is
    rebuilt (from the run's config and vocabulary) and given its weights, since embedding needs neither the task,
    its objective nor its optimizer. `what` opens the message that refuses a run of another model."""
    folder = Path(run).expanduser()
    run_folder.check_run_folder(folder)
    cfg = OmegaConf.load(folder / run_folder.CONFIG_FILE)
    model_class = get_class(cfg.model._target_)
    if not issubclass(model_class, BidirectionalLMEncoder):
        raise UserError(f"{what}; {run} is a {model_class.__name__} run.")
    path = run_folder.checkpoint_path(folder, checkpoint)
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}: the ELMo run has not finished an epoch.")
    bilm = instantiate(cfg.model, vocab=Vocabulary.load(folder / run_folder.VOCAB_FILE))
    state = run_folder.load_checkpoint(path)
    bilm.load_state_dict(run_folder.model_weights(state["state_dict"]))
    return bilm.to(device).eval().requires_grad_(False)
