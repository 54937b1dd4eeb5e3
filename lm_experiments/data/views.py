"""Views turn a chunk of token ids into training examples, on whatever device the chunk is on.

The loader ships plain id chunks (cheap to move); the view expands them into
pairs after the transfer, with whole-tensor operations only, so the expansion
runs as fast on a GPU as the model does.
"""

import numpy as np
import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int


def keep_probabilities(vocab: Vocabulary, sample: float) -> torch.Tensor:
    """word2vec's frequent-word subsampling: P(keep w) = (sqrt(f/t) + 1) * t/f, capped at 1.

    `t = sample * total` (or `sample` itself when > 1, an absolute count), exactly as
    gensim computes it; specials get 0 so they never become examples.
    """
    if not (isinstance(sample, int | float) and sample >= 0):
        raise UserError(f"data.sample must be a number >= 0 (0 turns subsampling off), got {sample!r}.")
    counts = vocab.counts.astype(np.float64).copy()
    counts[: vocab.num_specials] = 0
    keep = np.ones_like(counts)
    if sample > 0:
        threshold = sample if sample > 1.0 else sample * counts.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)
    keep[: vocab.num_specials] = 0.0
    return torch.from_numpy(np.nan_to_num(keep, nan=0.0)).float()


class SkipGramView:
    """(center, context) pairs within a dynamic window, after subsampling, within sentences.

    As in word2vec: discarded words (subsampled, out of vocabulary) are removed
    *before* windows are formed; each center draws its window uniformly from
    1..`window`; windows never cross an `<eos>` (a line or document end).
    """

    def __init__(self, vocab: Vocabulary, window: int = 5, sample: float = 1e-3, seed: int = 0):
        self.window = positive_int(window, "data.window")
        self.keep_prob = keep_probabilities(vocab, sample)
        self.eos_index = vocab.eos_index
        self.seed = seed
        self._generators: dict[str, torch.Generator] = {}

    def _rng(self, device: torch.device) -> torch.Generator:
        """One seeded generator per device, so a run draws the same examples every time."""
        if str(device) not in self._generators:
            self._generators[str(device)] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[str(device)]

    def kept_tokens(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Drop specials and subsampled words. Returns `(ids, sentence)`, both (n,)."""
        rng = self._rng(ids.device)
        if self.keep_prob.device != ids.device:
            self.keep_prob = self.keep_prob.to(ids.device)
        sentence = torch.cumsum(ids == self.eos_index, 0)
        keep = torch.rand(ids.shape, generator=rng, device=ids.device) < self.keep_prob[ids]
        return ids[keep], sentence[keep]

    def __call__(self, chunk: torch.Tensor) -> dict:
        ids, sentence = self.kept_tokens(chunk.long())  # (n,)
        span = torch.randint(1, self.window + 1, ids.shape, generator=self._rng(ids.device), device=ids.device)
        centers, contexts = [], []
        for offset in range(1, min(self.window, max(ids.numel() - 1, 0)) + 1):  # a loop over offsets, not pairs
            same = sentence[:-offset] == sentence[offset:]
            right = same & (span[:-offset] >= offset)  # center i, context i + offset
            left = same & (span[offset:] >= offset)    # center i + offset, context i
            centers += [ids[:-offset][right], ids[offset:][left]]
            contexts += [ids[offset:][right], ids[:-offset][left]]
        empty = ids.new_zeros(0)
        return {
            "centers": torch.cat(centers) if centers else empty,    # (P,)
            "contexts": torch.cat(contexts) if contexts else empty,  # (P,)
            "n_words": int(chunk.numel()),
        }


class CBOWView(SkipGramView):
    """Each kept word with its whole (dynamic, in-sentence) window as one example, for CBOW.

    Same subsampling, window and sentence rules as `SkipGramView`; the context comes
    padded to 2 x window with a mask. Centers with no context word are dropped.
    """

    def __call__(self, chunk: torch.Tensor) -> dict:
        ids, sentence = self.kept_tokens(chunk.long())  # (n,)
        n = ids.numel()
        span = torch.randint(1, self.window + 1, ids.shape, generator=self._rng(ids.device), device=ids.device)
        offsets = torch.cat([torch.arange(-self.window, 0), torch.arange(1, self.window + 1)]).to(ids.device)
        position = torch.arange(n, device=ids.device)[:, None] + offsets[None, :]     # (n, 2W)
        clamped = position.clamp(0, max(n - 1, 0))
        mask = ((position >= 0) & (position < n) & (offsets.abs()[None, :] <= span[:, None])
                & (sentence[clamped] == sentence[:, None])) if n else position.bool()
        has_context = mask.any(1)
        return {
            "centers": ids[has_context],                                  # (P,)
            "contexts": ids[clamped][has_context] if n else ids.new_zeros(0, 2 * self.window),  # (P, 2W)
            "context_mask": mask[has_context],                            # (P, 2W)
            "n_words": int(chunk.numel()),
        }


class CellBatches(torch.utils.data.Dataset):
    """Co-occurrence cells, shuffled once (seeded, as GloVe's `shuffle` does), in batches of `batch_cells`."""

    def __init__(self, counts, batch_cells: int | None, seed: int):
        order = torch.randperm(len(counts.values), generator=torch.Generator().manual_seed(seed))
        self.rows, self.cols, self.values = counts.rows[order], counts.cols[order], counts.values[order].float()
        self.batch_cells = batch_cells or max(len(self.values), 1)

    def __len__(self) -> int:
        return -(-len(self.values) // self.batch_cells)

    def __getitem__(self, index: int) -> dict:
        part = slice(index * self.batch_cells, (index + 1) * self.batch_cells)
        return {"rows": self.rows[part], "cols": self.cols[part], "values": self.values[part]}


class CooccurrenceView:
    """For count models (GloVe, PPMI+SVD): the examples are the cells of the co-occurrence matrix.

    The matrix is counted once per corpus, window and weighting and cached beside the
    encoded stream; `batch_cells=None` hands the whole matrix over as one batch.
    """

    def __init__(self, vocab: Vocabulary, window: int = 10, weighting: str = "harmonic",
                 batch_cells: int | None = 100_000, seed: int = 0):
        self.vocab = vocab
        self.window = positive_int(window, "data.window")
        self.weighting, self.seed = weighting, seed
        self.batch_cells = None if batch_cells is None else positive_int(batch_cells, "model.view.batch_cells")

    def train_dataset(self, stream, cache_dir) -> CellBatches:
        from lm_experiments.data.cooccurrence import load_cooccurrences

        counts = load_cooccurrences(stream, self.vocab, cache_dir, self.window, self.weighting)
        if len(counts.values) == 0:
            raise UserError("No word pairs co-occur within data.window: the corpus is too small for a count model.")
        return CellBatches(counts, self.batch_cells, self.seed)

    def __call__(self, batch: dict) -> dict:
        return {**batch, "n_words": 0}
