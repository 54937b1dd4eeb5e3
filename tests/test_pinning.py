"""Batches headed for a CUDA device are pinned: every loader asks for it there and only there, and every batch
type pins its tensors (the DataLoader cannot pin a dataclass by itself)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data._utils.pin_memory import pin_memory as loader_pin_memory

from lm_experiments.data.batches import BPTTBlock, TreeBatch, WordWindows
from lm_experiments.data.labelled import Example
from lm_experiments.data.labelled_split import encode_split
from lm_experiments.data.views.base import LoaderSettings, ViewOptions, pins_memory
from lm_experiments.data.views.bidirectional import BiWindowView
from lm_experiments.data.views.language_model import BPTTView, ContextWindowView, TokenWindowView
from lm_experiments.data.views.sentences import LabelledViewOptions, SentenceView
from lm_experiments.data.views.word_windows import WordWindowView
from lm_experiments.data.vocab import Vocabulary

VOCAB = Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(20)], np.arange(22, 0, -1))


@pytest.fixture
def fake_pinning(monkeypatch):
    """Pinning needs a CUDA build; a stand-in marks the copy it returns, so the test sees what was pinned."""
    def pin(tensor, *args, **kwargs):
        copy = tensor.clone()
        copy.pinned = True
        return copy

    monkeypatch.setattr(torch.Tensor, "pin_memory", pin)


@pytest.mark.parametrize("batch", [
    BPTTBlock(torch.arange(6).view(2, 3), torch.arange(1, 7).view(2, 3), starts_fresh=True, n_words=6),
    WordWindows(ids=torch.arange(2, 7), sentence=torch.zeros(5, dtype=torch.long), span=torch.ones(5, dtype=int),
                window=2, n_words=9),
    TreeBatch(words=torch.tensor([3, 4, 0]), is_leaf=torch.tensor([True, True, False]),
              children=torch.tensor([[-1, -1], [-1, -1], [0, 1]]), labels=torch.tensor([-100, -100, 1]),
              roots=torch.tensor([2]), level_sizes=(2, 1)),
], ids=["bptt", "word_windows", "tree"])
def test_the_loaders_pinning_pins_every_tensor_of_a_batch_and_keeps_the_rest(batch, fake_pinning):
    pinned = loader_pin_memory(batch)  # what DataLoader(pin_memory=True) calls on each batch
    assert type(pinned) is type(batch) and pinned is not batch
    for name, value in vars(batch).items():
        if torch.is_tensor(value):
            assert getattr(getattr(pinned, name), "pinned", False), f"{name} was pinned"
            assert torch.equal(getattr(pinned, name), value) and not hasattr(value, "pinned")
        else:
            assert getattr(pinned, name) == value


def test_batches_are_pinned_for_a_cuda_device_only():
    def trainer_on(device: str):
        return SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device(device)))

    assert pins_memory(trainer_on("cuda:0")) and not pins_memory(trainer_on("cpu")) and not pins_memory(None)


def loaders(settings: LoaderSettings) -> dict:
    tokens = np.random.default_rng(0).integers(2, len(VOCAB), 300).astype(np.int32)
    options = ViewOptions(batch_size=4, bptt=5, eval_batch_size=3, batch_words=50)
    views = {"bptt": BPTTView(VOCAB, options), "ngram": ContextWindowView(VOCAB, options, order=3),
             "transformer": TokenWindowView(VOCAB, options, block_size=8), "elmo": BiWindowView(VOCAB, options, 8)}
    made = {f"{name} {split}": getattr(view, f"{split}_loader")(tokens, settings)
            for name, view in views.items() for split in ("train", "eval")}
    made["word2vec train"] = WordWindowView(VOCAB, options).train_loader(tokens, settings)
    examples = [Example(("w1", "w2"), "0"), Example(("w3",), "1")]
    split = encode_split(examples, VOCAB, ["0", "1"], "train")
    sentences = SentenceView(VOCAB, LabelledViewOptions(batch_size=2))
    made["sentences train"] = sentences.train_loader(split, settings)
    made["sentences eval"] = sentences.eval_loader(split, settings)
    return made


def test_every_view_makes_its_loaders_with_the_data_modules_pinning_and_workers():
    for name, loader in loaders(LoaderSettings()).items():
        assert not loader.pin_memory, name
    for name, loader in loaders(LoaderSettings(pin_memory=True, num_workers=1)).items():
        assert loader.pin_memory and loader.num_workers == 1, name
