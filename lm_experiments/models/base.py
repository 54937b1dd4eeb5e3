"""What each task expects of the parts it trains: small interfaces over plain `nn.Module`s.

An architecture file builds one part; the task (`lm_experiments.tasks`) owns the
loop, the objective, the metrics and the exports around it. The interfaces name what
a part declares (the batch it reads, its output size, whether it carries state), so
the task and the run never have to probe for it.
"""

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn


@dataclass
class InputRows:
    """An embedder as a bag of rows: word w's vector is the mean (or sum) of `table[rows[w, :counts[w]]]`,
    and every one of those rows takes a step's whole update. What a fused kernel reads and writes."""

    table: torch.Tensor   # (R, d) the trained rows
    rows: torch.Tensor    # (V, S) row ids per word, left-packed
    counts: torch.Tensor  # (V,) how many of each word's row ids are real
    mean: bool            # mean (True) or sum of the rows


class TokenEmbedder(nn.Module):
    """Vocabulary ids (...,) -> vectors (..., output_dim): a word lookup, fastText's subword bag, ...

    `handles_unseen_words` embedders also build vectors for words outside the
    vocabulary (`vectors_for`), from their pieces.
    """

    handles_unseen_words: ClassVar[bool] = False
    output_dim: int

    def word_vectors(self) -> torch.Tensor:
        """(V, output_dim): the vector of every vocabulary entry, in vocabulary order."""
        raise NotImplementedError

    def vectors_for(self, words: list[str]) -> torch.Tensor:
        """(len(words), output_dim) vectors for any words; only where `handles_unseen_words`."""
        raise NotImplementedError(f"{type(self).__name__} has no vectors for words outside its vocabulary")

    def input_rows(self) -> InputRows | None:
        """The embedder as rows a fused kernel can update in place, or None where it is not such a bag."""
        return None


class WordEmbeddingEncoder(nn.Module):
    """A word2vec-family encoder: its examples (`example_type`, read off a chunk's `WordWindows` by
    `examples`) -> hidden vectors (P, output_dim), which an objective scores against `targets(batch)`.
    Its word vectors are its `embedder`'s."""

    example_type: ClassVar[type]
    output_dim: int
    embedder: TokenEmbedder

    def examples(self, windows):
        """The examples this encoder trains on, from a chunk's kept words and windows (`WordWindows`)."""
        raise NotImplementedError

    def targets(self, batch) -> torch.Tensor:
        """(P,) the words the hidden vectors predict."""
        raise NotImplementedError


class LanguageModelEncoder(nn.Module):
    """Token ids -> hidden vectors for next-token prediction.

    `forward(inputs, state=None) -> (hidden, state)`: inputs (B, T) -> hidden (B, T, d),
    or (B, n-1) -> (B, d) for a fixed-context model. `carries_state` encoders (recurrent)
    hand their state from one block to the next; the others return None.
    """

    batch_type: ClassVar[type]
    carries_state: ClassVar[bool] = False
    output_dim: int
    # what `lm_experiments.inspection` can draw of it: attention weights (`attention_maps(inputs)` and
    # `position_table()`), or the error signal back through time (a `RecurrentStack` as `rnn` after `embed`)
    exposes_attention: ClassVar[bool] = False
    unrolls_in_time: ClassVar[bool] = False

    def init_weights(self, output: nn.Module) -> None:
        """Initialise this encoder and the output layer built for it, by the architecture's scheme
        (Zaremba et al. draw every weight, the softmax's included, from one uniform range)."""

    def tied_output_weight(self) -> nn.Parameter | None:
        """The input embedding the output layer shares (`model.tie_weights`), or None."""
        return None

    def generation_context(self, tokens: torch.Tensor) -> torch.Tensor:
        """The part of the history (B, t) the encoder reads to predict the next token."""
        return tokens


@dataclass
class AdaGradTables:
    """A model trained by GloVe's per-cell AdaGrad, as a fused kernel updates it in place: word rows 0..V-1 and
    context rows V..2V-1 of `weights` (2V, d) and `biases` (2V,), AdaGrad's sums of squared steps beside them,
    and the loss's constants."""

    weights: torch.Tensor
    biases: torch.Tensor
    weights_gradsq: torch.Tensor
    biases_gradsq: torch.Tensor
    size: int      # V
    x_max: float
    alpha: float
    eta: float


class CountVectorModel(nn.Module):
    """Word vectors fitted from co-occurrence cells rather than trained by backpropagation (GloVe, PPMI+SVD).

    `adagrad_tables()` declares a model a fused kernel can train cell by cell (GloVe); None for the others."""

    def adagrad_tables(self) -> AdaGradTables | None:
        return None

    def fit(self, cells) -> torch.Tensor | None:
        """Take one batch of cells (`CellBatch`); return the loss per cell where the model has one."""
        raise NotImplementedError

    def fit_statistics(self) -> dict[str, float]:
        """Numbers worth logging about the last fit (`train/<name>`)."""
        return {}

    def divergence_advice(self) -> str:
        """What to change when its fit diverges (a NaN or infinite loss), for the one-line message."""
        return "check the co-occurrence counts and the model's settings"

    def word_vectors(self) -> torch.Tensor:
        """(V, d) vectors in vocabulary order."""
        raise NotImplementedError


class SentenceEncoder(nn.Module):
    """A labelled batch (`batch_type`: padded sentences or a forest of trees) -> one vector per entry of
    `batch.labels`, (M, output_dim), which a classification head scores. Its word vectors are its
    `embedding`'s (a `SentenceEmbedding`: random or pretrained, frozen or trained)."""

    batch_type: ClassVar[type]
    output_dim: int
    embedding: nn.Module


class BidirectionalLMEncoder(nn.Module):
    """Token ids (B, T) -> the top states of a forward and a backward language model, each (B, T, output_dim):
    the forward state at t has read tokens 0..t (it predicts t + 1), the backward state at t tokens t..T-1
    (it predicts t - 1). `layers` gives every layer's states for contextual vectors."""

    batch_type: ClassVar[type]
    output_dim: int

    def init_weights(self, output: nn.Module) -> None:
        """Initialise the output layer built for this encoder (the objectives start at zero, word2vec's
        convention, which suits a language model badly: see `BiLM.init_weights`)."""
