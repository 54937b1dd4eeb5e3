"""ELMo's character encoder (Peters et al. 2018; Kim et al. 2016): any word -> a vector, from its bytes.

A word is its UTF-8 bytes between begin- and end-of-word marks, cut or padded to
`max_chars`; each character is embedded, convolutions of several widths slide over
them with max-over-time pooling, highway layers mix the result, and a linear map
projects it to `output_dim`. Since only characters are looked up, a word never seen
in training gets a vector like any other (`vectors_for`).
"""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int

PAD, BEGIN, END = 0, 257, 258  # bytes are 1..256; 0 pads the character sequence
CHARACTERS = 259


def characters_of(words: list[str], max_chars: int) -> torch.Tensor:
    """(len(words), max_chars) character ids: begin mark, the first max_chars - 2 bytes (+1), end mark, padding."""
    table = torch.zeros(len(words), max_chars, dtype=torch.long)
    for row, word in enumerate(words):
        codes = [BEGIN, *(b + 1 for b in word.encode("utf-8")[: max_chars - 2]), END]
        table[row, : len(codes)] = torch.tensor(codes)
    return table


class Highway(nn.Module):
    """y = g * x + (1 - g) * relu(W x) with g = sigmoid(W_g x + b_g), b_g starting at 1: each layer starts
    close to carrying x through (Srivastava et al. 2015's negative transform-gate bias; AllenNLP's Highway)."""

    def __init__(self, dim: int, layers: int):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(layers))
        for layer in self.layers:
            nn.init.constant_(layer.bias[dim:], 1.0)  # the carry gate's bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            transform, gate = layer(x).chunk(2, dim=-1)
            gate = torch.sigmoid(gate)
            x = gate * x + (1 - gate) * F.relu(transform)
        return x


class CharacterEncoder(nn.Module):
    """(...,) vocabulary ids -> (..., output_dim), through each word's characters.

    `filters` lists [width, maps] pairs (the paper: widths 1-7 with 32 ... 1024 maps);
    the vocabulary's words are turned into characters once (a (V, max_chars) buffer).
    """

    def __init__(self, vocab: Vocabulary, output_dim: int, char_dim: int = 16,
                 filters: tuple = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256)), highway_layers: int = 2,
                 max_chars: int = 50):
        super().__init__()
        filters = [tuple(pair) for pair in filters]
        if not filters or any(len(pair) != 2 for pair in filters):
            raise UserError("model.filters must be a list of [width, maps] pairs, e.g. [[1, 32], [2, 32], [3, 64]].")
        self.max_chars = positive_int(max_chars, "model.max_chars")
        self.widest = max(width for width, _ in filters)
        if self.max_chars < 3 or self.widest > self.max_chars:
            raise UserError(f"model.max_chars={max_chars} must hold the begin and end marks and be at least the "
                            f"widest filter.")
        self.embedding = nn.Embedding(CHARACTERS, positive_int(char_dim, "model.char_dim"), padding_idx=PAD)
        self.convolutions = nn.ModuleList(nn.Conv1d(char_dim, positive_int(maps, "model.filters[..][1]"),
                                                    positive_int(width, "model.filters[..][0]"))
                                          for width, maps in filters)
        pooled = sum(maps for _, maps in filters)
        self.highway = Highway(pooled, highway_layers)
        self.projection = nn.Linear(pooled, positive_int(output_dim, "model.projection_dim"))
        self.output_dim = output_dim
        self.register_buffer("vocab_characters", characters_of(vocab.itos, self.max_chars), persistent=False)

    def encode(self, characters: torch.Tensor) -> torch.Tensor:
        """(..., max_chars) character ids -> (..., output_dim).

        Only the first `longest word + widest filter` positions are convolved: beyond them every window
        reads padding alone, whose value (tanh of the bias) the kept positions already include for every
        word short enough to have such a window, so the result equals the full-width one at a fraction of
        the cost (most words are far shorter than max_chars).
        """
        shape = characters.shape[:-1]
        characters = characters.reshape(-1, self.max_chars)
        longest = int((characters != PAD).sum(dim=-1).max()) if characters.numel() else 0
        characters = characters[:, : min(self.max_chars, longest + self.widest)]
        x = self.embedding(characters).transpose(1, 2)                                     # (n, char_dim, L)
        pooled = torch.cat([torch.tanh(conv(x)).amax(dim=-1) for conv in self.convolutions], dim=-1)
        return self.projection(self.highway(pooled)).reshape(*shape, self.output_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Each distinct word of the batch is encoded once and copied to its positions."""
        distinct, positions = ids.unique(return_inverse=True)
        return self.encode(self.vocab_characters[distinct])[positions]

    def vectors_for(self, words: list[str]) -> torch.Tensor:
        """(len(words), output_dim) for any words, in the vocabulary or not."""
        return self.encode(characters_of(words, self.max_chars).to(self.vocab_characters.device))
