"""Stop a run whose training has diverged, instead of finishing it and exporting garbage."""

import math

import lightning as L
import torch

from lm_experiments.errors import UserError


class TrainingDiverged(UserError):
    """Raised at the first non-finite loss, gradient norm or validation metric a task declares finite."""


class DivergenceGuard(L.Callback):
    """Checks each step's training loss and gradient norm (the task keeps them: `step_loss`,
    `step_grad_norm`) and, after validation, the metrics the task declares `finite_metrics`.

    A NaN or infinity ends the run with one message naming the step, the value and the last
    checkpoint written before it; the run's exports never happen, so no vectors or model files
    are made from the diverged weights. Checking costs one scalar read per step.
    """

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        for name, value in (("train/loss", pl_module.step_loss), ("grad_norm/total", pl_module.step_grad_norm)):
            if value is not None and not bool(torch.isfinite(value).all()):
                self._stop(trainer, name, float(value))

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        for name in pl_module.finite_metrics:
            value = trainer.callback_metrics.get(name)
            if value is not None and not math.isfinite(float(value)):
                self._stop(trainer, name, float(value))

    @staticmethod
    def _stop(trainer, name: str, value: float) -> None:
        checkpoint = trainer.checkpoint_callback
        last = checkpoint.last_model_path if checkpoint is not None else ""
        saved = f"the last checkpoint before it is {last}" if last else "no checkpoint had been written yet"
        advice = trainer.lightning_module.divergence_advice()
        raise TrainingDiverged(
            f"training diverged: {name} is {value} at step {trainer.global_step} (epoch {trainer.current_epoch}); "
            f"nothing was exported and {saved}. {advice[0].upper()}{advice[1:]}; callbacks.divergence_guard=null "
            f"turns this check off.")
