"""Word2vec's examples: skip-gram pairs and CBOW contexts, expanded on the device from chunks of token ids.

The loader ships plain id chunks (cheap to move); the view expands them into
examples after the transfer, with whole-tensor operations only, so the expansion
runs as fast on a GPU as the model does.
"""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lm_experiments.data.array_files import release
from lm_experiments.data.batches import ContextBatch, PairBatch, TokenChunk, WordWindows
from lm_experiments.data.views.base import LoaderSettings, View, ViewOptions, batches_loader
from lm_experiments.data.vocab import Vocabulary


def keep_probabilities(vocab: Vocabulary, sample: float) -> torch.Tensor:
    """word2vec's frequent-word subsampling: P(keep w) = (sqrt(f/t) + 1) * t/f, capped at 1.

    `t = sample * total` (or `sample` itself when > 1, an absolute count), exactly as
    gensim computes it; specials get 0 so they never become examples.
    """
    counts = vocab.counts.astype(np.float64).copy()
    counts[: vocab.num_specials] = 0
    keep = np.ones_like(counts)
    if sample > 0:
        threshold = sample if sample > 1.0 else sample * counts.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)
    keep[: vocab.num_specials] = 0.0
    return torch.from_numpy(np.nan_to_num(keep, nan=0.0)).float()


class TokenChunks(Dataset):
    """Consecutive chunks of `chunk_tokens` ids from a memory-mapped stream; item i is chunk i."""

    def __init__(self, stream, chunk_tokens: int):
        self.stream = stream
        self.chunk_tokens = chunk_tokens

    def __len__(self) -> int:
        return -(-len(self.stream) // self.chunk_tokens)

    def __getitem__(self, index: int) -> TokenChunk:
        start = index * self.chunk_tokens
        chunk = self.stream[start: start + self.chunk_tokens].astype("int64")
        release(self.stream)  # a pass over a memory-mapped corpus leaves only its chunk resident
        return TokenChunk(torch.from_numpy(chunk))


class WordWindowView(View):
    """Chunks of `data.batch_words` ids, subsampled (`data.sample`) and given their dynamic windows
    (`data.window`) on the device: `WordWindows`, from which each model reads its examples.

    As in word2vec: discarded words (subsampled, out of vocabulary) are removed
    *before* windows are formed; each center draws its window uniformly from
    1..`window` (gensim's `shrink_windows`; `data.shrink_windows=false` gives every center
    the whole window); windows never cross an `<eos>` (a line or document end).
    """

    batch_type = WordWindows

    def __init__(self, vocab: Vocabulary, options: ViewOptions):
        super().__init__(vocab, options)
        self.window = options.window
        self.shrink_windows = options.shrink_windows
        self.keep_prob = keep_probabilities(vocab, options.sample)
        self.eos_index = vocab.eos_index
        self.seed = options.seed
        self._generators: dict[str, torch.Generator] = {}

    def train_loader(self, stream, settings: LoaderSettings) -> DataLoader:
        return batches_loader(TokenChunks(stream, self.options.batch_words), settings)

    def _rng(self, device: torch.device) -> torch.Generator:
        """One seeded generator per device, so a run draws the same examples every time."""
        if str(device) not in self._generators:
            self._generators[str(device)] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[str(device)]

    def random_state(self) -> dict:
        return {device: generator.get_state() for device, generator in self._generators.items()}

    def load_random_state(self, state: dict) -> None:
        for device, saved in state.items():
            self._rng(torch.device(device)).set_state(saved)

    def kept_tokens(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Drop specials and subsampled words. Returns `(ids, sentence)`, both (n,)."""
        rng = self._rng(ids.device)
        if self.keep_prob.device != ids.device:
            self.keep_prob = self.keep_prob.to(ids.device)
        sentence = torch.cumsum(ids == self.eos_index, 0)
        keep = torch.rand(ids.shape, generator=rng, device=ids.device) < self.keep_prob[ids]
        return ids[keep], sentence[keep]

    def on_device(self, chunk: TokenChunk) -> WordWindows:
        ids, sentence = self.kept_tokens(chunk.ids.long())  # (n,)
        if self.shrink_windows:
            span = torch.randint(1, self.window + 1, ids.shape, generator=self._rng(ids.device), device=ids.device)
        else:
            span = torch.full_like(ids, self.window)
        return WordWindows(ids=ids, sentence=sentence, span=span, window=self.window, n_words=chunk.n_words)


def skipgram_pairs(windows: WordWindows) -> PairBatch:
    """Every (center, context) pair of the windows: a loop over offsets, not over pairs."""
    ids, sentence, span = windows.ids, windows.sentence, windows.span
    centers, contexts = [], []
    for offset in range(1, min(windows.window, max(ids.numel() - 1, 0)) + 1):
        same = sentence[:-offset] == sentence[offset:]
        right = same & (span[:-offset] >= offset)  # center i, context i + offset
        left = same & (span[offset:] >= offset)    # center i + offset, context i
        centers += [ids[:-offset][right], ids[offset:][left]]
        contexts += [ids[offset:][right], ids[:-offset][left]]
    empty = ids.new_zeros(0)
    return PairBatch(centers=torch.cat(centers) if centers else empty,     # (P,)
                     contexts=torch.cat(contexts) if contexts else empty,  # (P,)
                     n_words=windows.n_words)


def cbow_contexts(windows: WordWindows) -> ContextBatch:
    """Each center with its whole window, padded to 2 x window with a mask; centers with no context dropped."""
    ids, sentence, span, window = windows.ids, windows.sentence, windows.span, windows.window
    n = ids.numel()
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)]).to(ids.device)
    position = torch.arange(n, device=ids.device)[:, None] + offsets[None, :]     # (n, 2W)
    clamped = position.clamp(0, max(n - 1, 0))
    mask = ((position >= 0) & (position < n) & (offsets.abs()[None, :] <= span[:, None])
            & (sentence[clamped] == sentence[:, None])) if n else position.bool()
    has_context = mask.any(1)
    return ContextBatch(centers=ids[has_context],                                                # (P,)
                        contexts=ids[clamped][has_context] if n else ids.new_zeros(0, 2 * window),  # (P, 2W)
                        mask=mask[has_context],                                                  # (P, 2W)
                        n_words=windows.n_words)
