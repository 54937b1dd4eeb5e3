"""What every language-model task shares: perplexity over whole held-out splits, and next-token distributions."""

import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.evaluation.perplexity import NLLSum, perplexity
from lm_experiments.tasks.base import Provides, Task


class NextTokenTask(Task):
    """Base for tasks whose model gives p(next token | history).

    Validation and test sum the *normalized* NLL of every token of the split
    (`token_nll`, per scored token) and log exp(sum / count) as `val/ppl` and
    `test/ppl` (the runs reduce the sums over processes, so the number does not depend
    on the batch size or the number of devices), plus `val/ppl_best`. Stupid backoff,
    whose scores do not sum to one, logs `pseudo_ppl` instead. Generation reads
    `next_token_log_probs`; `carries_state` models are fed only the newest token and
    their state.
    """

    def __init__(self, vocab: Vocabulary, optimizer=None, scheduler=None, perplexity_name: str = "ppl"):
        super().__init__(vocab, optimizer, scheduler)
        self.perplexity_name = perplexity_name
        self.declare(metrics=(f"val/{perplexity_name}", f"test/{perplexity_name}"),
                     optimized_metric=f"val/{perplexity_name}", provides={Provides.NEXT_TOKEN, Provides.THROUGHPUT},
                     artifact_type="language-model")
        self._nll = {"val": NLLSum(), "test": NLLSum()}
        self.register_buffer("best_val_ppl", torch.tensor(float("inf"), dtype=torch.float64))

    def token_nll(self, batch, stage: str) -> torch.Tensor:
        """-log p of every scored token of an evaluation batch (P,)."""
        raise NotImplementedError

    def next_token_log_probs(self, tokens: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """(B, t) ids -> ((B, V) log p(next | history), the state to carry on)."""
        raise NotImplementedError

    def _eval_end(self, stage: str) -> float:
        total_nll, tokens = self.trainer.strategy.reduce(self._nll[stage].totals(self.device), reduce_op="sum")
        mean = float(total_nll) / max(float(tokens), 1.0)
        ppl = perplexity(float(total_nll), int(tokens))
        self.log(f"{stage}/loss", mean, batch_size=1)
        self.log(f"{stage}/{self.perplexity_name}", ppl, prog_bar=True, batch_size=1)
        self.log(f"{stage}/tokens", float(tokens), batch_size=1)
        return ppl

    def validation_step(self, batch, batch_idx: int) -> None:
        self._nll["val"].update(self.token_nll(batch, "val"))

    def test_step(self, batch, batch_idx: int) -> None:
        self._nll["test"].update(self.token_nll(batch, "test"))

    def on_validation_epoch_start(self) -> None:
        self._nll["val"].reset()

    def on_test_epoch_start(self) -> None:
        self._nll["test"].reset()

    def on_validation_epoch_end(self) -> None:
        ppl = self._eval_end("val")
        if not self.trainer.sanity_checking and ppl < float(self.best_val_ppl):
            self.best_val_ppl.fill_(ppl)
        self.log(f"val/{self.perplexity_name}_best", float(self.best_val_ppl), batch_size=1)
        self.report_epoch(f"val/{self.perplexity_name} {ppl:.2f} (best {float(self.best_val_ppl):.2f})")

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")
