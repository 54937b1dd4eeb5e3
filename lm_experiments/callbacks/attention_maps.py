"""At the end of training, a Transformer's attention on a held-out window: every layer x head as heat maps
(`attention.png`, also a W&B and TensorBoard image) and the head view (`attention.html`)."""

import torch

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.callbacks.pictures import held_out_tokens, log_picture
from lm_experiments.errors import positive_int
from lm_experiments.inspection.figures import draw_attention_grid
from lm_experiments.inspection.head_view import write_head_view
from lm_experiments.inspection.windows import spread_windows
from lm_experiments.run.folder import ATTENTION_FILE, HEAD_VIEW_FILE
from lm_experiments.tasks.base import Provides


class AttentionMaps(TaskCallback):
    """The first `tokens` tokens of the middle of the validation split (at most the model's block size)."""

    requires = Provides.ATTENTION_MAPS

    def __init__(self, dirpath: str, tokens: int = 24, html: bool = True):
        self.dirpath, self.html = dirpath, html
        self.tokens = positive_int(tokens, "callbacks.attention_maps.tokens")

    def on_train_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        model = pl_module.model
        length = min(self.tokens, model.block_size)
        ids = held_out_tokens(trainer)
        if len(ids) < length + 1:
            return
        inputs, _ = spread_windows(ids, 3, length)
        window = inputs[len(inputs) // 2: len(inputs) // 2 + 1].to(pl_module.device)          # (1, T)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            maps = model.attention_maps(window)[:, 0]                                           # (L, H, T, T)
        model.train(was_training)
        tokens = [pl_module.vocab.itos[i] for i in window[0].tolist()]
        title = f"{pl_module.name}: attention on held-out text, {maps.shape[0]} layers x {maps.shape[1]} heads"
        path = draw_attention_grid(maps, tokens, f"{self.dirpath}/{ATTENTION_FILE}", title)
        if self.html:
            write_head_view(maps, tokens, f"{self.dirpath}/{HEAD_VIEW_FILE}", title)
        log_picture(trainer, "attention_maps", path)
