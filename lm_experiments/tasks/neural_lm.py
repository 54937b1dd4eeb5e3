"""The neural language-model task: an encoder (NNLM, RNN/GRU/LSTM, Transformer) x any objective."""

import torch

from lm_experiments.data.views.language_model import IGNORE
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.base import LanguageModelEncoder
from lm_experiments.tasks.base import Provides
from lm_experiments.tasks.next_token import NextTokenTask


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


def compile_in_place(module: torch.nn.Module, backend: str) -> None:
    """torch.compile the module's forward in place (`nn.Module.compile`), so its parameter names and
    checkpoints stay those of the plain module; compilation happens at the first batch."""
    backends = torch.compiler.list_backends(exclude_tags=())
    if backend not in backends:
        raise UserError(f"task.compile_backend={backend!r} is not a torch.compile backend; choose one of "
                        f"{', '.join(sorted(backends))}.")
    module.compile(backend=backend)


class NeuralLMTask(NextTokenTask):
    """Next-token prediction through any objective, trained by Lightning's optimizer loop.

    Training minimises the mean NLL per predicted token through the objective (any
    sampler, with exact gradients: no shared-row rule applies to a mean loss).
    Encoders that carry state (recurrent) hand it from one BPTT block to the next,
    detached at each step (truncated BPTT; Lightning 2 no longer does this), and start
    fresh where a batch says so. Gradient norms, per layer and in total, are logged
    before clipping. `compile=True` runs the encoder through torch.compile (the objective,
    whose output layer may be sampled, stays eager).
    """

    def __init__(self, vocab: Vocabulary, model: LanguageModelEncoder, objective, optimizer, scheduler=None,
                 compile: bool = False, compile_backend: str = "inductor"):
        super().__init__(vocab, optimizer, scheduler)
        self.check_part(model, LanguageModelEncoder, "a language-model encoder (model=nnlm, rnn, gru, lstm, "
                                                     "transformer)")
        self.model = model
        if compile:
            compile_in_place(model, compile_backend)
        self.check_objective(objective)
        self.objective = objective(vocab=vocab, dim=model.output_dim, sparse=False)
        model.init_weights(self.objective)
        tied = model.tied_output_weight()
        if tied is not None:
            self.objective.tie_weights(tied)
        offered = {flag for flag, offers in ((Provides.ATTENTION_MAPS, model.exposes_attention),
                                             (Provides.GRADIENT_THROUGH_TIME, model.unrolls_in_time)) if offers}
        self.declare(batch_types=(model.batch_type,), carries_state=model.carries_state,
                     provides=self.provides | offered, distributed_strategies=("ddp", "fsdp"),
                     update_rule="the optimizer's steps on the mean loss per token (autograd), the trainer's "
                                 "gradient clipping",
                     finite_metrics=("val/ppl",))  # a softmax over finite scores always gives a finite perplexity
        self._states: dict[str, object] = {}

    @property
    def name(self) -> str:
        return type(self.model).__name__

    def _hidden_and_targets(self, batch, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        # every pass over a split opens with a fresh block, so a stage's state never leaks into the next pass
        state = None if batch.starts_fresh else self._states.get(stage)
        hidden, state = self.model(batch.inputs, state)
        self._states[stage] = detach_state(state)
        scored = batch.targets != IGNORE
        return hidden[scored], batch.targets[scored]  # (P, d), (P,)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        hidden, targets = self._hidden_and_targets(batch, "train")
        loss = self.objective(hidden, targets).mean()
        self.log_train_loss(loss, targets.numel())
        return loss

    def token_nll(self, batch, stage: str) -> torch.Tensor:
        hidden, targets = self._hidden_and_targets(batch, stage)
        return self.objective.nll(hidden, targets)

    def on_before_optimizer_step(self, optimizer) -> None:
        """Each layer's gradient norm before clipping, at the logging interval (the total, every step, is
        `configure_gradient_clipping`'s)."""
        if self.at_logging_step():
            norms = layer_grad_norms((name.removeprefix("model."), p) for name, p in self.named_parameters())
            self.log_dict({f"grad_norm/{layer}": value for layer, value in norms.items() if layer != "total"},
                          on_step=True, on_epoch=False, batch_size=1)

    @torch.no_grad()
    def next_token_log_probs(self, tokens: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """Recurrent encoders take only the new tokens and the state; the others the whole history."""
        hidden, state = self.model(self.model.generation_context(tokens), state)
        last = hidden[:, -1] if hidden.dim() == 3 else hidden                     # (B, d)
        return self.objective.log_prob(last), state

    def parameter_groups(self) -> list[dict]:
        """Weight decay (if the optimizer has any) on matrices only, never on biases, norms or gains."""
        decay, no_decay = [], []
        for parameter in self.parameters():
            if parameter.requires_grad:
                (decay if parameter.dim() >= 2 else no_decay).append(parameter)
        return [{"params": decay, "name": "decay"}, {"params": no_decay, "weight_decay": 0.0, "name": "no_decay"}]
