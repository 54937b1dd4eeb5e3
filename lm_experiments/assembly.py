"""From a composed config to a task: the model part, then the task around it with its objective and optimizer.

Used by a training run and by the tools that rebuild a finished run's task from its
folder (generation), so both build the same objects in the same order (and so draw
the same initial weights from the same seed).
"""

import functools
import inspect

from hydra.utils import get_class, get_method, instantiate
from omegaconf import DictConfig

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError

# Hydra's own keys in a node with a `_target_`; anything else is an argument of the target.
HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}


def _target(path: str):
    try:
        return get_class(path)
    except Exception:
        return get_method(path)


def built_class(factory):
    """The class a config partial (`_partial_: true`) builds, or `factory` itself when it is not a partial."""
    return factory.func if isinstance(factory, functools.partial) else factory


def check_options(node, name: str, given: tuple[str, ...] = (), hint: str = "") -> None:
    """Refuse keys of a config node (and of the nodes inside it that Hydra builds too) that their `_target_`
    does not take, naming the options it does take.

    Without this an unknown key (`+model.vector_sise=50`, a renamed argument) would end in
    a TypeError deep inside Hydra's instantiate. `given` are the arguments the code
    supplies itself (`vocab`, ...), which the config must not set; `hint` ends the message.
    """
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return
    for key, value in node.items():  # partials are completed, and checked, by the code that completes them
        if isinstance(value, DictConfig) and "_target_" in value and not value.get("_partial_", False):
            check_options(value, f"{name}.{key}")
    parameters = inspect.signature(_target(node._target_)).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [p for p in parameters if p not in given and p != "self"]
    unknown = [key for key in node if key not in HYDRA_KEYS and key not in accepted]
    if unknown:
        raise UserError(f"{name} has no option {', '.join(repr(k) for k in unknown)}; "
                        f"{node._target_.rsplit('.', 1)[-1]} takes {', '.join(accepted) or 'none'}.{hint}")


def _optional_partial(node):
    """A partial from a group such as `sampler`, or None for its `none` option (an empty node)."""
    return instantiate(node) if node and "_target_" in node else None


def instantiate_task(cfg: DictConfig, vocab: Vocabulary, labels: list[str] | None = None, for_training: bool = True):
    """The task of a config over `vocab`: `model` is built first, then the task around it (the objective
    from `sampler`); without its optimizer and schedule when it is only rebuilt to be used. `labels` are
    the classes of labelled data (a classifier's), handed only to the tasks that classify."""
    check_options(cfg.model, "model", given=("vocab",))
    check_options(cfg.task, "task", given=("vocab", "model", "objective", "optimizer", "scheduler", "labels"))
    check_options(cfg.get("sampler"), "sampler", given=("vocab", "dim", "sparse", "labels"))
    model = instantiate(cfg.model, vocab=vocab)
    optimizer = _optional_partial(cfg.get("optimizer")) if for_training else None
    scheduler = _optional_partial(cfg.get("scheduler")) if for_training else None
    by_data = {} if labels is None else {"labels": labels}
    return instantiate(cfg.task, vocab=vocab, model=model, objective=_optional_partial(cfg.get("sampler")),
                       optimizer=optimizer, scheduler=scheduler, **by_data)
