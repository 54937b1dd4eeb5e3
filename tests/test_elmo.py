"""ELMo's biLM: the character encoder (any word gets a vector), each direction sees only its own side,
windows score every token once per direction, and perplexity against a direct computation."""

import math

import numpy as np
import pytest
import torch

from lm_experiments.data.batches import BiWindows
from lm_experiments.data.views.bidirectional import covering_windows
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.models.char_cnn import BEGIN, END, CharacterEncoder, characters_of
from lm_experiments.models.elmo import BiLM
from lm_experiments.objectives.full import FullSoftmax
from lm_experiments.run.training import train
from lm_experiments.tasks.bilm import BidirectionalLMTask

VOCAB = Vocabulary(["<unk>", "<eos>", "the", "cat", "sat", "on", "mat", "dog"], np.array([0, 3, 9, 4, 4, 3, 2, 1]))
SMALL = {"projection_dim": 6, "hidden_dim": 10, "num_layers": 2, "dropout": 0.0, "char_dim": 4,
         "filters": ((1, 3), (2, 4), (3, 5)), "max_chars": 8}


def test_a_word_becomes_its_bytes_between_marks_cut_to_max_chars():
    table = characters_of(["cat", "caf\u00e9", "abcdefghij"], max_chars=8)
    assert table[0].tolist() == [BEGIN, ord("c") + 1, ord("a") + 1, ord("t") + 1, END, 0, 0, 0]
    assert table[1, 4:7].tolist() == [0xC3 + 1, 0xA9 + 1, END]                       # UTF-8 bytes of the e-acute
    assert table[2].tolist() == [BEGIN, *(ord(c) + 1 for c in "abcdef"), END]         # cut, the end mark kept


def test_any_word_gets_a_vector_from_its_characters_and_a_known_word_the_same_as_by_id():
    torch.manual_seed(0)
    encoder = CharacterEncoder(VOCAB, output_dim=6, char_dim=4, filters=((1, 3), (2, 4)), max_chars=8).eval()
    by_id = encoder(torch.tensor([[3, 7]]))                                             # (1, 2, 6)
    by_word = encoder.vectors_for(["cat", "dog", "catz", "zebra"])
    torch.testing.assert_close(by_id[0], by_word[:2])
    assert by_word.shape == (4, 6) and not torch.allclose(by_word[2], by_word[0]) and torch.isfinite(by_word).all()



def test_a_highway_layer_mixes_its_input_and_a_relu_transform_by_its_carry_gate():
    from lm_experiments.models.char_cnn import Highway

    highway = Highway(2, layers=1)
    assert highway.layers[0].bias[2:].tolist() == [1.0, 1.0]       # the carry gate starts open (sigmoid(1) = 0.73)
    with torch.no_grad():
        highway.layers[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0], [0.0, 0.0], [0.0, 0.0]]))
        highway.layers[0].bias.copy_(torch.tensor([0.5, 0.0, 0.0, math.log(3.0)]))   # gates 0.5 and 0.75
        y = highway(torch.tensor([[2.0, 4.0]]))
    # by hand: g * x + (1 - g) * relu(W x + b)
    assert y[0].tolist() == pytest.approx([0.5 * 2.0 + 0.5 * 2.5, 0.75 * 4.0 + 0.25 * 0.0])


def test_encoding_distinct_words_over_trimmed_characters_equals_the_full_width_convolution():
    torch.manual_seed(0)
    vocab = Vocabulary(["<unk>", "<eos>", "a", "ab", "abcdefghijklmnop", "xyz"], np.array([0, 1, 5, 4, 3, 2]))
    encoder = CharacterEncoder(vocab, output_dim=6, char_dim=4, filters=((1, 3), (4, 5)), max_chars=20).eval()
    ids = torch.tensor([[2, 3, 2, 5], [3, 3, 2, 2]])                  # short words only, repeated
    characters = encoder.vocab_characters[ids].reshape(-1, 20)        # all 20 positions, every occurrence
    x = encoder.embedding(characters).transpose(1, 2)
    pooled = torch.cat([torch.tanh(conv(x)).amax(dim=-1) for conv in encoder.convolutions], dim=-1)
    full_width = encoder.projection(encoder.highway(pooled)).reshape(2, 4, 6)
    torch.testing.assert_close(encoder(ids), full_width)
    long_word = encoder.vectors_for(["abcdefghijklmnop", "a"])        # the longest leaves no padding window
    torch.testing.assert_close(long_word[1], full_width[0, 0])

@pytest.mark.parametrize("token_encoder", ["chars", "words"])
def test_each_direction_sees_only_its_own_side_of_a_token(token_encoder):
    """Change the token at j: forward states before j and backward states after j must not move."""
    torch.manual_seed(0)
    model = BiLM(VOCAB, token_encoder=token_encoder, **SMALL).eval()
    tokens = torch.tensor([[2, 3, 4, 5, 2, 6, 1]])
    changed = tokens.clone()
    j = 3
    changed[0, j] = 7
    forward, backward = model(tokens)
    forward2, backward2 = model(changed)
    for t in range(tokens.shape[1]):
        assert torch.equal(forward[0, t], forward2[0, t]) == (t < j), ("forward", t)
        assert torch.equal(backward[0, t], backward2[0, t]) == (t > j), ("backward", t)


def test_contextual_layers_stack_the_token_vector_twice_and_each_layers_two_directions():
    torch.manual_seed(0)
    model = BiLM(VOCAB, **SMALL).eval()
    tokens = model.tokens(torch.tensor([[2, 3, 4]]))
    layers = model.layers(tokens)
    assert layers.shape == (1, 3, 3, 12)
    torch.testing.assert_close(layers[:, :, 0], torch.cat([tokens, tokens], -1))
    forward, backward = model(torch.tensor([[2, 3, 4]]))
    torch.testing.assert_close(layers[:, :, 2], torch.cat([forward, backward], -1))


@pytest.mark.parametrize("count, length", [(10, 4), (11, 4), (2, 2), (37, 20), (100, 20), (5, 5)])
def test_evaluation_windows_predict_every_token_once_per_direction(count, length):
    starts, forward, backward = covering_windows(count, length)
    positions = starts[:, None] + np.arange(length)
    assert np.array_equal(np.sort((positions + 1)[forward]), np.arange(1, count))          # all but the first
    assert np.array_equal(np.sort((positions - 1)[backward]), np.arange(0, count - 1))     # all but the last
    assert starts.min() >= 0 and starts.max() + length <= count


def test_perplexity_in_each_direction_equals_a_direct_computation():
    torch.manual_seed(0)
    model = BiLM(VOCAB, **SMALL)
    task = BidirectionalLMTask(VOCAB, model, FullSoftmax, optimizer=None).eval()
    torch.nn.init.normal_(task.objective.output.weight, std=0.5)
    tokens = torch.tensor([[2, 3, 4, 5, 2, 6, 1, 2]])
    starts, forward_mask, backward_mask = covering_windows(8, 8)
    batch = BiWindows(tokens, torch.from_numpy(forward_mask), torch.from_numpy(backward_mask), 7)
    with torch.no_grad():
        nll = task.direction_nll(batch)
        forward, backward = model(tokens)
        log_p_forward = task.objective.log_prob(forward[0])                              # (T, V)
        log_p_backward = task.objective.log_prob(backward[0])
    by_hand_forward = -sum(float(log_p_forward[t, tokens[0, t + 1]]) for t in range(7)) / 7
    by_hand_backward = -sum(float(log_p_backward[t, tokens[0, t - 1]]) for t in range(1, 8)) / 7
    assert math.exp(float(nll["forward"].mean())) == pytest.approx(math.exp(by_hand_forward), rel=1e-5)
    assert math.exp(float(nll["backward"].mean())) == pytest.approx(math.exp(by_hand_backward), rel=1e-5)


@pytest.mark.parametrize("objective", ["full", "sampled", "adaptive"])
def test_the_output_layer_starts_random_so_both_lstm_stacks_learn_from_the_first_step(objective):
    from lm_experiments.objectives.adaptive import AdaptiveSoftmax
    from lm_experiments.objectives.sampled import SampledSoftmax

    torch.manual_seed(0)
    make = {"full": FullSoftmax, "sampled": lambda **kw: SampledSoftmax(num_sampled=3, **kw),
            "adaptive": lambda **kw: AdaptiveSoftmax(cutoffs=[4], **kw)}[objective]
    task = BidirectionalLMTask(VOCAB, BiLM(VOCAB, **SMALL), make, optimizer=None)
    weights = [p for p in task.objective.parameters() if p.dim() == 2]
    for weight in weights:   # N(0, 1/d), not word2vec's zeros: a zero softmax sends the LSTMs no gradient
        assert float(weight.std()) == pytest.approx(weight.shape[-1] ** -0.5, rel=0.35)
    tokens = torch.tensor([[2, 3, 4, 5, 2, 6, 1, 2]])
    _, forward_mask, backward_mask = covering_windows(8, 8)
    batch = BiWindows(tokens, torch.from_numpy(forward_mask), torch.from_numpy(backward_mask), 7)
    sum(task.objective(*pair).mean() for pair in task.scored_predictions(batch).values()).backward()
    for stack in (task.model.forward_lm, task.model.backward_lm):
        assert all(float(p.grad.abs().sum()) > 0 for p in stack.parameters())


@pytest.mark.slow
def test_a_small_bilm_trains_and_reports_both_directions(make_lm_cfg, tmp_path):
    metrics = train(make_lm_cfg("elmo", "trainer.max_epochs=2", "trainer.limit_train_batches=40"))
    for stage in ("val", "test"):
        forward, backward = metrics[f"{stage}/ppl_forward"], metrics[f"{stage}/ppl_backward"]
        assert 1 < forward < len(VOCAB) * 100 and 1 < backward < len(VOCAB) * 100
        assert metrics[f"{stage}/ppl"] == pytest.approx((forward + backward) / 2)
    assert metrics["val/ppl_forward"] < 30 and metrics["val/ppl_backward"] < 30  # the grammar is learnable


def test_the_scalar_mix_is_gamma_times_the_softmax_weighted_sum_of_the_layers():
    from lm_experiments.models.scalar_mix import ScalarMix

    layers = torch.arange(2 * 3 * 3 * 2, dtype=torch.float32).reshape(2, 3, 3, 2)      # (B, T, L, d)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    mix = ScalarMix(3, weights=[0.0, math.log(2.0), math.log(3.0)], gamma=0.5)
    shares = [1 / 6, 2 / 6, 3 / 6]                                                    # softmax of log 1, 2, 3
    by_hand = 0.5 * sum(share * layers[:, :, j] for j, share in enumerate(shares))
    torch.testing.assert_close(mix(layers, mask), by_hand)
    normed = ScalarMix(3, layer_norm=True)(layers, mask)
    real = layers[mask]                                                               # (5, L, d)
    standardised = (real - real.mean(dim=(0, 2), keepdim=True)) / real.std(dim=(0, 2), unbiased=False, keepdim=True)
    torch.testing.assert_close(normed[mask], standardised.mean(dim=1), rtol=1e-4, atol=1e-5)
    fixed = ScalarMix(3, trainable=False)
    assert not fixed.weights.requires_grad and not fixed.gamma.requires_grad


def test_a_padded_sentence_gets_the_vectors_it_gets_alone():
    torch.manual_seed(0)
    model = BiLM(VOCAB, **SMALL).eval()
    short, long = ["the", "cat", "sat"], ["the", "dog", "sat", "on", "the", "mat"]
    vectors = model.tokens.vectors_for(short + long)
    batch = torch.zeros(2, 6, 6)
    batch[0, :3], batch[1] = vectors[:3], vectors[3:]
    together = model.layers(batch, torch.tensor([3, 6]))
    alone = model.layers(vectors[None, :3])
    torch.testing.assert_close(together[0, :3], alone[0])


@pytest.fixture
def elmo_run(make_lm_cfg, tmp_path):
    train(make_lm_cfg("elmo", "trainer.max_epochs=1", "trainer.limit_train_batches=5"))
    return tmp_path / "run"


@pytest.mark.slow
def test_the_embedder_reads_a_run_and_any_words_and_the_cli_writes_them(elmo_run, tmp_path):
    from lm_experiments.cli.embed import ElmoEmbedder, main

    embedder = ElmoEmbedder(elmo_run)
    out = embedder.embed([["the", "cat"], ["a", "never-seen-wordz", "sat", "down"]])
    width = 2 * 16
    assert out.layers.shape == (2, 4, 3, width) and out.mixed.shape == (2, 4, width)
    assert out.mask.tolist() == [[True, True, False, False], [True, True, True, True]]
    assert torch.isfinite(out.layers).all() and out.mixed[0, 2:].abs().sum() == 0
    torch.testing.assert_close(out.mixed, out.layers.mean(dim=2))                     # equal weights, gamma 1
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("the cat\na never-seen-wordz sat down\n\n")
    assert main([str(elmo_run), "--input", str(sentences), "--output", str(tmp_path / "v.npz")]) == 0
    saved = np.load(tmp_path / "v.npz")
    assert saved["offsets"].tolist() == [0, 2, 6, 6] and saved["layers"].shape == (6, 3, width)  # line 3: blank
    np.testing.assert_allclose(saved["mixed"][2:6], out.mixed[1].numpy(), rtol=1e-5, atol=1e-6)


def test_the_embedder_refuses_a_run_of_another_model(make_lm_cfg, tmp_path):
    from lm_experiments.cli.embed import main

    train(make_lm_cfg("lstm", "trainer.max_epochs=1", "trainer.limit_train_batches=2"))
    (tmp_path / "s.txt").write_text("the cat\n")
    assert main([str(tmp_path / "run"), "--input", str(tmp_path / "s.txt"), "--output", str(tmp_path / "o.npz")]) == 2
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["bow", "textcnn", "birnn"])
def test_a_classifier_reads_a_frozen_elmo_through_a_learned_scalar_mix(elmo_run, make_cfg, tmp_path, model):
    from test_sentence_models import polarity_file

    from lm_experiments.run.training import build

    data = polarity_file(tmp_path / "polarity.tsv", count=60)
    cfg = make_cfg(f"model={model}", "data=labelled_file", f"data.path={data}", "model.embedding=elmo",
                   f"model.pretrained={elmo_run}", "model.embedding_dim=8", "trainer.max_epochs=1", fast=False,
                   run=f"classifier-{model}")
    datamodule, task, trainer = build(cfg)
    embedding = task.model.embedding
    assert embedding.output_dim == 2 * 16 + 8
    frozen = {name: p.detach().clone() for name, p in embedding.elmo.bilm.named_parameters()}
    trainer.fit(task, datamodule=datamodule)
    assert all(torch.equal(p, frozen[name]) for name, p in embedding.elmo.bilm.named_parameters()), "biLM frozen"
    assert not torch.equal(embedding.elmo.mix.weights.detach(), torch.zeros(3)), "the mix is trained"
    assert not embedding.elmo.bilm.training, "no dropout inside the frozen biLM"


@pytest.mark.slow
def test_model_elmo_puts_an_elmo_beside_pretrained_word_vectors_as_peters_et_al_do(elmo_run, make_cfg, tmp_path):
    from test_sentence_models import polarity_file

    from lm_experiments.errors import UserError
    from lm_experiments.models.elmo_vectors import ElmoVectors
    from lm_experiments.models.sentence_embedding import SentenceEmbedding
    from lm_experiments.run.assembly import load_bilm
    from lm_experiments.run.training import build

    data = polarity_file(tmp_path / "polarity.tsv", count=60)
    (tmp_path / "vectors.txt").write_text("2 8\ngood 1 2 3 4 5 6 7 8\nbad 8 7 6 5 4 3 2 1\n")
    cfg = make_cfg("model=bow", "data=labelled_file", f"data.path={data}", "model.embedding=non_static",
                   f"model.pretrained={tmp_path / 'vectors.txt'}", f"model.elmo={elmo_run}", "model.embedding_dim=8",
                   "trainer.max_epochs=1", fast=False, run="glove-and-elmo")
    datamodule, task, trainer = build(cfg)
    embedding = task.model.embedding
    assert embedding.output_dim == 2 * 16 + 8
    datamodule.setup("fit")
    embedding.load_pretrained()
    ids = torch.tensor([[task.vocab.stoi[w] for w in ("the", "good", "film")], [task.vocab.stoi["bad"], 0, 0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    embedding.eval()
    vectors = embedding(ids, mask)                                                     # (2, 3, 2 x 16 + 8)
    alone = ElmoVectors(load_bilm(elmo_run), embedding.words).eval()
    torch.testing.assert_close(vectors[..., :32], alone(ids, mask))    # ELMo first (equal weights, gamma 1) ...
    assert vectors[0, 1, 32:].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]      # ... then the pretrained word vector
    assert vectors[1, 0, 32:].tolist() == [8, 7, 6, 5, 4, 3, 2, 1]
    assert embedding.vectors.weight.requires_grad and not any(p.requires_grad for p in embedding.elmo.bilm.parameters())
    trainer.fit(task, datamodule=datamodule)
    with pytest.raises(UserError, match="set one of the two"):
        SentenceEmbedding(task.vocab, 8, "elmo", str(elmo_run), elmo=str(elmo_run))


def test_elmo_vectors_refuse_a_tree_lstm_and_runs_of_other_models(make_lm_cfg, tmp_path):
    from lm_experiments.errors import UserError
    from lm_experiments.models.treelstm import TreeLSTM

    with pytest.raises(UserError, match="model.embedding=elmo feeds sequence encoders"):
        TreeLSTM(VOCAB, embedding="elmo", pretrained="somewhere")
    train(make_lm_cfg("lstm", "trainer.max_epochs=1", "trainer.limit_train_batches=2"))
    from omegaconf import OmegaConf

    from lm_experiments.run.assembly import build_model

    textcnn = OmegaConf.create({"_target_": "lm_experiments.models.textcnn.TextCNN", "embedding": "elmo",
                                "pretrained": str(tmp_path / "run"), "elmo": None})
    with pytest.raises(UserError, match="come from a model=elmo run; .* is a RecurrentEncoder run"):
        build_model(textcnn, VOCAB)


def write_polysemy_corpus(folder, sentences: int = 1200, seed: int = 0):
    """One word form, `bank`, with two senses whose contexts share no word: rivers and money."""
    import random

    rng = random.Random(seed)
    senses = {"river": (["river", "water", "fish", "shore", "boat", "mud"], ["flows", "floods", "erodes"]),
              "money": (["money", "loan", "cash", "credit", "teller", "vault"], ["lends", "pays", "charges"])}
    lines = []
    for _ in range(sentences):
        nouns, verbs = senses[rng.choice(list(senses))]
        lines.append(" ".join([rng.choice(nouns), "bank", rng.choice(verbs), rng.choice(nouns)]))
    folder.mkdir(parents=True, exist_ok=True)
    for split, part in (("train", lines[:1000]), ("valid", lines[1000:1100]), ("test", lines[1100:])):
        (folder / f"{split}.txt").write_text("\n".join(part) + "\n")
    return folder, senses


@pytest.mark.slow
def test_contextual_vectors_separate_the_two_senses_of_a_word_that_a_static_vector_cannot(tmp_path):
    from conftest import LM_FAST, LM_SMALL, compose_config

    from lm_experiments.cli.embed import ElmoEmbedder

    torch.manual_seed(0)
    folder, senses = write_polysemy_corpus(tmp_path / "polysemy")
    cfg = compose_config([*LM_FAST, f"data.path={folder}", "model=elmo", *LM_SMALL["elmo"],
                          "trainer.max_epochs=6", "data.view.block_size=8", "optimizer.lr=0.01"],
                         tmp_path / "run", tmp_path / "cache")
    train(cfg)
    embedder = ElmoEmbedder(tmp_path / "run")
    rng = np.random.default_rng(1)

    def occurrences(count: int):
        """`count` new sentences per sense -> (bank's contextual vector, its token vector, is it the river sense)"""
        sentences, river = [], []
        for sense, (nouns, verbs) in senses.items():
            for _ in range(count):
                sentences.append([str(rng.choice(nouns)), "bank", str(rng.choice(verbs)), str(rng.choice(nouns))])
                river.append(sense == "river")
        layers = embedder.embed(sentences).layers[:, 1]                               # "bank": (S, L + 1, 2p)
        return layers[:, 1:].flatten(1).numpy(), layers[:, 0].numpy(), np.array(river)

    from sklearn.linear_model import LogisticRegression

    fit_contextual, fit_static, fit_river = occurrences(30)
    test_contextual, test_static, test_river = occurrences(30)
    assert np.allclose(test_static, test_static[:1]), "a static vector is one vector for both senses"
    contextual = LogisticRegression(max_iter=2000).fit(fit_contextual, fit_river).score(test_contextual, test_river)
    static = LogisticRegression(max_iter=2000).fit(fit_static, fit_river).score(test_static, test_river)
    assert contextual >= 0.9 and static == 0.5, (contextual, static)   # a linear probe on new sentences
    # benchmarks/elmo_contexts.py (Peters et al.'s Table 4): the nearest corpus windows of each query share its sense
    import subprocess
    import sys

    from conftest import ROOT

    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "elmo_contexts.py"), str(tmp_path / "run"),
                             "--corpus", str(folder / "train.txt"), "--word", "bank", "--windows", "200", "--half", "2",
                             "--query", "river bank floods water", "--query", "cash bank lends money"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    contextual_part = result.stdout.split("== static")[0]
    river_block, money_block = contextual_part.split("query: cash")
    for sense, block in (("river", river_block), ("money", money_block)):
        windows = [line.split()[1:] for line in block.splitlines() if line.startswith("  ")]   # x noun bank verb noun
        assert len(windows) == 5 and all(w[2] == "bank" and w[3] in senses[sense][1] for w in windows), (sense, windows)
    assert "contextual (top biLSTM layer): the two queries share 0 of their top 5 windows" in result.stdout
    assert "static (token layer): the two queries share 5 of their top 5 windows" in result.stdout
