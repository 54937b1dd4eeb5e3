"""What every task declares, so that the run, the callbacks and the CLIs ask instead of probing.

A task is the LightningModule of one kind of training. It owns the loop (its
`training_step` takes the batch types it names), the objective it builds for its
encoder, its metrics, and the files it hands to other tools. Every task declares in one
form: a `declare(...)` call in its `__init__`, once its parts are built (some declarations
follow from the model: the batches it reads, what it offers), over the defaults in
`DECLARED`. The declarations:

- `batch_types`: the typed batches its `training_step` takes; a view making another
  type is refused when the run is built, with the names of both.
- `update_rule`: how its weights change, in words (shown when a run starts).
- `metrics` and `optimized_metric`: what its evaluation reports, and the number a
  sweeper optimises unless the config names another.
- `provides`: what callbacks and exports may use (word vectors, next-token
  distributions, ...); a callback declares what it `requires`.
- `export(out_dir)` and `artifact_type`: the files it writes for other tools.
- `distributed_strategies`: the multi-process strategies it can train under.
- `updates`: for tasks stepped through an updater (`updaters/`), the kind of batch it hands it.
- `carries_state`: its model is fed only the newest token and its state when generating.
- `model`: the part it trains (the `model=` config group's: an encoder, a count model, n-gram counts),
  under that one name on every task; `keyed_vectors()`: its word vectors as gensim KeyedVectors, for
  tasks that provide them (what `load_run` hands users).
- `restores_from`: where a finished run is read back from: its checkpoint, or (a task
  that takes no optimizer step, so Lightning writes none) the files it exported, through
  `restore(folder, training_split)`.
- `finite_metrics`: validation metrics that can only be non-finite when training has
  diverged (the divergence guard stops the run then); `step_loss` and `step_grad_norm`
  hold the last step's loss and gradient norm for the same guard.
"""

import enum
import math
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.strategies import FSDPStrategy
from lightning.pytorch.utilities import rank_zero_info
from torch.optim.lr_scheduler import ReduceLROnPlateau

from lm_experiments.config_options import built_class
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, require
from lm_experiments.objectives.base import Objective
from lm_experiments.tasks import random_state

LR_METRIC = "train/lr"  # what callbacks.lr_monitor (Lightning's LearningRateMonitor) logs the schedule's lr as


def rename_legacy_weights(checkpoint: dict) -> None:
    """Checkpoints written before every task kept its part as `model` name some weights `encoder.*`."""
    state = checkpoint.get("state_dict")
    if state and any(key.startswith("encoder.") for key in state):
        checkpoint["state_dict"] = {("model." + key.removeprefix("encoder.") if key.startswith("encoder.") else key):
                                    value for key, value in state.items()}


def total_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The L2 norm of all `tensors` together (what clipping by norm acts on)."""
    if hasattr(torch.nn.utils, "get_total_norm"):  # PyTorch 2.6+
        return torch.nn.utils.get_total_norm(tensors)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors]))


def scale_to_norm(parameters: list[torch.nn.Parameter], max_norm: float, norm: torch.Tensor) -> None:
    """Scale the gradients of `parameters` (whose joint norm is `norm`) down to `max_norm` if above it, as
    `clip_grad_norm_` does."""
    if hasattr(torch.nn.utils, "clip_grads_with_norm_"):  # PyTorch 2.6+
        torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, norm)
        return
    coefficient = (max_norm / (norm + 1e-6)).clamp(max=1.0)
    for parameter in parameters:
        parameter.grad.mul_(coefficient)


class Provides(enum.Enum):
    """What a task offers to callbacks, exports and the command-line tools."""

    WORD_VECTORS = "word vectors"                # word_vectors() -> (words, (n, d))
    UNSEEN_WORD_VECTORS = "unseen-word vectors"  # vectors_for(words): any word, seen in training or not
    NEXT_TOKEN = "next-token distributions"      # next_token_log_probs(tokens, state), carries_state: generation
    THROUGHPUT = "corpus words per batch"        # its batches carry n_words (words/sec)
    ATTENTION_MAPS = "attention maps"             # model.attention_maps(ids), model.position_table() (Transformer)
    GRADIENT_THROUGH_TIME = "gradients through time"  # model.embed + model.rnn, unrolled step by step (RNN/GRU/LSTM)


class Restores(enum.Enum):
    """Where a finished run's trained state is read back from (`load_run`, `lm-eval`)."""

    CHECKPOINT = "checkpoint"          # the Lightning checkpoint (`last` or `best`)
    EXPORTED_FILES = "exported files"  # what `export` wrote (an n-gram run's model.arpa): `restore(folder, ...)`


# What a task may declare, and what it declares unless it says otherwise.
DECLARED = {"batch_types": (), "update_rule": "", "metrics": (), "optimized_metric": "", "provides": frozenset(),
            "distributed_strategies": (), "artifact_type": "model", "finite_metrics": (), "updates": None,
            "carries_state": False, "restores_from": Restores.CHECKPOINT}


class Task(L.LightningModule):
    """Base class; see the module docstring for what a subclass declares (with `declare`)."""

    batch_types: tuple[type, ...]
    update_rule: str
    metrics: tuple[str, ...]
    optimized_metric: str
    provides: frozenset[Provides]
    distributed_strategies: tuple[str, ...]
    artifact_type: str
    finite_metrics: tuple[str, ...]
    updates: str | None   # the kind of batch an updater trains it on (updaters/base.py), if any
    carries_state: bool
    restores_from: Restores
    model: torch.nn.Module  # the `model=` part the task trains (set by each subclass)

    def __init__(self, vocab: Vocabulary, optimizer=None, scheduler=None):
        super().__init__()
        self.declare(**DECLARED)
        self.vocab = vocab
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.step_loss: torch.Tensor | None = None       # the last training step's loss (the divergence guard's)
        self.step_grad_norm: torch.Tensor | None = None  # the last step's gradient norm, where autograd made one

    def declare(self, **declared) -> None:
        """Set what this task declares (the names in `DECLARED`); a task calls it in its `__init__`."""
        unknown = sorted(set(declared) - set(DECLARED))
        if unknown:
            raise TypeError(f"a task declares {', '.join(DECLARED)}; not {', '.join(unknown)}")
        for name, value in declared.items():
            setattr(self, name, frozenset(value) if name == "provides" else value)

    def log_train_loss(self, loss: torch.Tensor, batch_size: int) -> None:
        """Log the step's training loss and keep it where the divergence guard reads it."""
        self.step_loss = loss.detach()
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=batch_size)

    def at_logging_step(self) -> bool:
        """Whether this optimizer step's on-step logs reach the loggers (Lightning writes them every
        `trainer.log_every_n_steps` steps): what costs a log call and a dozen reductions is done then only."""
        return (self.global_step + 1) % max(self.trainer.log_every_n_steps, 1) == 0

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        """Measure the gradient's norm once per step, before clipping (`step_grad_norm`: the divergence guard and
        the gradient-flow history read it), and clip by norm with it, where Lightning would compute it again.
        Sparse or sharded (FSDP) gradients and clipping by value go through Lightning's own clipping."""
        parameters = [p for p in self.parameters() if p.grad is not None]
        grads = [p.grad for p in parameters]
        if not grads:
            return
        plain = not isinstance(self.trainer.strategy, FSDPStrategy) and not any(g.is_sparse for g in grads)
        if not plain:
            if gradient_clip_val:
                self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        total = total_norm(grads)
        self.step_grad_norm = total.detach()
        if self.at_logging_step():
            self.log("grad_norm/total", self.step_grad_norm, on_step=True, on_epoch=False, batch_size=1)
        if gradient_clip_val and gradient_clip_algorithm in (None, "norm"):
            scale_to_norm(parameters, float(gradient_clip_val), total)
        elif gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def divergence_advice(self) -> str:
        """What to change when training diverges, for the divergence guard's one line: a task stepped by a
        gradient optimizer names its learning rate and the clipping."""
        optimizers = self.trainer.optimizers if self._trainer is not None else []
        rate = f" (now {optimizers[0].param_groups[0]['lr']:g})" if optimizers and optimizers[0].param_groups else ""
        return f"lower optimizer.lr{rate} or clip gradients (trainer.gradient_clip_val)"

    def report_epoch(self, summary: str) -> None:
        """One console line per validation: `epoch N: <summary>` (not during Lightning's sanity check)."""
        if not self.trainer.sanity_checking:
            rank_zero_info(f"epoch {self.current_epoch}: {summary}")

    @property
    def name(self) -> str:
        """What the task trains, for titles and messages (subclasses name their model: `SkipGram`, ...)."""
        return type(self).__name__

    def keyed_vectors(self):
        """The task's word vectors as gensim KeyedVectors, for tasks that provide word vectors; None otherwise."""
        return None

    def describe(self) -> str:
        return f"{type(self).__name__} over {self.name}: {self.update_rule}"

    def check_view(self, view) -> None:
        """Refuse a data view whose batches this task's `training_step` does not take."""
        if view.batch_type not in self.batch_types:
            wanted = " or ".join(t.__name__ for t in self.batch_types)
            raise UserError(f"{self.name} ({type(self).__name__}) trains on {wanted} batches, but the data view "
                            f"{type(view).__name__} makes {view.batch_type.__name__} batches. Leave data/view to "
                            f"the model's default, or pick a view that makes {wanted}.")

    def check_updater(self, updater):
        """Refuse an updater for another kind of task (`task/updater=autograd` on a count model, ...)."""
        if self.updates not in updater.serves:
            raise UserError(f"task/updater={type(updater).__name__} trains {' and '.join(updater.serves)}, and "
                            f"{self.name} ({type(self).__name__}) trains on {self.updates}: use task/updater=auto.")
        return updater

    def check_part(self, model, kind: type, description: str) -> None:
        """Refuse a `model` part of another kind than the task trains (`task=lm` over `model=skipgram`, ...)."""
        if not isinstance(model, kind):
            raise UserError(f"{type(self).__name__} trains {description}; model={type(model).__name__} is not one. "
                            f"Leave task to the model's default, or pick a model this task trains.")

    def check_objective(self, objective, kind: type = Objective) -> None:
        """For tasks that train their model through an output layer over the vocabulary (`Objective`s), or
        through another `kind` (a classifier's label softmax): `objective` is the `sampler` partial."""
        over = "the vocabulary: pick one with sampler=negative, hierarchical, nce, full, sampled or adaptive" \
            if kind is Objective else "the classes: sampler=label_softmax"
        built = built_class(objective)
        require(objective is not None and (not isinstance(built, type) or issubclass(built, kind)),
                f"{self.name} needs an output layer over {over}"
                f"{f' ({built.__name__} is not one)' if isinstance(built, type) else ''}.")

    def check_no_objective(self, objective, optimizer) -> None:
        """For tasks that fit without an output layer or a gradient optimizer (counting models)."""
        require(objective is None, f"{self.name} has no output layer over the vocabulary: drop the sampler= choice "
                                   f"(its default is sampler=none).")
        require(optimizer is None, f"{self.name} is not trained by a gradient optimizer: drop the optimizer= choice "
                                   f"(its default is optimizer=none).")

    def export(self, out_dir: Path) -> list[Path]:
        """Write the files other tools read into `out_dir`; returns their paths."""
        return []

    def restore(self, folder: Path, training_split) -> None:
        """For tasks that declare `restores_from=Restores.EXPORTED_FILES`: the trained state from the files `export`
        wrote into the run `folder` (`training_split()` gives the run's training ids where they are needed)."""
        raise NotImplementedError(f"{type(self).__name__} restores from its checkpoint")

    # --- checkpoints carry their vocabulary --------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vocab"] = {"itos": self.vocab.itos, "counts": self.vocab.counts.tolist()}
        checkpoint["trains"] = self.name  # the model, so that another model's checkpoint is refused by name
        checkpoint["random_state"] = random_state.capture()  # a resumed run goes on drawing the same numbers

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Refuse a checkpoint whose rows mean other words, of another model, or of other sizes: its
        weights would be silently wrong, or fail in load_state_dict with a list of tensors."""
        saved = checkpoint.get("vocab", {}).get("itos")
        if saved is not None and saved != self.vocab.itos:
            first = next((i for i, (a, b) in enumerate(zip(saved, self.vocab.itos)) if a != b),
                         min(len(saved), len(self.vocab.itos)))
            raise UserError(
                f"The checkpoint was trained with another vocabulary ({len(saved)} entries, this run has "
                f"{len(self.vocab)}; they first differ at index {first}). Resume with the data settings "
                f"(corpus, data.min_count, data.max_size, tokenizer) of the run that wrote it."
            )
        trained = checkpoint.get("trains")
        if trained is not None and trained != self.name:
            raise UserError(f"The checkpoint is of a {trained} run and this run trains {self.name}: resume with the "
                            f"model= of the run that wrote it.")
        rename_legacy_weights(checkpoint)
        trainer = self._trainer  # None when a finished run is loaded for use (assembly.load_task)
        sharded = trainer is not None and isinstance(trainer.strategy, FSDPStrategy)  # other shapes there
        if "state_dict" in checkpoint and not sharded:
            self._check_weights_fit(checkpoint["state_dict"])
        if trainer is not None and "random_state" in checkpoint:
            random_state.restore(checkpoint["random_state"])

    def _check_weights_fit(self, saved: dict) -> None:
        """Refuse a checkpoint of another model or size with one line naming what differs, instead of
        load_state_dict's list of every mismatched tensor."""
        own = self.state_dict()
        missing = sorted(set(own) - set(saved))
        unexpected = sorted(set(saved) - set(own))
        reshaped = [(k, tuple(saved[k].shape), tuple(own[k].shape)) for k in own
                    if k in saved and torch.is_tensor(saved[k]) and tuple(saved[k].shape) != tuple(own[k].shape)]
        if not (missing or unexpected or reshaped):
            return
        if missing or unexpected:
            what = " and ".join(([f"it lacks {', '.join(missing[:3])}"] if missing else []) +
                                ([f"it has {', '.join(unexpected[:3])} this run does not"] if unexpected else []))
            raise UserError(f"The checkpoint holds another model than this run's {self.name}: {what}. Resume "
                            f"with the model= and sampler= of the run that wrote it.")
        name, theirs, ours = reshaped[0]
        raise UserError(f"The checkpoint's {name} is {theirs} where this run's {self.name} has {ours}"
                        f"{f' (and {len(reshaped) - 1} more)' if len(reshaped) > 1 else ''}: resume with the "
                        f"model sizes of the run that wrote it.")

    # --- optimizer and schedule from the `optimizer` and `scheduler` partials -----------------------

    def parameter_groups(self):
        """What the optimizer partial is handed: every trainable parameter, unless a task groups them."""
        return [p for p in self.parameters() if p.requires_grad]

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            return None
        optimizer = self.optimizer_factory(self.parameter_groups())
        if self.scheduler_factory is None:
            return optimizer
        total = self.trainer.estimated_stepping_batches
        epochs = self.trainer.max_epochs if self.trainer.max_epochs and self.trainer.max_epochs > 0 else 1
        per_epoch = max(1, math.ceil(total / epochs)) if math.isfinite(total) else 1
        scheduler = self.scheduler_factory(optimizer, total_steps=total, steps_per_epoch=per_epoch)
        if isinstance(scheduler, ReduceLROnPlateau):
            datamodule = self.trainer.datamodule
            if datamodule is not None and not datamodule.has_split("valid"):
                raise UserError("scheduler=plateau lowers the lr when val/loss stops improving, but this run has "
                                "no validation split (a single file with data.holdout=0): set data.holdout, give a "
                                "folder with a valid file, or pick another schedule (scheduler=constant).")
            if self.trainer.limit_val_batches == 0:
                raise UserError("scheduler=plateau lowers the lr when val/loss stops improving, but "
                                "trainer.limit_val_batches=0 computes no val/loss: validate on some batches or pick "
                                "another schedule (scheduler=constant).")
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss",
                                                             "interval": "epoch", "name": LR_METRIC}}
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "name": LR_METRIC}}
