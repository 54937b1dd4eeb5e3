"""Language-model views: every token scored once, blocks in order, windows with the promised context."""

import numpy as np
import torch

from lm_experiments.data.views.base import LoaderSettings, ViewOptions
from lm_experiments.data.views.language_model import (
    IGNORE,
    BPTTView,
    ContextWindowView,
    TokenWindowView,
    sliding_windows,
)
from lm_experiments.data.vocab import Vocabulary

VOCAB = Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(50)], np.ones(52, dtype=np.int64))


def stream(n: int = 203, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 52, n).astype(np.int32)


WHOLE = LoaderSettings()


def bptt_view(**options) -> BPTTView:
    return BPTTView(VOCAB, ViewOptions(**options))


def context_view(order: int, **options) -> ContextWindowView:
    return ContextWindowView(VOCAB, ViewOptions(**options), order=order)


def window_view(block_size: int, eval_stride: int | None = None, **options) -> TokenWindowView:
    return TokenWindowView(VOCAB, ViewOptions(**options), block_size=block_size, eval_stride=eval_stride)


def scored_pairs(loader) -> list[tuple[int, int]]:
    """(input just before the target, target) for every scored token, in reading order per column."""
    pairs = []
    for batch in loader:
        inputs, targets = batch.inputs, batch.targets
        keep = targets != IGNORE
        if inputs.dim() == targets.dim():
            pairs += list(zip(inputs[keep].tolist(), targets[keep].tolist()))
        else:  # n-gram windows: the last context word precedes the target
            pairs += list(zip(inputs[:, -1][keep].tolist(), targets[keep].tolist()))
    return pairs


def expected_pairs(tokens: np.ndarray) -> list[tuple[int, int]]:
    previous = [VOCAB.eos_index] + tokens[:-1].tolist()
    return list(zip(previous, tokens.tolist()))


def test_bptt_training_blocks_are_the_pytorch_example_batchify():
    tokens = stream()
    view = bptt_view(batch_size=4, bptt=7)
    blocks = list(view.train_loader(tokens, WHOLE))
    length = (len(tokens) - 1) // 4
    data = torch.from_numpy(tokens.astype(np.int64))
    inputs = torch.cat([b.inputs for b in blocks], 1)
    targets = torch.cat([b.targets for b in blocks], 1)
    assert torch.equal(inputs, data[:-1][: 4 * length].view(4, length))
    assert torch.equal(targets, data[1:][: 4 * length].view(4, length))
    assert [b.starts_fresh for b in blocks] == [True] + [False] * (len(blocks) - 1)
    assert all(b.inputs.shape[1] <= 7 for b in blocks)


def test_every_eval_view_scores_each_token_exactly_once():
    tokens = stream()
    views = [bptt_view(eval_batch_size=3, bptt=5), context_view(4, eval_batch_size=16),
             window_view(16, 5, eval_batch_size=4)]
    for view in views:
        pairs = scored_pairs(view.eval_loader(tokens, WHOLE))
        assert sorted(pairs) == sorted(expected_pairs(tokens)), type(view).__name__


def test_sliding_windows_give_each_scored_token_the_promised_context():
    count, block, stride = 100, 16, 6
    positions = torch.arange(count)
    inputs, targets = sliding_windows(positions, positions + 1000, block, stride, pad_id=-1)
    scored = targets != IGNORE
    assert sorted((targets[scored] - 1000).tolist()) == list(range(count))
    for row in range(1, inputs.shape[0]):  # after the first window, at least block - stride tokens before
        first_scored = int(scored[row].nonzero()[0])
        assert first_scored >= block - stride


def test_ngram_windows_pad_the_start_with_eos():
    tokens = stream(20)
    batch = next(iter(context_view(3, eval_batch_size=20).eval_loader(tokens, WHOLE)))
    assert batch.inputs[0].tolist() == [VOCAB.eos_index, VOCAB.eos_index]
    assert batch.inputs[2].tolist() == tokens[:2].tolist() and batch.targets[2] == tokens[2]


def test_transformer_training_windows_are_random_and_about_one_pass():
    tokens = stream(1000)
    torch.manual_seed(0)
    loader = window_view(20, batch_size=5).train_loader(tokens, WHOLE)
    batches = list(loader)
    assert sum(b.inputs.shape[0] for b in batches) == 1000 // 20
    first = batches[0]
    assert torch.equal(first.inputs[:, 1:], first.targets[:, :-1])
