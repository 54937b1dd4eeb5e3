"""The bidirectional language-model task (ELMo's biLM): a forward and a backward model over shared token
vectors and one shared output layer; perplexity in each direction."""

import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.evaluation.perplexity import NLLSum, perplexity
from lm_experiments.models.base import BidirectionalLMEncoder
from lm_experiments.tasks.base import Provides, Task

DIRECTIONS = ("forward", "backward")


class BidirectionalLMTask(Task):
    """Loss: the forward model's mean NLL plus the backward model's (Peters et al. maximise the sum of both
    directions' log likelihoods). Validation and test sum each direction's NLL over the whole split and log
    `{stage}/ppl_forward`, `{stage}/ppl_backward` and their mean `{stage}/ppl`, as the paper reports it."""

    def __init__(self, vocab: Vocabulary, model: BidirectionalLMEncoder, objective, optimizer, scheduler=None):
        super().__init__(vocab, optimizer, scheduler)
        self.check_part(model, BidirectionalLMEncoder, "a bidirectional language model (model=elmo)")
        self.model = model
        self.check_objective(objective)
        self.objective = objective(vocab=vocab, dim=model.output_dim, sparse=False)
        model.init_weights(self.objective)
        self.declare(batch_types=(model.batch_type,),
                     update_rule="the optimizer's steps on the sum of both directions' mean token losses, gradient "
                                 "clipping",
                     metrics=("val/ppl", "val/ppl_forward", "val/ppl_backward", "test/ppl"), optimized_metric="val/ppl",
                     provides={Provides.THROUGHPUT}, distributed_strategies=("ddp",), artifact_type="bilm",
                     finite_metrics=("val/ppl",))
        self._nll = {stage: {d: NLLSum() for d in DIRECTIONS} for stage in ("val", "test")}

    @property
    def name(self) -> str:
        return type(self.model).__name__

    def scored_predictions(self, batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per direction, the scored states (P, p) and the tokens they predict (P,): the forward state at t
        predicts token t + 1, the backward state at t token t - 1."""
        forward, backward = self.model(batch.tokens)                                  # (B, T, p) each
        tokens = batch.tokens
        return {"forward": (forward[batch.forward_scored], torch.roll(tokens, -1, 1)[batch.forward_scored]),
                "backward": (backward[batch.backward_scored], torch.roll(tokens, 1, 1)[batch.backward_scored])}

    def direction_nll(self, batch) -> dict[str, torch.Tensor]:
        """-log p of each scored prediction, per direction."""
        return {d: self.objective.nll(*pair) for d, pair in self.scored_predictions(batch).items()}

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = sum(self.objective(*pair).mean() for pair in self.scored_predictions(batch).values())
        self.log_train_loss(loss, int(batch.forward_scored.sum()))
        return loss

    def _update(self, batch, stage: str) -> None:
        for direction, nll in self.direction_nll(batch).items():
            self._nll[stage][direction].update(nll)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._update(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._update(batch, "test")

    def _reset(self, stage: str) -> None:
        for sums in self._nll[stage].values():
            sums.reset()

    def on_validation_epoch_start(self) -> None:
        self._reset("val")

    def on_test_epoch_start(self) -> None:
        self._reset("test")

    def _log_perplexities(self, stage: str) -> None:
        values = []
        for direction in DIRECTIONS:
            total, tokens = self.trainer.strategy.reduce(self._nll[stage][direction].totals(self.device),
                                                         reduce_op="sum")
            values.append(perplexity(float(total), int(tokens)))
            self.log(f"{stage}/ppl_{direction}", values[-1], batch_size=1)
        self.log(f"{stage}/ppl", sum(values) / 2, prog_bar=True, batch_size=1)
        if stage == "val":
            self.report_epoch(f"val/ppl {sum(values) / 2:.2f} (forward {values[0]:.2f}, backward {values[1]:.2f})")

    def on_validation_epoch_end(self) -> None:
        self._log_perplexities("val")

    def on_test_epoch_end(self) -> None:
        self._log_perplexities("test")
