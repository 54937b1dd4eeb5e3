"""The noise distribution of negative sampling and NCE: unigram counts raised to a power."""

import numpy as np
import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError


class UnigramNoise(nn.Module):
    """q(w) proportional to count(w)^exponent over the words.

    Embedding objectives never draw the specials. Language models predict `<eos>` and
    `<unk>` like any word, so with `include_specials` every entry can be drawn (counts
    of zero count as one, so that q(w) > 0 and log q is finite for every target).
    """

    def __init__(self, vocab: Vocabulary, exponent: float = 0.75, include_specials: bool = False,
                 option: str = "sampler.ns_exponent"):
        super().__init__()
        if isinstance(exponent, bool) or not isinstance(exponent, int | float) or not np.isfinite(exponent):
            raise UserError(f"{option} must be a finite number (gensim's ns_exponent: 0.75; 0 is uniform, below 0 "
                            f"favours rare words), got {exponent!r}.")
        counts = vocab.counts.astype(np.float64)
        drawable = np.ones(len(counts), dtype=bool) if include_specials else counts > 0
        if not include_specials:
            drawable[: vocab.num_specials] = False
        if not drawable.any():
            raise UserError("The vocabulary has no word with a count to draw noise words from.")
        # in logs, relative to the largest: count^1000 overflows a float, and the draws would silently turn uniform
        logs = exponent * np.log(counts.clip(min=1.0))
        weights = np.where(drawable, np.exp(logs - logs[drawable].max()), 0.0)
        probs = weights / weights.sum()
        self.register_buffer("probs", torch.from_numpy(probs), persistent=False)          # (V,)
        self.register_buffer("cdf", torch.from_numpy(np.cumsum(probs)), persistent=False)  # (V,)

    def check_draws(self, draws: int, option: str, usual: int = 20, what: str = "noise words per example",
                    advice: str = "word2vec uses 5-20 (2-5 on large corpora)") -> None:
        """Refuse a number of noise draws that can only be a mistake: beyond the option's `usual` range and
        more than the distinct words the noise can give, so every draw would score every word several
        times over (100,000 negatives on a 1,761-word vocabulary took 7 GB and minutes per batch).
        Small toy vocabularies keep the usual range."""
        words = int((self.probs > 0).sum())
        if draws > max(words, usual):
            raise UserError(f"{option}={draws} {what} is more than the {words} words they are drawn from; "
                            f"{advice}.")

    def sample(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """Inverse-CDF sampling: exact for any vocabulary size, no table, runs on the device."""
        uniform = torch.rand(shape, dtype=self.cdf.dtype, device=device)
        return torch.searchsorted(self.cdf, uniform, right=True).clamp_(max=self.cdf.numel() - 1)
