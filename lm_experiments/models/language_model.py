"""What every neural language model shares: next-token loss through any objective, perplexity, generation."""

import inspect
import math

import lightning as L
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from lm_experiments.data.lm_views import IGNORE
from lm_experiments.errors import UserError
from lm_experiments.evaluation.perplexity import NLLSum, perplexity
from lm_experiments.models.vocab_checkpoint import VocabularyCheckpoint


def build_objective(factory, vocab, dim: int) -> nn.Module:
    """The objective over `dim`-sized hidden vectors, with dense, exact gradients (LM optimizers such as
    Adam and gradient clipping need them; the embedding models keep word2vec's sparse rows)."""
    accepted = inspect.signature(factory).parameters
    options = {"sparse": False, "shared_rows": "sum"}
    return factory(vocab=vocab, dim=dim, **{k: v for k, v in options.items() if k in accepted})


def detach_state(state):
    """Cut the graph behind a carried hidden state (tensors, tuples and lists of them)."""
    if state is None:
        return None
    if torch.is_tensor(state):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


def layer_of(name: str) -> str:
    """Group parameters into layers for gradient-norm logging: `rnn.1.weight_hh_l0` -> `rnn.1`."""
    parts = name.split(".")
    if len(parts) > 2 and parts[1].isdigit():
        return ".".join(parts[:2])
    return parts[0]


def layer_grad_norms(named_parameters) -> dict[str, torch.Tensor]:
    """L2 norm of the gradient per layer and in total (the norm gradient clipping acts on)."""
    squares: dict[str, torch.Tensor] = {}
    for name, parameter in named_parameters:
        if parameter.grad is None:
            continue
        grad = parameter.grad.coalesce().values() if parameter.grad.is_sparse else parameter.grad
        squares[layer_of(name)] = squares.get(layer_of(name), 0.0) + grad.detach().float().pow(2).sum()
    norms = {layer: value.sqrt() for layer, value in squares.items()}
    if squares:
        norms["total"] = torch.stack(list(squares.values())).sum().sqrt()
    return norms


class LanguageModel(VocabularyCheckpoint, L.LightningModule):
    """Base class. A subclass builds its layers and implements `encode(inputs, state) -> (hidden, state)`:
    inputs (B, T) ids -> hidden (B, T, d) for sequence models, (B, n-1) -> (B, d) for the NNLM.

    Training minimises the mean NLL per predicted token through the objective (any
    sampler). Validation and test sum the *normalized* NLL of every token of the split
    (`objective.nll`) and log exp(sum / count) as `val/ppl` and `test/ppl`. Recurrent
    models set `carries_state`: their hidden state flows from one block to the next and
    is detached at each step (truncated BPTT; Lightning 2 no longer does this).
    """

    carries_state = False
    distributed_strategies = ("ddp", "fsdp")
    perplexity_name = "ppl"  # stupid backoff, whose scores do not sum to one, logs `pseudo_ppl`

    def __init__(self, vocab, objective, optimizer, scheduler=None):
        super().__init__()
        self.vocab = vocab
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.objective_factory = objective
        self._states: dict[str, object] = {}
        self._nll = {"val": NLLSum(), "test": NLLSum()}
        self.register_buffer("best_val_ppl", torch.tensor(float("inf"), dtype=torch.float64))

    def build_objective(self, dim: int) -> nn.Module:
        return build_objective(self.objective_factory, self.vocab, dim)

    def tie_output_to(self, embedding: nn.Embedding) -> None:
        """Use the input embedding as the output matrix (Press & Wolf 2017; Inan et al. 2017)."""
        if not hasattr(self.objective, "tie_weights"):
            raise UserError(f"model.tie_weights=true needs an objective with one output vector per word "
                            f"(sampler=full, sampled, negative or nce); {type(self.objective).__name__} has none. "
                            f"Set model.tie_weights=false.")
        self.objective.tie_weights(embedding.weight)

    def encode(self, inputs: torch.Tensor, state=None):
        raise NotImplementedError

    # --- training and evaluation -------------------------------------------------------------

    def _hidden_and_targets(self, batch: dict, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        # every pass over a split opens with a `reset` block, so a stage's state never leaks into the next pass
        state = None if (not self.carries_state or batch.get("reset", False)) else self._states.get(stage)
        hidden, state = self.encode(batch["inputs"], state)
        if self.carries_state:
            self._states[stage] = detach_state(state)
        targets = batch["targets"]
        scored = targets != IGNORE
        return hidden[scored], targets[scored]  # (P, d), (P,)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        hidden, targets = self._hidden_and_targets(batch, "train")
        loss = self.objective(hidden, targets).mean()
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=targets.numel())
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=True, on_epoch=False,
                 batch_size=1)
        return loss

    def _eval_step(self, batch: dict, stage: str) -> None:
        hidden, targets = self._hidden_and_targets(batch, stage)
        self._nll[stage].update(self.objective.nll(hidden, targets))

    def _eval_start(self, stage: str) -> None:
        self._nll[stage].reset()

    def _eval_end(self, stage: str) -> float:
        total_nll, tokens = self.trainer.strategy.reduce(self._nll[stage].totals(self.device), reduce_op="sum")
        mean = float(total_nll) / max(float(tokens), 1.0)
        ppl = perplexity(float(total_nll), int(tokens))
        self.log(f"{stage}/loss", mean, batch_size=1)
        self.log(f"{stage}/{self.perplexity_name}", ppl, prog_bar=True, batch_size=1)
        self.log(f"{stage}/tokens", float(tokens), batch_size=1)
        return ppl

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_validation_epoch_start(self) -> None:
        self._eval_start("val")

    def on_test_epoch_start(self) -> None:
        self._eval_start("test")

    def on_validation_epoch_end(self) -> None:
        ppl = self._eval_end("val")
        if not self.trainer.sanity_checking and ppl < float(self.best_val_ppl):
            self.best_val_ppl.fill_(ppl)
        self.log(f"val/{self.perplexity_name}_best", float(self.best_val_ppl), batch_size=1)

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")

    def on_before_optimizer_step(self, optimizer) -> None:
        norms = layer_grad_norms(self.named_parameters())
        self.log_dict({f"grad_norm/{layer}": value for layer, value in norms.items()}, on_step=True,
                      on_epoch=False, batch_size=1)

    # --- generation ---------------------------------------------------------------------------

    def generation_context(self, tokens: torch.Tensor) -> torch.Tensor:
        """The part of the history (B, t) the model reads to predict the next token."""
        return tokens

    @torch.no_grad()
    def next_token_log_probs(self, tokens: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """(B, t) ids -> ((B, V) log p(next | ...), state). Recurrent models take only the new
        tokens and the state; the others take the whole history."""
        hidden, state = self.encode(self.generation_context(tokens), state)
        last = hidden[:, -1] if hidden.dim() == 3 else hidden                     # (B, d)
        return self.objective.log_prob(last), state

    # --- optimization -------------------------------------------------------------------------

    def parameter_groups(self) -> list[dict]:
        """Weight decay (if the optimizer has any) on matrices only, never on biases, norms or gains."""
        decay, no_decay = [], []
        for parameter in self.parameters():
            if parameter.requires_grad:
                (decay if parameter.dim() >= 2 else no_decay).append(parameter)
        return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameter_groups())
        if self.scheduler_factory is None:
            return optimizer
        total = self.trainer.estimated_stepping_batches
        epochs = self.trainer.max_epochs if self.trainer.max_epochs and self.trainer.max_epochs > 0 else 1
        per_epoch = max(1, math.ceil(total / epochs)) if math.isfinite(total) else 1
        scheduler = self.scheduler_factory(optimizer, total_steps=total, steps_per_epoch=per_epoch)
        if isinstance(scheduler, ReduceLROnPlateau):
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss", "interval": "epoch"}}
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
