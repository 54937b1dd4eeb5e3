"""The word vectors a sentence encoder reads, in Kim's (2014) four modes, optionally from pretrained vectors.

- `rand`: every vector starts uniform in [-init_range, init_range] and is trained;
- `static`: pretrained vectors, frozen;
- `non_static`: pretrained vectors, fine-tuned;
- `multichannel`: two copies of the pretrained vectors side by side, one frozen and one fine-tuned
  (output 2 x dim: a TextCNN's filters read both channels);
- `elmo`: a trained ELMo's contextual vectors beside trained random word vectors (`SentenceEmbedding`).

`elmo=<run>` puts a trained ELMo's vectors beside the word vectors of any of the first four modes,
so `non_static` skip-gram vectors with ELMo beside them is Peters et al.'s GloVe + ELMo input;
`mode="elmo"` is the same as `mode="rand"` with `elmo=pretrained`. The run's biLM itself is
handed in as `bilm` by whoever builds the model (`run/assembly.py`), never loaded here; so are
the pretrained vectors, as `pretrained_rows` laid out for the vocabulary, when a run is built to
train (a finished run rebuilt from its folder gets none: its checkpoint holds them).

Pretrained vectors are copied in when training starts (`load_pretrained`, called by the
task's set-up). Words the vectors lack start as Kim's do: uniform in [-a, a] with a chosen so
that their variance equals the pretrained rows' (a = sqrt(3 var)).
"""

import logging
import math

import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import BidirectionalLMEncoder
from lm_experiments.models.elmo_vectors import ElmoVectors
from lm_experiments.vectors.pretrained import PretrainedRows

log = logging.getLogger(__name__)

MODES = ("rand", "static", "non_static", "multichannel", "elmo")


class SentenceEmbedding(nn.Module):
    """(B, T) ids and their (B, T) mask -> (B, T, output_dim) vectors (the mask matters only to `elmo`).

    `elmo`: a trained ELMo biLM's mixed contextual vectors (`model.pretrained` is the
    `model=elmo` run; frozen, a learned scalar mix, `elmo_dropout` on the result), next to
    trained word vectors started at random, as Peters et al. concatenate them.
    """

    def __init__(self, vocab: Vocabulary, dim: int = 300, mode: str = "rand", pretrained: str | None = None,
                 init_range: float = 0.25, elmo_dropout: float = 0.5, elmo: str | None = None,
                 bilm: BidirectionalLMEncoder | None = None, pretrained_rows: PretrainedRows | None = None):
        super().__init__()
        if mode not in MODES:
            raise UserError(f"model.embedding must be one of {', '.join(MODES)}; got {mode!r}.")
        if mode == "elmo" and elmo:
            raise UserError("model.embedding=elmo reads its ELMo run from model.pretrained, beside random word "
                            "vectors; model.elmo puts an ELMo beside pretrained ones (model.embedding=non_static "
                            "model.pretrained=<vectors> model.elmo=<elmo run>): set one of the two.")
        if mode == "rand" and pretrained:
            raise UserError("model.embedding=rand starts from random vectors and would ignore model.pretrained: "
                            "set model.embedding=non_static (or static, multichannel), or drop model.pretrained.")
        if mode != "rand" and not pretrained:
            what = "an ELMo run (model=elmo)" if mode == "elmo" else "pretrained vectors"
            raise UserError(f"model.embedding={mode} starts from {what}: set model.pretrained to a run "
                            f"folder{' or a vectors file' if mode != 'elmo' else ''} (or use model.embedding=rand).")
        self.dim = positive_int(dim, "model.embedding_dim")
        self.mode, self.pretrained, self.words = mode, pretrained, list(vocab.itos)
        self.pretrained_rows = pretrained_rows
        self.counts = vocab.counts
        self.vectors = nn.Embedding(len(vocab), dim)
        nn.init.uniform_(self.vectors.weight, -init_range, init_range)
        self.vectors.weight.requires_grad_(mode != "static")
        self.frozen_copy = nn.Embedding(len(vocab), dim).requires_grad_(False) if mode == "multichannel" else None
        self.elmo = None
        elmo_run = pretrained if mode == "elmo" else elmo
        if elmo_run:
            if bilm is None:
                raise ValueError(f"the ELMo run {elmo_run} is named, but its biLM was not handed in (bilm=...)")
            self.elmo = ElmoVectors(bilm, self.words, probability(elmo_dropout, "model.elmo_dropout"))
        self.output_dim = dim * (2 if mode == "multichannel" else 1) + (self.elmo.output_dim if self.elmo else 0)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        words = self.vectors(ids)
        if self.frozen_copy is not None:
            words = torch.cat([self.frozen_copy(ids), words], dim=-1)
        if self.elmo is None:
            return words
        if mask is None:
            raise UserError("ELMo vectors read whole sentences: use them with bow, textcnn or birnn.")
        return torch.cat([self.elmo(ids, mask), words], dim=-1)

    @torch.no_grad()
    def load_pretrained(self, generator: torch.Generator | None = None) -> dict[str, float]:
        """Copy the pretrained rows in (missing words: Kim's variance-matched uniform rows); returns how much
        of the vocabulary they covered, for the run's metrics. Nothing to do in `rand` mode."""
        if self.mode in ("rand", "elmo"):
            return {}
        rows = self.pretrained_rows
        if rows is None:
            raise ValueError(f"model.pretrained={self.pretrained} is named, but its rows were not handed in "
                             f"(pretrained_rows=...)")
        if rows.dim != self.dim:
            raise UserError(f"model.pretrained={self.pretrained} holds {rows.dim}-dimensional vectors and "
                            f"model.embedding_dim={self.dim}: set model.embedding_dim={rows.dim}.")
        has = rows.found | rows.built
        if not has.any():
            raise UserError(f"model.pretrained={self.pretrained} has a vector for none of the task's words: are "
                            f"they the same language and casing (data.lowercase)?")
        bound = math.sqrt(3 * float(rows.vectors[has].var()))
        weight = torch.empty(len(self.words), self.dim).uniform_(-bound, bound, generator=generator)
        weight[torch.from_numpy(has)] = torch.from_numpy(rows.vectors[has])
        self.vectors.weight.copy_(weight)
        if self.frozen_copy is not None:
            self.frozen_copy.weight.copy_(weight)
        real = slice(Vocabulary.num_specials, None)
        tokens = self.counts[real]
        coverage = {"pretrained/coverage": float(rows.found[real].mean()),
                    "pretrained/coverage_tokens": float((tokens * rows.found[real]).sum() / max(tokens.sum(), 1)),
                    "pretrained/built_from_ngrams": float(rows.built[real].mean())}
        log.info("pretrained vectors %s: %.1f%% of the %d words (%.1f%% of training tokens)%s; the rest uniform in "
                 "[-%.3g, %.3g]", self.pretrained, 100 * coverage["pretrained/coverage"], len(tokens),
                 100 * coverage["pretrained/coverage_tokens"],
                 f", {100 * coverage['pretrained/built_from_ngrams']:.1f}% built from n-grams" if rows.built.any()
                 else "", bound, bound)
        return coverage


def masked_embeddings(embedding: SentenceEmbedding, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T) ids, (B, T) mask -> (B, T, d) vectors, zero at padding (Kim pads sentences with zero vectors)."""
    return embedding(tokens, mask) * mask[..., None].to(embedding.vectors.weight.dtype)

