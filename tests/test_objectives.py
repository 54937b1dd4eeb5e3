"""Negative sampling against hand computations, and the skip-gram model around it."""

import math
from functools import partial

import numpy as np
import pytest
import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.objectives.negative import NegativeSampling


def vocab_with_counts(counts):
    return Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(len(counts))], np.array([3, 3] + counts))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_loss_equals_hand_formula(monkeypatch):
    torch.manual_seed(0)
    objective = NegativeSampling(vocab_with_counts([5, 4, 3, 2]), dim=3, negative=2)
    objective.output.weight.data.normal_()
    hidden = torch.randn(2, 3)
    targets = torch.tensor([2, 3])
    noise = torch.tensor([[4, 5], [3, 2]])  # second row: first noise word equals the target -> skipped
    monkeypatch.setattr(objective, "sample_noise", lambda shape, device: noise)
    loss = objective(hidden, targets)
    w = objective.output.weight.data
    expected = []
    for p in range(2):
        value = -math.log(sigmoid(float(hidden[p] @ w[targets[p]])))
        for n in noise[p].tolist():
            if n != targets[p]:
                value -= math.log(sigmoid(-float(hidden[p] @ w[n])))
        expected.append(value)
    assert loss.tolist() == pytest.approx(expected, rel=1e-5)


def test_gradient_matches_closed_form(monkeypatch):
    """d loss / d h = (s(h.w_t) - 1) w_t + sum_k s(h.w_k) w_k: word2vec's update."""
    torch.manual_seed(1)
    objective = NegativeSampling(vocab_with_counts([5, 4, 3, 2]), dim=4, negative=3)
    objective.output.weight.data.normal_()
    hidden = torch.randn(1, 4, requires_grad=True)
    noise = torch.tensor([[3, 4, 5]])
    monkeypatch.setattr(objective, "sample_noise", lambda shape, device: noise)
    objective(hidden, torch.tensor([2])).sum().backward()
    w, h = objective.output.weight.data, hidden.detach()[0]
    expected = (torch.sigmoid(h @ w[2]) - 1) * w[2] + sum(torch.sigmoid(h @ w[k]) * w[k] for k in (3, 4, 5))
    assert torch.allclose(hidden.grad[0], expected, atol=1e-6)


def test_noise_follows_unigram_to_the_power_and_never_draws_specials():
    counts = [1000, 300, 50, 7]
    objective = NegativeSampling(vocab_with_counts(counts), dim=2, negative=5, ns_exponent=0.75)
    torch.manual_seed(0)
    draws = objective.sample_noise((400000,), torch.device("cpu"))
    frequency = torch.bincount(draws, minlength=6).double() / draws.numel()
    weights = np.array(counts, dtype=float) ** 0.75
    assert frequency[:2].tolist() == [0.0, 0.0]
    assert frequency[2:].tolist() == pytest.approx((weights / weights.sum()).tolist(), abs=2e-3)


def test_bad_negative_count():
    with pytest.raises(UserError, match="sampler.negative"):
        NegativeSampling(vocab_with_counts([2, 1]), dim=2, negative=0)


def test_skipgram_initialisation_and_vectors():
    vocab = vocab_with_counts([9, 8, 7])
    model = SkipGram(vocab, partial(NegativeSampling, negative=2), partial(torch.optim.SGD, lr=0.1),
                     vector_size=8)
    weights = model.input.weight.data
    assert weights.abs().max() <= 0.5 / 8 and weights.std() > 0
    assert model.objective.output.weight.abs().sum() == 0  # word2vec's syn1neg starts at zero
    words, vectors = model.word_vectors()
    assert words == ["w0", "w1", "w2"] and torch.equal(vectors, weights[2:])
    with pytest.raises(UserError, match="model.vector_size"):
        SkipGram(vocab, partial(NegativeSampling), partial(torch.optim.SGD, lr=0.1), vector_size=0)
