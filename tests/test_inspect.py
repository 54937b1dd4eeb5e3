"""lm-inspect and the end-of-training pictures: attention weights, head statistics, positional encodings,
gradient flow through time, ELMo's layer weights. The numbers are checked against independent computations
(the fused attention kernel, the sinusoid formula, a hand-unrolled RNN); the pictures for size and validity."""

import math

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from torch import nn

from lm_experiments.cli import inspect_run as lm_inspect
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.inspection.attention import head_statistics, uniform_statistics
from lm_experiments.inspection.gradient_flow import gradient_through_time
from lm_experiments.inspection.positions import cosine_similarities, shift_residual
from lm_experiments.inspection.windows import spread_windows
from lm_experiments.models.transformer import CausalTransformer, sinusoidal_positions
from lm_experiments.run.training import train

VOCAB = Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(18)], np.arange(20, 0, -1))


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG that matplotlib can read back."""
    image = imread(str(path))
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image.shape[1], image.shape[0]


def tiny_transformer(positions: str = "sinusoidal") -> CausalTransformer:
    torch.manual_seed(0)
    model = CausalTransformer(VOCAB, d_model=16, num_layers=2, num_heads=4, block_size=12, dropout=0.1,
                              positions=positions)
    model.init_weights(nn.Linear(16, len(VOCAB)))
    return model.eval()


def test_attention_rows_sum_to_one_the_future_is_zero_and_the_weights_reproduce_the_fused_output():
    model = tiny_transformer()
    ids = torch.randint(0, len(VOCAB), (3, 10), generator=torch.Generator().manual_seed(1))
    maps = model.attention_maps(ids)                                                       # (L, B, H, T, T)
    assert maps.shape == (2, 3, 4, 10, 10)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 3, 4, 10))
    past = torch.ones(10, 10, dtype=torch.bool).tril()
    assert (maps[..., ~past] == 0).all() and (maps[..., past] > 0).all()
    x = model.embed(ids)  # the token embeddings (scaled by sqrt(d) against sinusoids) plus the positions
    for block in model.blocks:
        normed = block.ln_attn(x)
        explicit, weights = block.attn(normed, return_weights=True)
        torch.testing.assert_close(explicit, block.attn(normed), rtol=1e-5, atol=1e-6)   # scaled_dot_product_attention
        q, k, v = block.attn.qkv(normed).view(3, 10, 3, 4, 4).permute(2, 0, 3, 1, 4)
        by_hand = block.attn.proj((weights @ v).transpose(1, 2).reshape(3, 10, 16))
        torch.testing.assert_close(by_hand, explicit)
        x = block(x)
    hidden, _ = model(ids)
    torch.testing.assert_close(model.ln_final(x), hidden)


def test_head_statistics_of_a_previous_token_head_and_a_uniform_head():
    length = 6
    previous = torch.zeros(length, length)
    previous[0, 0] = 1
    previous[torch.arange(1, length), torch.arange(length - 1)] = 1
    uniform = torch.tril(torch.ones(length, length)) / torch.arange(1, length + 1)[:, None]
    maps = torch.stack([previous, uniform])[None, None]                                 # (1, 1, 2, T, T)
    statistics = head_statistics(maps)
    torch.testing.assert_close(statistics.distance[0], torch.tensor([1.0, np.mean([i / 2 for i in range(1, 6)])],
                                                                   dtype=torch.float32))
    entropy = np.mean([math.log(i + 1) for i in range(1, 6)])
    torch.testing.assert_close(statistics.entropy[0], torch.tensor([0.0, entropy], dtype=torch.float32))
    assert uniform_statistics(length) == pytest.approx((float(statistics.distance[0, 1]), entropy))


def test_the_sinusoidal_table_is_the_formula_and_a_shift_is_linear_for_it_but_not_for_a_random_table():
    length, dim = 50, 16
    table = sinusoidal_positions(length, dim).double()
    position = np.arange(length)[:, None]
    angle = position / 10000 ** (np.arange(0, dim, 2) / dim)
    expected = np.zeros((length, dim))
    expected[:, 0::2], expected[:, 1::2] = np.sin(angle), np.cos(angle)
    np.testing.assert_allclose(table.numpy(), expected, atol=1e-5)
    for offset in (1, 5, 17):
        fit = shift_residual(table, offset)
        assert fit.blockwise < 1e-5 and fit.linear < 1e-5
    noise = shift_residual(torch.randn(length, dim, generator=torch.Generator().manual_seed(0)), 5)
    assert noise.blockwise > 0.5 and noise.linear > 0.3
    assert shift_residual(torch.randn(10, dim), 3).linear is None, "fewer positions than dimensions: any table fits"
    similarities = cosine_similarities(table)
    torch.testing.assert_close(similarities.diagonal(), torch.ones(length, dtype=torch.float64))
    unit = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(similarities.numpy(), unit @ unit.T, atol=1e-5)


def unrolled_rnn_gradients(rnn: nn.RNN, embedding: nn.Embedding, output: nn.Linear, inputs, targets):
    """A one-layer tanh RNN written out by hand: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)."""
    h = torch.zeros(inputs.shape[0], rnn.hidden_size)
    states = []
    for step in range(inputs.shape[1]):
        x = embedding(inputs[:, step]).detach()
        h = torch.tanh(x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        states.append(h)
    loss = nn.functional.cross_entropy(output(h), targets, reduction="sum")
    return torch.stack([g.norm(dim=1) for g in reversed(torch.autograd.grad(loss, states))], dim=1)


def test_the_gradient_through_time_is_the_hand_unrolled_rnns():
    torch.manual_seed(0)
    embedding, rnn, output = nn.Embedding(10, 8), nn.RNN(8, 12), nn.Linear(12, 10)  # time-major, as our stacks
    inputs, targets = torch.randint(0, 10, (4, 9)), torch.randint(0, 10, (4,))
    loss_of = lambda hidden, target: nn.functional.cross_entropy(output(hidden), target, reduction="none")  # noqa: E731
    norms = gradient_through_time(embedding, nn.ModuleList([rnn]), loss_of, inputs, targets)
    assert norms.shape == (4, 9)
    torch.testing.assert_close(norms, unrolled_rnn_gradients(rnn, embedding, output, inputs, targets))
    assert all(p.grad is None for p in rnn.parameters()), "the weights are left without gradients"


def copy_task(count: int, length: int, vocab: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows whose last target is their first token: only a memory reaching `length` steps back helps."""
    inputs = torch.randint(2, vocab, (count, length), generator=generator)
    return inputs, inputs[:, 0].clone()


def trained_decay(cell: str, steps: int = 10, updates: int = 80) -> float:
    """log10 of the median ||d loss_T / d h_(T-k)|| at k = steps over k = 0, after training on the copy task."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    vocab, dim = 8, 24
    embedding = nn.Embedding(vocab, dim)
    layers = nn.ModuleList([{"rnn": nn.RNN, "lstm": nn.LSTM}[cell](dim, dim)])
    output = nn.Linear(dim, vocab)
    loss_of = lambda hidden, target: nn.functional.cross_entropy(output(hidden), target, reduction="none")  # noqa: E731
    parameters = [*embedding.parameters(), *layers.parameters(), *output.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=0.01)
    for _ in range(updates):
        inputs, targets = copy_task(32, steps + 1, vocab, generator)
        hidden, _ = layers[0](embedding(inputs.t()))                                     # (T, N, d)
        loss = loss_of(hidden[-1], targets).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
    inputs, targets = copy_task(64, steps + 1, vocab, generator)
    norms = gradient_through_time(embedding, layers, loss_of, inputs, targets).median(dim=0).values
    return float(torch.log10(norms[steps] / norms[0]))


def test_a_tanh_rnns_error_signal_fades_back_through_time_faster_than_an_lstms():
    rnn, lstm = trained_decay("rnn"), trained_decay("lstm")
    assert rnn < lstm - 1.0, (rnn, lstm)   # at least ten times weaker 10 steps back


def test_windows_spread_evenly_and_predict_the_token_after_them():
    ids = np.arange(100)
    inputs, targets = spread_windows(ids, 4, 10)
    assert inputs[:, 0].tolist() == [0, 29, 59, 89] and (targets == inputs[:, -1] + 1).all()
    with pytest.raises(ValueError, match="fewer than a window"):
        spread_windows(np.arange(5), 2, 5)


def inspect(capsys, *argv) -> tuple[int, str, str]:
    status = lm_inspect.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def page_data(path) -> dict:
    import json

    text = path.read_text()
    assert "<script src" not in text and "<link" not in text and "http://" not in text.replace(
        "http://www.w3.org/2000/svg", ""), "the head view opens offline"
    return json.loads(text.split("const data = ", 1)[1].split(";\n", 1)[0])


def assert_logged_picture(run, key: str) -> None:
    """The callback's picture is a TensorBoard image and a media file of the offline W&B run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert key in events.Tags()["images"], events.Tags()["images"]
    assert len(list((run / "wandb").glob(f"offline-run-*/files/media/images/{key}_*.png"))) == 1


def test_a_transformer_run_draws_its_attention_heads_and_positions(make_lm_cfg, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    train(make_lm_cfg("transformer", "trainer.limit_train_batches=4", "model.num_heads=4", "logger=many"))
    run = tmp_path / "run"
    assert png_size(run / "attention.png")[0] > 400, "the end-of-training callback drew the held-out window"
    assert_logged_picture(run, "attention_maps")
    status, out, _ = inspect(capsys, run, "attention", "--text", "the cat sat on the mat")
    assert status == 0, out
    data = page_data(run / "attention.html")
    assert data["tokens"][0] == "<eos>" and len(data["tokens"]) == 7
    weights = np.array(data["attention"])                                                  # (L, H, T, T)
    assert weights.shape == (2, 4, 7, 7)
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-3)
    assert np.triu(weights, 1).max() == 0
    width, height = png_size(run / "attention.png")
    cell = 1.6 + 0.09 * 7
    assert (width, height) == (round((cell * 4 + 1.2) * 100), round((cell * 2 + 0.8) * 100))

    status, out, _ = inspect(capsys, run, "heads", "--windows", 8, "--baseline", "untrained")
    assert status == 0
    rows = [line.split("\t") for line in (run / "heads.tsv").read_text().splitlines()]
    assert rows[0] == ["layer", "head", "trained_distance", "trained_entropy", "untrained_distance",
                       "untrained_entropy"] and len(rows) == 1 + 2 * 4
    entropies = np.array([[float(row[3]), float(row[5])] for row in rows[1:]])
    assert (entropies >= 0).all() and (entropies <= math.log(16) + 1e-6).all()
    assert png_size(run / "heads.png") == (1100, 2 * 340 + 60)

    status, out, _ = inspect(capsys, run, "positions", "--dims", "0,1,8")
    assert status == 0 and png_size(run / "positions.png") == (1800, 550)
    residuals = [float(line.split("pair ")[1].split(";")[0]) for line in out.splitlines() if "pair" in line]
    assert residuals and max(residuals) < 1e-5, out


def test_positions_without_a_run_draws_the_sinusoidal_encoding(tmp_path, capsys):
    status, out, _ = inspect(capsys, "positions", "--dim", 32, "--length", 60, "--output", tmp_path / "pe")
    assert status == 0 and png_size(tmp_path / "pe" / "positions.png") == (1800, 550)
    assert "any d x d matrix" in (tmp_path / "pe" / "positions.txt").read_text()


@pytest.mark.slow
def test_gradient_flow_draws_several_recurrent_runs_on_one_picture(make_lm_cfg, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for cell, logger in (("rnn", "csv"), ("lstm", "many")):
        train(make_lm_cfg(cell, "trainer.limit_train_batches=6", f"logger={logger}", "trainer.log_every_n_steps=1",
                          run=cell))
    assert png_size(tmp_path / "lstm" / "gradient_flow.png") == (1500, 500), "the callback drew both panels"
    assert_logged_picture(tmp_path / "lstm", "gradient_flow")
    status, out, err = inspect(capsys, tmp_path / "rnn", tmp_path / "lstm", "gradient-flow", "--steps", 6,
                               "--windows", 5, "--output", tmp_path / "both")
    assert status == 0, err
    rows = [line.split("\t") for line in (tmp_path / "both" / "gradient_flow.tsv").read_text().splitlines()]
    assert len(rows) == 1 + 7 and len(rows[0]) == 1 + 2 * 3
    assert [row[0] for row in rows[1:]] == [str(k) for k in range(7)]
    assert png_size(tmp_path / "both" / "gradient_flow.png") == (1500, 500), "with the clipping history"


def test_each_command_refuses_a_run_of_the_wrong_kind_in_one_line(make_lm_cfg, tmp_path, capsys):
    train(make_lm_cfg("lstm", "trainer.limit_train_batches=2", "callbacks.gradient_flow=null", run="lstm"))
    train(make_lm_cfg("transformer", "trainer.limit_train_batches=2", "callbacks.attention_maps=null",
                      run="transformer"))
    for model, what, says in (("lstm", "attention", "takes a Transformer run"),
                              ("lstm", "heads", "takes a Transformer run"),
                              ("lstm", "positions", "takes a Transformer run"),
                              ("transformer", "gradient-flow", "takes an RNN, GRU or LSTM"),
                              ("lstm", "layer-weights", "has no ELMo layers to weigh"),
                              ("transformer", "layer-weights", "has no ELMo layers to weigh")):
        status, _, err = inspect(capsys, tmp_path / model, what, "--text", "the cat")
        assert status == 2 and says in err and len(err.strip().splitlines()) == 1, (what, err)
    status, _, err = inspect(capsys, tmp_path / "transformer", "attention")
    assert status == 2 and "--text" in err


def test_a_missing_run_folder_is_one_line(tmp_path, capsys):
    status, _, err = inspect(capsys, tmp_path / "nowhere", "attention", "--text", "the")
    assert status == 2 and err.strip() == f"error: No run folder at {tmp_path / 'nowhere'}."


@pytest.mark.slow
def test_layer_weights_are_the_softmax_of_the_classifiers_saved_mix(make_lm_cfg, make_cfg, tmp_path, capsys):
    from test_sentence_models import polarity_file

    from lm_experiments.run import folder as run_folder

    train(make_lm_cfg("elmo", "trainer.max_epochs=1", "trainer.limit_train_batches=5", run="elmo"))
    data = polarity_file(tmp_path / "polarity.tsv", count=60)
    train(make_cfg("model=bow", "data=labelled_file", f"data.path={data}", "model.embedding=elmo",
                   f"model.pretrained={tmp_path / 'elmo'}", "model.embedding_dim=8", "trainer.max_epochs=1",
                   fast=False, run="classifier"))
    run = tmp_path / "classifier"
    status, out, err = inspect(capsys, run, "layer-weights")
    assert status == 0, err
    state = torch.load(run_folder.checkpoint_path(run), map_location="cpu", weights_only=False)["state_dict"]
    saved = next(v for k, v in state.items() if k.endswith("elmo.mix.weights"))
    gamma = next(v for k, v in state.items() if k.endswith("elmo.mix.gamma"))
    printed = dict(line.split("\t") for line in out.splitlines()[1:] if "\t" in line and not line.startswith("wrote"))
    bars = [float(printed[str(j)]) for j in range(len(saved))]
    np.testing.assert_allclose(bars, torch.softmax(saved, 0).numpy(), atol=1e-4)
    assert not np.allclose(bars, 1 / len(saved), atol=1e-6), "the mix was trained"
    assert float(printed["gamma"]) == pytest.approx(float(gamma), abs=1e-4)
    assert png_size(run / "layer_weights.png") == (600, 400)
