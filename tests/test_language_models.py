"""Neural language models: perplexity against direct computations, objectives, gradients, runs, generation."""

import csv
import math
import subprocess
import sys

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import NO_CHECKPOINTS, ROOT

from lm_experiments import CONFIG_DIR
from lm_experiments.data.views.base import LoaderSettings, ViewOptions
from lm_experiments.data.views.language_model import BPTTView, ContextWindowView, TokenWindowView
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, user_error_in
from lm_experiments.evaluation.generation import filter_log_probs
from lm_experiments.models.nnlm import NNLM
from lm_experiments.models.recurrent import RecurrentEncoder
from lm_experiments.models.transformer import CausalTransformer
from lm_experiments.objectives.adaptive import AdaptiveSoftmax
from lm_experiments.objectives.full import FullSoftmax
from lm_experiments.objectives.hierarchical import HierarchicalSoftmax
from lm_experiments.objectives.sampled import SampledSoftmax
from lm_experiments.run.training import train
from lm_experiments.schedules import epoch_decay, warmup_cosine
from lm_experiments.tasks.neural_lm import NeuralLMTask, layer_grad_norms

SIZE = 40
VOCAB = Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(SIZE - 2)],
                   np.array([5, 50] + list(range(400, 400 - 10 * (SIZE - 2), -10))))


def tokens(n: int = 150, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, SIZE, n).astype(np.int32)


def full(vocab, dim, **options):
    return FullSoftmax(vocab, dim)


def lm(encoder, objective=full) -> NeuralLMTask:
    return NeuralLMTask(VOCAB, encoder, objective, None)


def validation_ppl(model, loader) -> float:
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_checkpointing=False,
                        enable_model_summary=False)
    return trainer.validate(model, dataloaders=loader, verbose=False)[0]["val/ppl"]


def shifted(stream: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    targets = torch.from_numpy(stream.astype(np.int64))
    return torch.cat([torch.tensor([VOCAB.eos_index]), targets[:-1]]), targets


@torch.no_grad()
def direct_nll(model, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    hidden, _ = model.model(inputs[None])
    return -torch.log_softmax(model.objective.output(hidden[0]), -1).gather(1, targets[:, None])[:, 0]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recurrent_perplexity_is_the_whole_sequence_with_state_carried(cell):
    torch.manual_seed(0)
    model = lm(RecurrentEncoder(VOCAB, cell=cell, embedding_dim=8, hidden_dim=8, init_range=0.5)).eval()
    stream = tokens()
    inputs, targets = shifted(stream)
    expected = math.exp(direct_nll(model, inputs, targets).double().mean())  # one pass, no blocks
    one_column = BPTTView(VOCAB, ViewOptions(eval_batch_size=1, bptt=7)).eval_loader(stream, LoaderSettings())
    assert validation_ppl(model, one_column) == pytest.approx(expected, rel=1e-5)
    # three columns: each a contiguous third read from a fresh state, the padding ignored
    length = math.ceil(len(stream) / 3)
    parts = [direct_nll(model, inputs[i: i + length], targets[i: i + length]) for i in range(0, len(stream), length)]
    three = BPTTView(VOCAB, ViewOptions(eval_batch_size=3, bptt=7)).eval_loader(stream, LoaderSettings())
    assert validation_ppl(model, three) == pytest.approx(math.exp(torch.cat(parts).double().mean()), rel=1e-5)


def test_transformer_sliding_window_perplexity_equals_a_token_by_token_loop():
    torch.manual_seed(0)
    block, stride = 12, 4
    model = lm(CausalTransformer(VOCAB, d_model=16, num_layers=2, num_heads=2, block_size=block,
                                 dropout=0.0)).eval()
    stream = tokens(60)
    inputs, targets = shifted(stream)
    nll = []
    for position in range(len(stream)):
        start = 0 if position < block else (((position - block) // stride) + 1) * stride
        context = inputs[start: position + 1]
        nll.append(direct_nll(model, context, targets[start: position + 1])[-1])
    expected = math.exp(torch.stack(nll).double().mean())
    view = TokenWindowView(VOCAB, ViewOptions(eval_batch_size=3), block_size=block, eval_stride=stride)
    loader = view.eval_loader(stream, LoaderSettings())
    assert validation_ppl(model, loader) == pytest.approx(expected, rel=1e-5)


def test_nnlm_perplexity_reads_the_previous_n_minus_1_tokens():
    torch.manual_seed(0)
    model = lm(NNLM(VOCAB, order=4, embedding_dim=5, hidden_dim=7, direct=True, init_range=0.5)).eval()
    stream = tokens(80)
    padded = torch.cat([torch.full((3,), VOCAB.eos_index), torch.from_numpy(stream.astype(np.int64))])
    with torch.no_grad():
        contexts = padded.unfold(0, 3, 1)[: len(stream)]                       # (N, 3)
        x = model.model.embedding(contexts).flatten(1)
        logits = model.objective.output(torch.cat([torch.tanh(model.model.hidden(x)), x], 1))
        nll = F.cross_entropy(logits, torch.from_numpy(stream.astype(np.int64)))
    loader = ContextWindowView(VOCAB, ViewOptions(eval_batch_size=16), order=4).eval_loader(stream, LoaderSettings())
    assert validation_ppl(model, loader) == pytest.approx(math.exp(float(nll)), rel=1e-5)


@pytest.mark.parametrize("objective", [
    lambda: FullSoftmax(VOCAB, 16), lambda: HierarchicalSoftmax(VOCAB, 16, sparse=False),
    lambda: AdaptiveSoftmax(VOCAB, 16, cutoffs=[10, 25]), lambda: SampledSoftmax(VOCAB, 16, num_sampled=8)])
def test_every_lm_objective_scores_with_a_normalized_distribution(objective):
    torch.manual_seed(0)
    module = objective()
    for parameter in module.parameters():
        torch.nn.init.normal_(parameter)
    hidden, targets = torch.randn(9, 16), torch.randint(0, SIZE, (9,))
    log_probs = module.log_prob(hidden)
    torch.testing.assert_close(torch.logsumexp(log_probs, -1), torch.zeros(9), atol=1e-5, rtol=0)
    torch.testing.assert_close(module.nll(hidden, targets), -log_probs.gather(1, targets[:, None])[:, 0])


def test_sampled_softmax_loss_is_a_corrected_softmax_over_target_and_samples(monkeypatch):
    torch.manual_seed(0)
    module = SampledSoftmax(VOCAB, 4, num_sampled=3)
    torch.nn.init.normal_(module.weight)
    torch.nn.init.normal_(module.bias)
    sampled = torch.tensor([5, 7, 9])
    monkeypatch.setattr(module.noise, "sample", lambda shape, device: sampled)
    hidden, targets = torch.randn(2, 4), torch.tensor([7, 11])  # the first target was also drawn
    q = module.noise.probs.float()
    losses = module(hidden, targets).detach()
    for row in range(2):
        words = [int(targets[row])] + [w for w in sampled.tolist() if w != int(targets[row])]
        with torch.no_grad():
            logits = torch.stack([hidden[row] @ module.weight[w] + module.bias[w] - math.log(3 * q[w]) for w in words])
        assert float(losses[row]) == pytest.approx(float(-torch.log_softmax(logits, 0)[0]), rel=1e-5)


def test_adaptive_cutoffs_come_from_token_coverage():
    module = AdaptiveSoftmax(VOCAB, 16, coverage=[0.5, 0.9])
    mass = np.cumsum(np.sort(VOCAB.counts)[::-1]) / VOCAB.counts.sum()
    assert module.cutoffs == [int(np.searchsorted(mass, 0.5)) + 1, int(np.searchsorted(mass, 0.9)) + 1]
    with pytest.raises(UserError, match="sampler.cutoffs"):
        AdaptiveSoftmax(VOCAB, 16, cutoffs=[30, 10])


def test_layer_gradient_norms_add_up_to_the_clipping_norm():
    torch.manual_seed(0)
    model = lm(RecurrentEncoder(VOCAB, embedding_dim=6, hidden_dim=6))
    hidden, _ = model.model(torch.randint(0, SIZE, (3, 5)))
    model.objective(hidden.reshape(-1, 6), torch.randint(0, SIZE, (15,))).sum().backward()
    norms = layer_grad_norms((name.removeprefix("model."), p) for name, p in model.named_parameters())
    assert {"embedding", "rnn.0", "rnn.1", "objective", "total"} == set(norms)
    expected = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    assert float(norms["total"]) == pytest.approx(float(expected), rel=1e-5)
    layer_one = torch.cat([p.grad.flatten() for n, p in model.named_parameters() if n.startswith("model.rnn.1.")])
    assert float(norms["rnn.1"]) == pytest.approx(float(layer_one.norm()), rel=1e-5)


def test_weight_tying_shares_one_matrix_and_refuses_objectives_without_word_rows():
    model = lm(RecurrentEncoder(VOCAB, embedding_dim=6, hidden_dim=10, tie_weights=True))
    assert model.objective.output.weight is model.model.embedding.weight
    assert model.model.rnn[-1].hidden_size == 6, "the last layer outputs embedding_dim units to match the tied matrix"
    assert sum(1 for _ in model.parameters()) == len({id(p) for p in model.parameters()})
    transformer = lm(CausalTransformer(VOCAB, d_model=8, num_heads=2, num_layers=1, block_size=4))
    assert transformer.objective.output.weight is transformer.model.token_embedding.weight
    with pytest.raises(UserError, match="tie_weights"):
        lm(RecurrentEncoder(VOCAB, embedding_dim=6, hidden_dim=6, tie_weights=True), HierarchicalSoftmax)


def test_top_k_top_p_and_temperature():
    log_probs = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(filter_log_probs(log_probs, top_k=2)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_log_probs(log_probs, top_p=0.75)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_log_probs(log_probs, top_p=0.1)).tolist() == [[True, False, False, False]]
    sharpened = torch.softmax(filter_log_probs(log_probs, temperature=0.5), -1)
    torch.testing.assert_close(sharpened, torch.softmax(2 * log_probs, -1))
    with pytest.raises(UserError, match="temperature"):
        filter_log_probs(log_probs, temperature=0)


def test_schedules():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    decay = epoch_decay(optimizer, total_steps=100, steps_per_epoch=10, decay=0.5, start_epoch=3)
    factors = [decay.lr_lambdas[0](step) for step in (0, 19, 20, 29, 30, 45)]
    assert factors == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]  # epochs 1-2 at lr, then halved each epoch
    cosine = warmup_cosine(optimizer, total_steps=110, warmup_steps=10, final_ratio=0.1)
    assert cosine.lr_lambdas[0](4) == pytest.approx(0.5) and cosine.lr_lambdas[0](10) == pytest.approx(1.0)
    assert cosine.lr_lambdas[0](110) == pytest.approx(0.1)


@pytest.mark.parametrize("model, sampler", [
    ("rnn", "full"), ("gru", "adaptive"), ("lstm", "full"), ("lstm", "sampled"), ("lstm", "hierarchical"),
    ("transformer", "full"), ("transformer", "adaptive"), ("nnlm", "full"), ("nnlm", "hierarchical")])
def test_every_lm_trains_with_its_objectives_and_reports_perplexity(make_lm_cfg, model, sampler):
    extra = ["sampler.num_sampled=8"] if sampler == "sampled" else []
    extra += ["sampler.cutoffs=[8,16]"] if sampler == "adaptive" else []
    extra += ["model.tie_weights=false"] if (model, sampler) == ("transformer", "adaptive") else []
    metrics = train(make_lm_cfg(model, f"sampler={sampler}", "trainer.limit_train_batches=20",
                                *NO_CHECKPOINTS, *extra, run=f"{model}-{sampler}"))
    assert np.isfinite(metrics["val/ppl"]) and np.isfinite(metrics["test/ppl"])
    assert metrics["test/tokens"] > 1000, "the whole test split is scored"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "transformer", "nnlm"])
def test_language_models_learn_the_grammar(make_lm_cfg, model):
    """The tiny grammar leaves about 4 choices per word on average: far below uniform over ~25 words."""
    windows = ["data.batch_size=64"] if model == "nnlm" else []  # one window per example: bigger batches
    metrics = train(make_lm_cfg(model, "trainer.max_epochs=4", *NO_CHECKPOINTS,
                                "optimizer=adam", "optimizer.lr=0.01", "scheduler=constant", *windows, run=model))
    assert metrics["test/ppl"] < 6.0, metrics
    assert metrics["val/ppl_best"] <= metrics["val/ppl"] + 1e-9


def test_lm_run_logs_gradient_norms_and_samples_and_generates(make_lm_cfg, tmp_path):
    train(make_lm_cfg("lstm", "logger=csv", "trainer.log_every_n_steps=1", "trainer.limit_train_batches=10",
                      "trainer.gradient_clip_val=0.5"))
    run = tmp_path / "run"
    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert any(row.get("grad_norm/total") for row in rows) and any(row.get("grad_norm/rnn.1") for row in rows)
    assert any(row.get("val/ppl") for row in rows)
    assert (run / "samples.txt").read_text().startswith("# epoch 0\n")
    result = subprocess.run([sys.executable, "-m", "lm_experiments.cli.generate", str(run), "--prompt", "the cat",
                             "--tokens", "5", "--samples", "2", "--top-k", "3"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    texts = result.stdout.split("---\n")
    assert len(texts) == 3 and all(t.startswith("the cat ") for t in texts[:2])
    missing = subprocess.run([sys.executable, "-m", "lm_experiments.cli.generate", str(tmp_path / "nowhere")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert missing.returncode == 2 and "not a run folder" in missing.stderr


def test_carried_state_is_detached_between_blocks(make_lm_cfg):
    from lm_experiments.run.training import build

    datamodule, model, _ = build(make_lm_cfg("lstm"))
    model.trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    first, second = list(datamodule.train_dataloader())[:2]
    assert first.starts_fresh and not second.starts_fresh
    model._hidden_and_targets(first, "train")
    carried = model._states["train"]
    assert all(not t.requires_grad for layer in carried for t in layer)
    model._hidden_and_targets(second, "train")
    assert model._states["train"] is not carried


@pytest.mark.parametrize("override, message", [
    ("model.cell=transformerish", "model.cell"), ("model.dropout=1.5", "model.dropout"),
    ("data.bptt=0", "data.bptt"), ("sampler=adaptive", "sampler.cutoffs")])
def test_bad_lm_values_raise_one_clear_user_error(make_lm_cfg, override, message):
    extra = ["sampler.cutoffs=[100]"] if override == "sampler=adaptive" else []
    with pytest.raises(Exception) as error:
        train(make_lm_cfg("lstm", override, *extra))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and message in str(cause)


def test_lm_wandb_offline_run_holds_perplexity_gradient_norms_and_samples(make_lm_cfg, tmp_path, monkeypatch):
    from wandb_records import read_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    metrics = train(make_lm_cfg("lstm", "logger=wandb", "trainer.limit_train_batches=10",
                                "trainer.log_every_n_steps=1", *NO_CHECKPOINTS))
    logs = list((tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1
    run = read_run(logs[0])
    assert {"train/loss_step", "val/ppl", "grad_norm/total", "grad_norm/rnn.0"} <= run["history_keys"]
    assert "samples/_type" in run["history_keys"], "the sampled text is logged as a W&B table"
    assert run["summary"]["test/ppl"] == pytest.approx(metrics["test/ppl"])


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml")))
def test_every_preset_composes_and_starts_with_its_command(preset, tmp_path):
    from conftest import compose_config

    cfg = compose_config([f"experiment={preset}"], tmp_path / "run", tmp_path / "cache")
    assert cfg.task_name == preset
    text = (CONFIG_DIR / "experiment" / f"{preset}.yaml").read_text().splitlines()
    commands = (f"# python train.py experiment={preset}", f"# python train.py -m experiment={preset}")  # -m: a sweep
    assert text[0] == "# @package _global_" and text[1].startswith(commands)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_compiled_encoder_trains_to_the_same_numbers_and_checkpoint_names(make_lm_cfg, model):
    """task.compile=true goes through torch.compile (aot_eager here: the graph capture without C++ code
    generation) and must not change the arithmetic or the parameter names a checkpoint holds."""
    from lm_experiments.run.training import build

    common = ["trainer.limit_train_batches=6", *NO_CHECKPOINTS, "trainer.max_epochs=1"]
    plain = train(make_lm_cfg(model, *common, run="plain"))
    compiled = train(make_lm_cfg(model, *common, "task.compile=true", "task.compile_backend=aot_eager",
                                 run="compiled"))
    assert compiled["val/ppl"] == pytest.approx(plain["val/ppl"], rel=1e-4)
    assert compiled["test/ppl"] == pytest.approx(plain["test/ppl"], rel=1e-4)
    _, task, _ = build(make_lm_cfg(model, "task.compile=true", "task.compile_backend=aot_eager", run="names"))
    assert not any("_orig_mod" in name for name in task.state_dict())


def test_unknown_compile_backend_is_one_clear_error(make_lm_cfg):
    with pytest.raises(Exception) as error:
        train(make_lm_cfg("lstm", "task.compile=true", "task.compile_backend=inductorr"))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and "task.compile_backend='inductorr'" in str(cause)


def test_bf16_mixed_precision_trains_a_language_model(make_lm_cfg):
    """trainer.precision=bf16-mixed (autocast; on a CPU here) keeps the loss and perplexity finite and
    close to the float32 run's after a few steps."""
    common = ["trainer.limit_train_batches=6", *NO_CHECKPOINTS, "trainer.max_epochs=1"]
    full_precision = train(make_lm_cfg("lstm", *common, run="fp32"))
    mixed = train(make_lm_cfg("lstm", *common, "trainer.precision=bf16-mixed", run="bf16"))
    assert np.isfinite(mixed["test/ppl"])
    assert mixed["test/ppl"] == pytest.approx(full_precision["test/ppl"], rel=0.05)


def test_held_out_splits_come_from_the_end_of_a_single_file():
    from lm_experiments.data.datamodule import held_out_splits

    stream = np.arange(100, dtype=np.int32)
    splits = held_out_splits({"train": stream}, 0.1)
    assert splits["train"].tolist() == list(range(80))
    assert splits["valid"].tolist() == list(range(80, 90)) and splits["test"].tolist() == list(range(90, 100))
    only_test = held_out_splits({"train": stream, "valid": stream[:5]}, 0.1)
    assert only_test["train"].tolist() == list(range(90)) and only_test["valid"].tolist() == list(range(5))
    assert only_test["test"].tolist() == list(range(90, 100))
    assert held_out_splits({"train": stream}, 0.0) == {"train": stream}
    with pytest.raises(UserError, match="data.holdout=0.01"):
        held_out_splits({"train": stream}, 0.01)


@pytest.mark.parametrize("model", ["lstm", "ngram"])
def test_a_language_model_on_one_file_scores_a_held_out_tail(make_lm_cfg, lm_corpus, model):
    """`model=lstm data=file data.path=my_text.txt` (no valid/test files): the plateau schedule has a
    val/loss to watch and the run reports validation and test perplexity on the file's last 5% each."""
    metrics = train(make_lm_cfg(model, f"data.path={lm_corpus / 'train.txt'}", "trainer.max_epochs=2",
                                "trainer.limit_train_batches=5", *NO_CHECKPOINTS, run=model))
    assert np.isfinite(metrics["val/ppl"]) and np.isfinite(metrics["test/ppl"])
    assert metrics["test/tokens"] == pytest.approx(metrics["val/tokens"], abs=1)


def test_plateau_schedule_without_a_validation_split_is_one_clear_error(make_lm_cfg, lm_corpus):
    with pytest.raises(Exception) as error:
        train(make_lm_cfg("lstm", f"data.path={lm_corpus / 'train.txt'}", "data.holdout=0",
                          "scheduler=plateau"))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and "scheduler=plateau" in str(cause) and "data.holdout" in str(cause)


def test_clipping_by_norm_measures_the_norm_once_and_clips_as_torch_does(make_lm_cfg):
    from lm_experiments.run.training import build

    datamodule, task, trainer = build(make_lm_cfg("lstm"))
    task.trainer = trainer
    batch = next(iter(datamodule.train_dataloader()))
    hidden, targets = task._hidden_and_targets(batch, "train")
    task.objective(hidden, targets).mean().backward()
    copies = [torch.nn.Parameter(p.detach().clone()) for p in task.parameters() if p.grad is not None]
    for copy, p in zip(copies, [p for p in task.parameters() if p.grad is not None]):
        copy.grad = p.grad.clone()
    expected_norm = torch.nn.utils.clip_grad_norm_(copies, 0.05)
    task.configure_gradient_clipping(None, gradient_clip_val=0.05, gradient_clip_algorithm=None)
    torch.testing.assert_close(task.step_grad_norm, expected_norm)
    assert float(task.step_grad_norm) > 0.05, "the test clips"
    for copy, p in zip(copies, [p for p in task.parameters() if p.grad is not None]):
        torch.testing.assert_close(p.grad, copy.grad)


def test_plateau_schedule_with_no_validation_batches_is_one_clear_error(make_lm_cfg, lm_corpus):
    with pytest.raises(Exception) as error:
        train(make_lm_cfg("lstm", f"data.path={lm_corpus / 'train.txt'}", "trainer.limit_val_batches=0",
                          "scheduler=plateau"))
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and "trainer.limit_val_batches=0 computes no val/loss" in str(cause)
