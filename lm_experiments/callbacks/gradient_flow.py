"""At the end of training, an RNN/GRU/LSTM's error signal back through time on held-out windows, beside the
run's gradient norm before clipping at every step (`gradient_flow.png`, also a W&B and TensorBoard image)."""


from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.callbacks.history import BoundedHistory
from lm_experiments.callbacks.pictures import held_out_tokens, log_picture
from lm_experiments.errors import positive_int
from lm_experiments.inspection.figures import draw_gradient_flow
from lm_experiments.inspection.gradient_flow import gradient_through_time
from lm_experiments.inspection.windows import spread_windows
from lm_experiments.run.folder import GRADIENT_FLOW_FILE
from lm_experiments.tasks.base import Provides


class GradientFlow(TaskCallback):
    """`windows` held-out windows of `steps` + 1 tokens; the history is the task's `step_grad_norm`, which it
    measures before the trainer clips."""

    requires = Provides.GRADIENT_THROUGH_TIME

    def __init__(self, dirpath: str, windows: int = 32, steps: int = 35):
        self.dirpath = dirpath
        self.windows = positive_int(windows, "callbacks.gradient_flow.windows")
        self.steps = positive_int(steps, "callbacks.gradient_flow.steps")
        self.history = BoundedHistory()  # the norms before clipping, in fixed memory (no sync per step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.step_grad_norm is not None:
            self.history.add(trainer.global_step, pl_module.step_grad_norm)

    def on_train_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        ids = held_out_tokens(trainer)
        if len(ids) < self.steps + 2:
            return
        inputs, targets = spread_windows(ids, self.windows, self.steps + 1)
        model = pl_module.model
        was_training = model.training
        model.eval()
        norms = gradient_through_time(model.embed, model.rnn, pl_module.objective.nll,
                                      inputs.to(pl_module.device), targets.to(pl_module.device)).cpu()
        model.train(was_training)
        label = pl_module.name
        history = {label: self.history.arrays()} if len(self.history) else None
        clip = trainer.gradient_clip_val
        path = draw_gradient_flow({label: norms}, f"{self.dirpath}/{GRADIENT_FLOW_FILE}",
                                  f"{label}: gradient flow over {len(inputs)} held-out windows", history,
                                  float(clip) if clip else None)
        log_picture(trainer, "gradient_flow", path)
