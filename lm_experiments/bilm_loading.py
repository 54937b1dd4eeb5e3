"""A trained ELMo biLM from its run folder, alone: what `lm-embed` and the classifiers that read ELMo use.

Only the `model=` part is rebuilt (from the run's config and vocabulary) and given its weights
from the checkpoint; the task around it, its objective and optimizer are not needed to embed.
"""

from pathlib import Path

from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from lm_experiments import run_folder
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.base import BidirectionalLMEncoder


def load_bilm(run: str | Path, checkpoint: str = run_folder.LAST_CHECKPOINT, device: str = "cpu",
              what: str = "ELMo vectors come from a model=elmo run") -> BidirectionalLMEncoder:
    """The frozen biLM (eval mode, no gradients) of a finished `model=elmo` run; `what` opens the message
    that refuses a run of another model."""
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
