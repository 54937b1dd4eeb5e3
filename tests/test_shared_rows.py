"""The rules for output rows that many examples of one SGD step push on (objectives/shared_rows.py):
each against a per-example hand computation, and the reason they exist (a stable step)."""

import math

import numpy as np
import pytest
import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.objectives.hierarchical import HierarchicalSoftmax
from lm_experiments.objectives.negative import NegativeSampling

VOCAB = Vocabulary(["<unk>", "<eos>", "a", "b", "c", "d"], np.array([1, 1, 40, 30, 20, 10]))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def hierarchical(rule: str, seed: int = 0) -> HierarchicalSoftmax:
    torch.manual_seed(seed)
    module = HierarchicalSoftmax(VOCAB, 4, sparse=False, shared_rows=rule)
    torch.nn.init.normal_(module.nodes.weight)
    return module


def node_gradient(module: HierarchicalSoftmax, hidden, targets, step_size=None) -> torch.Tensor:
    """The nodes' gradient of the summed loss, for an SGD step of `step_size` (None: not an SGD step)."""
    module.nodes.weight.grad = None
    module(hidden, targets, step_size=step_size).sum().backward()
    return module.nodes.weight.grad


def hand_node_traces(module: HierarchicalSoftmax, hidden, targets) -> list[float]:
    """Sum over each node's uses of s(s)(1 - s(s)) |h|^2, one example and one path position at a time."""
    traces = [0.0] * module.nodes.num_embeddings
    for h, word in zip(hidden, targets.tolist(), strict=True):
        for position in range(int(module.mask[word].sum())):
            node = int(module.points[word, position])
            p = sigmoid(float(h @ module.nodes.weight[node].detach()))
            traces[node] += p * (1 - p) * float(h @ h)
    return traces


def test_mean_rule_divides_a_nodes_summed_gradient_by_its_uses():
    hidden, targets = torch.randn(7, 4, generator=torch.Generator().manual_seed(1)), torch.tensor([2, 3, 4, 5, 2, 2, 3])
    summed = node_gradient(hierarchical("sum"), hidden, targets)
    averaged_module = hierarchical("mean")
    averaged = node_gradient(averaged_module, hidden, targets, step_size=0.025)
    uses = [0] * 5
    for word in targets.tolist():
        for position in range(int(averaged_module.mask[word].sum())):
            uses[int(averaged_module.points[word, position])] += 1
    assert max(uses) == 7, "the root is on every path"
    expected = summed / torch.tensor(uses, dtype=torch.float).clamp(min=1)[:, None]
    torch.testing.assert_close(averaged, expected)


def test_newton_rule_caps_each_node_at_one_over_lr_times_its_hessian_trace():
    hidden, targets = torch.randn(7, 4, generator=torch.Generator().manual_seed(1)), torch.tensor([2, 3, 4, 5, 2, 2, 3])
    step_size = 0.5
    summed = node_gradient(hierarchical("sum"), hidden, targets)
    capped_module = hierarchical("newton")
    capped = node_gradient(capped_module, hidden, targets, step_size)
    scale = torch.tensor([min(1.0, 1 / (step_size * t)) if t else 1.0
                          for t in hand_node_traces(capped_module, hidden, targets)])
    assert scale.min() < 1 and scale.max() == 1, "some nodes are capped, some keep word2vec's sum"
    torch.testing.assert_close(capped, summed * scale[:, None])


def test_newton_rule_is_the_exact_gradient_for_a_small_step_and_every_rule_outside_sgd_steps():
    """A language model's mean loss passes no step size: whatever the rule, its gradient is exact."""
    hidden, targets = torch.randn(7, 4, generator=torch.Generator().manual_seed(2)), torch.tensor([2, 3, 4, 5, 2, 2, 3])
    summed = node_gradient(hierarchical("sum"), hidden, targets)
    torch.testing.assert_close(node_gradient(hierarchical("newton"), hidden, targets, step_size=1e-6), summed)
    for rule in ("newton", "mean"):
        torch.testing.assert_close(node_gradient(hierarchical(rule), hidden, targets, step_size=None), summed)


def test_shared_noise_rows_take_the_capped_sum_of_the_batchs_pushes(monkeypatch):
    torch.manual_seed(3)
    step_size = 1.0
    gradients = {}
    for rule in ("sum", "newton", "mean"):
        # a pool of 2 shared noise words standing for 1 draw per example: each weighs 1/2
        objective = NegativeSampling(VOCAB, dim=3, negative=1, noise_sharing="step", noise_pool=2, sparse=False,
                                     shared_rows=rule)
        torch.manual_seed(3)
        torch.nn.init.normal_(objective.output.weight)
        noise = torch.tensor([4, 5])  # word 4 is the second example's target: no push from it there
        monkeypatch.setattr(objective, "sample_noise", lambda shape, device, noise=noise: noise)
        hidden = torch.randn(6, 3, generator=torch.Generator().manual_seed(4)) * 2
        targets = torch.tensor([2, 4, 3, 2, 3, 5])
        objective(hidden, targets, step_size=step_size).sum().backward()
        gradients[rule] = objective.output.weight.grad
    weight = objective.output.weight.detach()
    scales, pushes = {}, {}
    for row in (4, 5):
        users = [i for i in range(6) if int(targets[i]) != row]
        trace = sum(0.5 * sigmoid(float(hidden[i] @ weight[row])) * (1 - sigmoid(float(hidden[i] @ weight[row])))
                    * float(hidden[i] @ hidden[i]) for i in users)
        scales[row], pushes[row] = min(1.0, 1 / (step_size * trace)), len(users)
    assert min(scales.values()) < 1
    # rows 4 and 5 are also targets (examples 1 and 5); those positive pushes are their own, never scaled
    positive = torch.zeros_like(weight)
    for i, row in enumerate(targets.tolist()):
        positive[row] -= (1 - sigmoid(float(hidden[i] @ weight[row]))) * hidden[i]
    for row in (4, 5):
        noise_part = gradients["sum"][row] - positive[row]
        torch.testing.assert_close(gradients["newton"][row], positive[row] + noise_part * scales[row])
        torch.testing.assert_close(gradients["mean"][row], positive[row] + noise_part / pushes[row])
    # the targets' own rows (2, 3) are not shared noise: every rule leaves their gradient alone
    for rule in ("newton", "mean"):
        torch.testing.assert_close(gradients[rule][2:4], gradients["sum"][2:4])


def test_a_root_that_every_example_uses_stays_stable_with_newton_and_diverges_summed():
    """The failure the rule is for: many examples' summed pushes on one row, big hidden vectors."""
    generator = torch.Generator().manual_seed(5)
    hidden = torch.randn(1024, 4, generator=generator) * 2
    targets = torch.randint(2, 6, (1024,), generator=generator)
    step_size, final = 0.025, {}
    for rule in ("sum", "newton"):
        module = hierarchical(rule, seed=6)
        torch.nn.init.zeros_(module.nodes.weight)
        start = module(hidden, targets).mean().item()
        for _ in range(20):
            node_gradient(module, hidden, targets, step_size)
            with torch.no_grad():
                module.nodes.weight -= step_size * module.nodes.weight.grad
        final[rule] = module(hidden, targets).mean().item()
    assert final["newton"] < start, "capped steps lower the loss"
    assert final["sum"] > 2 * start, "summed steps overshoot"


def test_an_unknown_rule_is_a_user_error():
    with pytest.raises(UserError, match="sampler.shared_rows must be one of newton, mean, sum"):
        HierarchicalSoftmax(VOCAB, 4, shared_rows="median")
