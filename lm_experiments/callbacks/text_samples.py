"""A few sampled sentences after every epoch, so a language model's progress can be read, not only measured."""

import logging
from pathlib import Path

import torch
from lightning.pytorch.loggers import WandbLogger

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.errors import positive_int
from lm_experiments.evaluation.generation import detokenize, sample
from lm_experiments.run.folder import SAMPLES_FILE
from lm_experiments.tasks.base import Provides

log = logging.getLogger(__name__)


class TextSamples(TaskCallback):
    """Appends `samples` texts of `tokens` tokens (each starting a new sentence) to `samples.txt`
    in the run folder after every training epoch, logs them, and adds a W&B table when W&B
    is logging. For tasks that provide next-token distributions."""

    requires = Provides.NEXT_TOKEN

    def __init__(self, dirpath: str, samples: int = 3, tokens: int = 30, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int = 0):
        self.path = Path(dirpath) / SAMPLES_FILE
        self.samples = positive_int(samples, "callbacks.text_samples.samples")
        self.tokens = positive_int(tokens, "callbacks.text_samples.tokens")
        self.temperature, self.top_k, self.top_p, self.seed = temperature, top_k, top_p, seed

    def on_train_epoch_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        was_training = pl_module.training
        pl_module.eval()
        device = pl_module.device
        generator = torch.Generator(device=device).manual_seed(self.seed + trainer.current_epoch)
        prompt = torch.full((self.samples, 1), pl_module.vocab.eos_index, dtype=torch.long, device=device)
        drawn = sample(pl_module, prompt, self.tokens, self.temperature, self.top_k, self.top_p, generator)
        pl_module.train(was_training)
        texts = [detokenize(row, pl_module.vocab.itos).replace("\n", " <eos> ") for row in drawn.tolist()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"# epoch {trainer.current_epoch}\n" + "".join(f"{t}\n" for t in texts))
        log.info("sample (epoch %d): %s", trainer.current_epoch, texts[0])  # the others in samples.txt only
        for text in texts[1:]:
            log.debug("sample (epoch %d): %s", trainer.current_epoch, text)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_text(key="samples", columns=["epoch", "text"],
                                data=[[trainer.current_epoch, t] for t in texts])
