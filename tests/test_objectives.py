"""Every objective against hand computations (loss, gradient, normalisation), and the skip-gram model."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors
from gensim.models.word2vec import _assign_binary_codes
from hydra.utils import instantiate
from omegaconf import OmegaConf

from lm_experiments import CONFIG_DIR
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.cbow import context_vector
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.objectives.base import Objective
from lm_experiments.objectives.full import FullSoftmax
from lm_experiments.objectives.hierarchical import HierarchicalSoftmax
from lm_experiments.objectives.huffman import huffman_tree
from lm_experiments.objectives.nce import NoiseContrastiveEstimation
from lm_experiments.objectives.negative import NegativeSampling
from lm_experiments.tasks.embedding import WordEmbeddingTask


def vocab_with_counts(counts):
    return Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(len(counts))], np.array([3, 3] + counts))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def hand_negative_sampling_loss(hidden, w, targets, noise_per_example) -> list[float]:
    """-log s(h.w_t) - sum over noise words n != t of log s(-h.w_n), one example at a time."""
    losses = []
    for p, noise in enumerate(noise_per_example):
        value = -math.log(sigmoid(float(hidden[p] @ w[targets[p]])))
        value -= sum(math.log(sigmoid(-float(hidden[p] @ w[n]))) for n in noise if n != targets[p])
        losses.append(value)
    return losses


def test_loss_equals_hand_formula(monkeypatch):
    torch.manual_seed(0)
    objective = NegativeSampling(vocab_with_counts([5, 4, 3, 2]), dim=3, negative=2)
    objective.output.weight.data.normal_()
    hidden = torch.randn(2, 3)
    targets = torch.tensor([2, 3])
    noise = torch.tensor([[4, 5], [3, 2]])  # second row: first noise word equals the target -> skipped
    monkeypatch.setattr(objective, "sample_noise", lambda shape, device: noise)
    loss = objective(hidden, targets)
    expected = hand_negative_sampling_loss(hidden, objective.output.weight.data, targets, noise.tolist())
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
    task = WordEmbeddingTask(vocab, SkipGram(vocab, vector_size=8), partial(NegativeSampling, negative=2),
                             partial(torch.optim.SGD, lr=0.1))
    weights = task.model.embedder.word_vectors().data
    assert weights.abs().max() <= 0.5 / 8 and weights.std() > 0
    assert task.objective.output.weight.abs().sum() == 0  # word2vec's syn1neg starts at zero
    assert task.objective.output.sparse, "the embedding task's output rows take sparse steps"
    words, vectors = task.word_vectors()
    assert words == ["w0", "w1", "w2"] and torch.equal(vectors, weights[2:])
    with pytest.raises(UserError, match="model.vector_size"):
        SkipGram(vocab, vector_size=0)





def test_huffman_codes_equal_gensims():
    counts = np.array([5, 9, 12, 13, 16, 45, 2, 30, 7])
    kv = KeyedVectors(2)
    kv.add_vectors([f"w{i}" for i in range(len(counts))], np.zeros((len(counts), 2)))
    for i, count in enumerate(counts):
        kv.set_vecattr(f"w{i}", "count", int(count))
    _assign_binary_codes(kv)
    codes, points, lengths = huffman_tree(counts)
    for i in range(len(counts)):
        assert codes[i, : lengths[i]].tolist() == kv.get_vecattr(f"w{i}", "code").tolist()
        assert points[i, : lengths[i]].tolist() == kv.get_vecattr(f"w{i}", "point").tolist()
    # the textbook example: optimal code lengths for counts 5, 9, 12, 13, 16, 45
    assert huffman_tree(np.array([5, 9, 12, 13, 16, 45]))[2].tolist() == [4, 4, 3, 3, 3, 1]


def random_outputs(objective, seed=0):
    torch.manual_seed(seed)
    for parameter in objective.parameters():
        parameter.data.normal_(0, 0.5)
    return objective


@pytest.mark.parametrize("make", [lambda v, d: HierarchicalSoftmax(v, d), lambda v, d: FullSoftmax(v, d)])
def test_normalized_objectives_sum_to_one_and_match_their_loss(make):
    vocab = vocab_with_counts([50, 20, 20, 9, 5, 3, 1])
    objective = random_outputs(make(vocab, 6))
    hidden = torch.randn(4, 6)
    log_prob = objective.log_prob(hidden)                   # (4, V)
    assert log_prob.shape == (4, len(vocab))
    assert torch.allclose(log_prob.exp().sum(1), torch.ones(4), atol=1e-5)
    targets = torch.tensor([2, 8, 0, 5])
    assert torch.allclose(objective(hidden, targets), -log_prob[torch.arange(4), targets], atol=1e-5)


def test_hierarchical_gradient_matches_word2vec_formula():
    """word2vec: g_j = 1 - code_j - s(h.v_j) along the path; d loss / d h = -sum_j g_j v_j."""
    vocab = vocab_with_counts([50, 20, 20, 9, 5])
    objective = random_outputs(HierarchicalSoftmax(vocab, 5))
    hidden = torch.randn(1, 5, requires_grad=True)
    target = 6
    objective(hidden, torch.tensor([target])).sum().backward()
    expected = torch.zeros(5)
    h = hidden.detach()[0]
    for step in range(int(objective.mask[target].sum())):
        v = objective.nodes.weight.data[objective.points[target, step]]
        g = 1 - objective.codes[target, step] - torch.sigmoid(h @ v)
        expected -= g * v
    assert torch.allclose(hidden.grad[0], expected, atol=1e-6)


def test_full_softmax_gradient_matches_formula():
    vocab = vocab_with_counts([5, 4, 3])
    objective = random_outputs(FullSoftmax(vocab, 3))
    hidden = torch.randn(1, 3, requires_grad=True)
    objective(hidden, torch.tensor([3])).sum().backward()
    with torch.no_grad():
        probs = torch.softmax(objective.output.weight @ hidden[0] + objective.output.bias, 0)
        probs[3] -= 1
        expected = objective.output.weight.T @ probs
    assert torch.allclose(hidden.grad[0], expected, atol=1e-6)


def test_nce_loss_and_gradient_by_hand(monkeypatch):
    counts = [40, 30, 20, 10]
    objective = random_outputs(NoiseContrastiveEstimation(vocab_with_counts(counts), 3, negative=2))
    hidden = torch.randn(1, 3, requires_grad=True)
    noise = torch.tensor([[5, 2]])
    monkeypatch.setattr(objective, "sample_noise", lambda shape, device: noise)
    loss = objective(hidden, torch.tensor([3]))
    q = np.array([0, 0] + counts, dtype=float) ** 0.75
    q /= q.sum()
    u, b, h = objective.output.weight.data, objective.bias.weight.data[:, 0], hidden.detach()[0]

    def delta(w):  # the NCE logit: score minus log(k q(w))
        return float(h @ u[w] + b[w]) - math.log(2 * q[w])

    expected = -math.log(sigmoid(delta(3))) - sum(math.log(1 - sigmoid(delta(n))) for n in (5, 2))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.sum().backward()
    grad = -(1 - sigmoid(delta(3))) * u[3] + sum(sigmoid(delta(n)) * u[n] for n in (5, 2))
    assert torch.allclose(hidden.grad[0], grad.float(), atol=1e-5)


def test_cbow_mean_forward_is_the_mean_and_gradient_is_word2vecs():
    vectors = torch.randn(2, 4, 3, requires_grad=True)
    mask = torch.tensor([[True, True, False, True], [False, True, False, False]])
    hidden = context_vector(vectors, mask, "mean")
    expected = torch.stack([vectors[0, [0, 1, 3]].mean(0), vectors[1, 1]]).detach()
    assert torch.allclose(hidden, expected)
    upstream = torch.randn(2, 3)
    hidden.backward(upstream)
    # word2vec adds the hidden layer's gradient (neu1e) to each context word, unscaled
    assert torch.allclose(vectors.grad, upstream[:, None, :] * mask[:, :, None])
    summed = context_vector(vectors.detach(), mask, "sum")
    assert torch.allclose(summed, (vectors.detach() * mask[:, :, None]).sum(1))


def test_shared_negatives_use_one_noise_set_per_step(monkeypatch):
    torch.manual_seed(2)
    objective = random_outputs(NegativeSampling(vocab_with_counts([5, 4, 3, 2, 2]), dim=3, negative=2,
                                                noise_sharing="step", noise_pool=2))
    hidden = torch.randn(3, 3)
    targets = torch.tensor([2, 4, 6])
    noise = torch.tensor([4, 5])  # equals the second example's target once: skipped there only
    monkeypatch.setattr(objective, "sample_noise", lambda shape, device: noise)
    loss = objective(hidden, targets)
    expected = hand_negative_sampling_loss(hidden, objective.output.weight.data, targets, [noise.tolist()] * 3)
    assert loss.tolist() == pytest.approx(expected, rel=1e-5)


def test_a_shared_pool_of_noise_words_is_weighed_to_stand_for_k_draws_per_example(monkeypatch):
    """K = noise_pool words shared by the step, each example weighing them k / K (here 2 / 4)."""
    torch.manual_seed(5)
    objective = random_outputs(NegativeSampling(vocab_with_counts([5, 4, 3, 2, 2]), dim=3, negative=2,
                                                noise_sharing="step", noise_pool=4))
    hidden, targets = torch.randn(3, 3), torch.tensor([2, 4, 6])
    pool = torch.tensor([3, 4, 5, 5])
    drawn = []
    monkeypatch.setattr(objective, "sample_noise", lambda shape, device: drawn.append(shape) or pool)
    loss = objective(hidden, targets)
    assert drawn == [(4,)], "one draw of the whole pool per step"
    w = objective.output.weight.data
    for p in range(3):
        expected = -math.log(sigmoid(float(hidden[p] @ w[targets[p]])))
        expected -= 0.5 * sum(math.log(sigmoid(-float(hidden[p] @ w[n]))) for n in pool.tolist() if n != targets[p])
        assert loss[p].item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(UserError, match="sampler.noise_pool must be a positive integer"):
        NegativeSampling(vocab_with_counts([5, 4]), dim=3, noise_sharing="step", noise_pool=0)


# over the vocabulary: every sampler but `none` and the classifiers' head over their classes (test_sentence_models)
SAMPLERS = sorted(p.stem for p in (CONFIG_DIR / "sampler").glob("*.yaml")
                  if p.stem not in ("none", "label_softmax"))


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_config_builds_one_interface_for_every_task(name, sparse):
    """Tasks complete every `sampler` partial the same way; each objective then offers the same calls."""
    node = OmegaConf.load(CONFIG_DIR / "sampler" / f"{name}.yaml")
    if name == "adaptive":
        node.cutoffs = [3, 6]
    if name == "sampled":
        node.num_sampled = 4
    vocab = vocab_with_counts([9, 8, 7, 6, 5, 4, 3, 2])
    torch.manual_seed(0)
    objective = instantiate(node)(vocab=vocab, dim=5, sparse=sparse)
    assert isinstance(objective, Objective)
    hidden, targets = torch.randn(6, 5), torch.randint(2, len(vocab), (6,))
    assert objective(hidden, targets).shape == (6,)
    assert objective(hidden, targets, step_size=0.025).shape == (6,)
    assert objective.nll(hidden, targets).shape == (6,)
    log_probs = objective.log_prob(hidden)
    assert log_probs.shape == (6, len(vocab))
    torch.testing.assert_close(torch.logsumexp(log_probs, -1), torch.zeros(6), atol=1e-5, rtol=0)
