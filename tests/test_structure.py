"""How a run is put together: every model x corpus pair composes into a task whose data view makes the batches
it trains on; mismatched choices are refused with one message; tasks declare what they are; the updater seam."""

from functools import partial

import lightning as L
import numpy as np
import pytest
import torch
from conftest import CONF, compose_config
from torch.utils.data import DataLoader

from lm_experiments.callbacks.attention_maps import AttentionMaps
from lm_experiments.callbacks.embedding_eval import EmbeddingEvaluation
from lm_experiments.callbacks.gradient_flow import GradientFlow
from lm_experiments.callbacks.text_samples import TextSamples
from lm_experiments.callbacks.throughput import WordsPerSecond
from lm_experiments.data.batches import WordWindows
from lm_experiments.data.views.word_windows import skipgram_pairs
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, user_error_in
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.objectives.full import FullSoftmax
from lm_experiments.run.training import build
from lm_experiments.tasks.base import Provides
from lm_experiments.tasks.embedding import WordEmbeddingTask
from lm_experiments.updaters.base import AutogradSGD, Updater

MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
CORPORA = sorted(p.stem for p in (CONF / "data").glob("*.yaml"))

# What each model's config makes of a run: its task, the metric a sweeper optimises, what the task provides.
WORD_VECTORS = {Provides.WORD_VECTORS, Provides.THROUGHPUT}
LANGUAGE_MODEL = {Provides.NEXT_TOKEN, Provides.THROUGHPUT}
EXPECTED = {
    "skipgram": ("WordEmbeddingTask", "val/analogy", WORD_VECTORS),
    "cbow": ("WordEmbeddingTask", "val/analogy", WORD_VECTORS),
    "fasttext": ("WordEmbeddingTask", "val/analogy", WORD_VECTORS | {Provides.UNSEEN_WORD_VECTORS}),
    "fasttext_cbow": ("WordEmbeddingTask", "val/analogy", WORD_VECTORS | {Provides.UNSEEN_WORD_VECTORS}),
    "glove": ("CountVectorsTask", "val/analogy", {Provides.WORD_VECTORS}),
    "svd": ("CountVectorsTask", "val/analogy", {Provides.WORD_VECTORS}),
    "ngram": ("NGramTask", "val/ppl", LANGUAGE_MODEL),
    "nnlm": ("NeuralLMTask", "val/ppl", LANGUAGE_MODEL),
    "rnn": ("NeuralLMTask", "val/ppl", LANGUAGE_MODEL | {Provides.GRADIENT_THROUGH_TIME}),
    "gru": ("NeuralLMTask", "val/ppl", LANGUAGE_MODEL | {Provides.GRADIENT_THROUGH_TIME}),
    "lstm": ("NeuralLMTask", "val/ppl", LANGUAGE_MODEL | {Provides.GRADIENT_THROUGH_TIME}),
    "transformer": ("NeuralLMTask", "val/ppl", LANGUAGE_MODEL | {Provides.ATTENTION_MAPS}),
    "bow": ("ClassificationTask", "val/acc", set()),
    "textcnn": ("ClassificationTask", "val/acc", set()),
    "birnn": ("ClassificationTask", "val/acc", set()),
    "treelstm": ("ClassificationTask", "val/acc", set()),
    "elmo": ("BidirectionalLMTask", "val/ppl", {Provides.THROUGHPUT}),
}
CLASSIFIERS = {"bow", "textcnn", "birnn", "treelstm"}
LABELLED = {"mr", "sst", "labelled_file"}
SMALL = {"elmo": ["model.projection_dim=8", "model.hidden_dim=16", "model.filters=[[1,4],[2,4]]"],
         "fasttext": ["model.bucket=1000"], "fasttext_cbow": ["model.bucket=1000"],
         "transformer": ["model.d_model=16", "model.num_heads=2", "model.block_size=16", "model.eval_stride=8"]}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """Local files in every corpus's format (the downloads are never touched) and one shared token cache."""
    from lm_experiments.data.corpora import gensim_test_file

    folder = tmp_path_factory.mktemp("corpora")
    words = "".join(ch if ch.isalpha() or ch.isspace() else " "
                    for ch in gensim_test_file("lee_background.cor").read_text(encoding="latin-1").lower()).split()
    (folder / "text8.txt").write_text(" " + " ".join(words))
    lines = [" ".join(words[i: i + 20]) for i in range(0, len(words), 20)]
    for split, part in (("train", lines[:-200]), ("valid", lines[-200:-100]), ("test", lines[-100:])):
        (folder / f"{split}.txt").write_text("\n".join(part) + "\n")
    # labelled sets: MR's two files, SST-form trees, a label<TAB>text file
    (folder / "mr").mkdir()
    (folder / "mr" / "rt-polarity.pos").write_text("\n".join(lines[:60:2]) + "\n")
    (folder / "mr" / "rt-polarity.neg").write_text("\n".join(lines[1:60:2]) + "\n")
    (folder / "sst").mkdir()
    for split, start in (("train", 0), ("dev", 40), ("test", 50)):
        trees = [f"({i % 5} ({i % 5} {a}) ({(i + 1) % 5} ({i % 5} {b}) (2 {c})))"
                 for i, (a, b, c) in enumerate(zip(*[iter(words[start * 3: start * 3 + 30])] * 3))]
        (folder / "sst" / f"{split}.txt").write_text("\n".join(trees * 2) + "\n")
    (folder / "labelled.tsv").write_text("".join(f"{'ab'[i % 2]}\t{line}\n" for i, line in enumerate(lines[:40])))
    return folder


def data_path(data: str, corpora) -> list[str]:
    if data == "lee":
        return []
    where = {"text8": "text8.txt", "file": "text8.txt", "mr": "mr", "sst": "sst", "labelled_file": "labelled.tsv"}
    return [f"data.path={corpora / where[data] if data in where else corpora}"]


def test_every_model_and_corpus_config_is_covered():
    assert sorted(EXPECTED) == MODELS, "a new model config needs its row in EXPECTED"
    assert {"lee", "text8", "ptb", "wikitext2", "brown", "file"} | LABELLED <= set(CORPORA)


@pytest.mark.parametrize("data", CORPORA)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_and_corpus_compose_into_a_task_that_reads_its_views_batches(model, data, corpora, tmp_path):
    cfg = compose_config([f"model={model}", f"data={data}", *data_path(data, corpora), *SMALL.get(model, []),
                          "logger=none", "trainer.accelerator=cpu", "callbacks.progress_bar=null"],
                         tmp_path / "run", corpora.parent / "cache")
    if (model in CLASSIFIERS) != (data in LABELLED):  # a classifier needs labelled sentences, the others text
        with pytest.raises(Exception) as error:
            build(cfg)
        expected = "pick data=mr, sst or labelled_file" if model in CLASSIFIERS else \
            "holds labelled sentences, but this model reads running text"
        assert expected in str(user_error_in(error.value))
        return
    if model == "treelstm" and data != "sst":
        with pytest.raises(UserError, match=f"a tree encoder \\(model=treelstm\\) needs parse trees, and data={data} "
                                            f"has none"):
            build(cfg)
        return
    datamodule, task, trainer = build(cfg)
    task_name, metric, provides = EXPECTED[model]
    assert type(task).__name__ == task_name and task.optimized_metric == metric and task.provides == provides
    assert task.update_rule and task.metrics[0].startswith("val/")
    batch = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    assert isinstance(batch, task.batch_types), (type(batch), task.batch_types)
    # only the callbacks whose needs the task meets are handed to the trainer
    kinds = {type(c) for c in trainer.callbacks}
    assert (EmbeddingEvaluation in kinds) == (Provides.WORD_VECTORS in provides)
    assert (TextSamples in kinds) == (Provides.NEXT_TOKEN in provides)
    assert (WordsPerSecond in kinds) == (Provides.THROUGHPUT in provides)
    assert (AttentionMaps in kinds) == (model == "transformer")
    assert (GradientFlow in kinds) == (model in {"rnn", "gru", "lstm"})
    # language models score held-out text (the corpus's, or data.holdout of a single file's tail), classifiers
    # labelled sentences; embeddings evaluate in callbacks
    assert datamodule.has_split("valid") == (Provides.NEXT_TOKEN in provides or model in CLASSIFIERS | {"elmo"})


@pytest.mark.parametrize("overrides, message", [
    (["model=lstm", "data/view=word_windows"], "RecurrentEncoder (NeuralLMTask) trains on BPTTBlock batches, "
                                               "but the data view WordWindowView makes WordWindows batches"),
    (["model=skipgram", "data/view=bptt"], "trains on WordWindows batches, but the data view BPTTView makes BPTTBlock"),
    (["model=skipgram", "task=lm"], "NeuralLMTask trains a language-model encoder (model=nnlm, rnn, gru, lstm, "
                                    "transformer); model=SkipGram is not one"),
    (["model=lstm", "task=embedding"], "WordEmbeddingTask trains a word-embedding encoder"),
    (["model=lstm", "sampler=none"], "RecurrentEncoder needs an output layer over the vocabulary: pick one with "
                                     "sampler=negative"),
    (["model=glove", "sampler=negative"], "GloVe has no output layer over the vocabulary: drop the sampler= choice"),
    (["model=ngram", "optimizer=sgd"], "is not trained by a gradient optimizer: drop the optimizer= choice"),
    (["+model.vector_sise=50"], "model has no option 'vector_sise'; SkipGram takes vector_size, embedder"),
    (["+data.view.windw=3"], "data.view has no option 'windw'; WordWindowView takes none. The options every view "
                             "may read are data.window, data.shrink_windows, data.sample, data.batch_words"),
    (["+task.updater.steps=3"], "task.updater has no option 'steps'; Auto takes threads, loss_every, hot_rows, "
                                "examples_per_step"),
    (["+sampler.negatives=3"], "sampler has no option 'negatives'"),
    (["task.updater.examples_per_step=0"], "task.updater.examples_per_step must be a positive integer"),
    (["model=svd", "data.view.weighting=inverse"], "data.view.weighting must be one of harmonic, none"),
])
def test_mismatched_choices_are_refused_with_one_message(tmp_path, overrides, message):
    cfg = compose_config(["trainer.accelerator=cpu", "logger=none", *overrides], tmp_path / "run", tmp_path / "cache")
    with pytest.raises(Exception) as error:
        build(cfg)
    cause = user_error_in(error.value)
    assert isinstance(cause, UserError) and message in str(cause), str(error.value)[-500:]


VOCAB = Vocabulary(["<unk>", "<eos>", "a", "b", "c", "d", "e"], np.array([0, 1, 9, 8, 7, 6, 5]))


def full(vocab, dim, sparse):
    return FullSoftmax(vocab, dim, sparse)


def fit_one_batch(task, batch) -> None:
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, train_dataloaders=DataLoader([batch], batch_size=None))


def test_autograd_updater_takes_shuffled_sgd_steps_on_the_summed_loss(monkeypatch):
    """The reference a fused kernel is tested against: ceil(P / k) steps in a random order, each moving
    the weights by lr x the gradient of its examples' summed loss."""
    torch.manual_seed(0)
    task = WordEmbeddingTask(VOCAB, SkipGram(VOCAB, vector_size=4), full, partial(torch.optim.SGD, lr=0.5),
                             updater=AutogradSGD(examples_per_step=3))
    torch.nn.init.normal_(task.objective.output.weight)
    windows = WordWindows(ids=torch.tensor([2, 3, 4, 5, 6, 2]), sentence=torch.tensor([0, 0, 0, 0, 1, 1]),
                          span=torch.tensor([1, 2, 1, 1, 1, 1]), window=2, n_words=9)
    batch = skipgram_pairs(windows)  # by hand: within each word's span, never across the sentence end at 5 | 6
    assert sorted(zip(batch.centers.tolist(), batch.contexts.tolist())) == [
        (2, 3), (2, 6), (3, 2), (3, 4), (3, 5), (4, 3), (4, 5), (5, 4), (6, 2)]
    inputs = task.model.embedder.word_vectors().detach().clone()
    outputs = task.objective.output.weight.detach().clone()
    bias = task.objective.output.bias.detach().clone()
    orders, randperm = [], torch.randperm
    monkeypatch.setattr(torch, "randperm", lambda *args, **kwargs: orders.append(randperm(*args, **kwargs))
                        or orders[-1])
    fit_one_batch(task, windows)
    assert len(orders) == 1 and sorted(orders[0].tolist()) == list(range(batch.size))
    for step in orders[0].split(3):  # by hand, with plain tensors: 3 + 3 + 3 examples, the context predicting
        h = inputs[batch.contexts[step]].requires_grad_()
        w, b = outputs.clone().requires_grad_(), bias.clone().requires_grad_()
        torch.nn.functional.cross_entropy(h @ w.T + b, batch.centers[step], reduction="sum").backward()
        inputs.index_add_(0, batch.contexts[step], -0.5 * h.grad)
        outputs -= 0.5 * w.grad
        bias -= 0.5 * b.grad
    torch.testing.assert_close(task.model.embedder.word_vectors().detach(), inputs)
    torch.testing.assert_close(task.objective.output.weight.detach(), outputs)
    torch.testing.assert_close(task.objective.output.bias.detach(), bias)


class CountingUpdater(Updater):
    """Stands in for a fused kernel: the task hands it every batch and logs what it returns."""

    def __init__(self):
        self.batches = []

    def train_batch(self, task, batch):
        self.batches.append(batch)
        return torch.tensor(6.0), 3


def test_the_updater_seam_takes_any_updater():
    updater = CountingUpdater()
    task = WordEmbeddingTask(VOCAB, SkipGram(VOCAB, vector_size=4), full, partial(torch.optim.SGD, lr=0.5),
                             updater=updater)
    batch = WordWindows(ids=torch.tensor([2, 3]), sentence=torch.tensor([0, 0]), span=torch.tensor([1, 1]),
                        window=1, n_words=2)
    fit_one_batch(task, batch)
    assert len(updater.batches) == 1 and torch.equal(updater.batches[0].ids, batch.ids)


def test_every_task_declares_in_one_form():
    """Declarations are made by `declare(...)` in `__init__` (some follow from the model), never as class
    attributes beside it; `declare` refuses a name that is not a declaration."""
    import importlib
    import pkgutil

    import lm_experiments.tasks
    from lm_experiments.tasks.base import DECLARED, Task

    for info in pkgutil.iter_modules(lm_experiments.tasks.__path__):
        importlib.import_module(f"lm_experiments.tasks.{info.name}")
    tasks = set()
    pending = [Task]
    while pending:
        cls = pending.pop()
        tasks.add(cls)
        pending += cls.__subclasses__()
    assert len(tasks) >= 8
    for cls in tasks:
        assert not set(vars(cls)) & set(DECLARED), f"{cls.__name__} declares on the class"
    task = next(cls for cls in tasks if cls.__name__ == "CountVectorsTask")
    with pytest.raises(TypeError, match="not exports"):
        Task.declare(task.__new__(task), exports=("vectors",))


def test_words_per_second_leaves_the_validation_inside_an_epoch_out(monkeypatch):
    from types import SimpleNamespace

    import lm_experiments.callbacks.throughput as throughput

    clock = [100.0]
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: clock[0])
    logged = {}
    module = SimpleNamespace(device=torch.device("cpu"), log=lambda name, value, **_: logged.__setitem__(name, value))
    trainer = SimpleNamespace(sanity_checking=True, world_size=1, log_every_n_steps=1)
    callback = WordsPerSecond()
    callback.on_validation_start(trainer, module)  # the sanity check, before any epoch: nothing to leave out
    clock[0] += 7.0
    callback.on_validation_end(trainer, module)
    trainer.sanity_checking = False
    callback.on_train_epoch_start(trainer, module)
    for _ in range(4):  # 4 batches of 500 words, 1 s each
        clock[0] += 1.0
        callback.on_train_batch_end(trainer, module, None, SimpleNamespace(n_words=500), 0)
    assert logged["train/words_per_sec"] == pytest.approx(500.0)
    callback.on_validation_start(trainer, module)  # the epoch's validation, before on_train_epoch_end
    clock[0] += 30.0
    callback.on_validation_end(trainer, module)
    callback.on_train_epoch_end(trainer, module)
    assert logged["train/words_per_sec_mean"] == pytest.approx(500.0), "2,000 words in 4 s of training"
