"""Reading config nodes before Hydra builds them: the class a partial builds, and options a target does not take.

A leaf: the data modules, the tasks and the assembly use it, and it imports nothing of ours but the errors.
"""

import functools
import importlib
import inspect

from hydra.utils import get_class, get_method
from omegaconf import DictConfig

from lm_experiments.errors import UserError

# Hydra's own keys in a node with a `_target_`; anything else is an argument of the target.
HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}


def _target(path: str):
    """The class or function a `_target_` names (Hydra's get_class logs an error for a function)."""
    module, _, attribute = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
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
