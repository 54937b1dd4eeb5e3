"""ELMo's bidirectional language model (Peters et al. 2018): a token encoder (characters, or words for
ablations), and a forward and a backward stack of LSTMs with projections and a residual connection, sharing
the token encoder and (in the task) the output layer."""

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.batches import BiWindows
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import BidirectionalLMEncoder
from lm_experiments.models.char_cnn import CharacterEncoder

TOKEN_ENCODERS = ("chars", "words")


def reversal(batch: int, steps: int, lengths: torch.Tensor | None, device) -> torch.Tensor:
    """(B, T) positions that reverse each row within its length (padding stays at the end, in place)."""
    positions = torch.arange(steps, device=device).expand(batch, steps)
    if lengths is None:
        return positions.flip(1)
    lengths = lengths.to(device)[:, None]
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def reorder(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """x (B, T, d) with each row's steps taken in `order` (B, T); reversing twice restores it."""
    return x.gather(1, order[..., None].expand_as(x))


class WordTokenEncoder(nn.Module):
    """One vector per vocabulary word (the ablation of the character encoder); unseen words read `<unk>`'s."""

    def __init__(self, vocab: Vocabulary, output_dim: int):
        super().__init__()
        self.vocab, self.output_dim = vocab, output_dim
        self.embedding = nn.Embedding(len(vocab), output_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def vectors_for(self, words: list[str]) -> torch.Tensor:
        ids = torch.from_numpy(self.vocab.lookup(words)).to(self.embedding.weight.device)
        return self.embedding(ids)


class DirectionalStack(nn.Module):
    """LSTM layers of `hidden_dim` cells projected to `projection_dim` (B, T, p) -> every layer's (B, T, p);
    from the second layer on each layer's input is added to its output (the paper's residual connection)."""

    def __init__(self, projection_dim: int, hidden_dim: int, num_layers: int, dropout: float):
        super().__init__()
        if projection_dim > hidden_dim:
            raise UserError(f"model.projection_dim={projection_dim} must not exceed model.hidden_dim={hidden_dim}.")
        projection = projection_dim if projection_dim < hidden_dim else 0
        self.layers = nn.ModuleList(nn.LSTM(projection_dim, hidden_dim, batch_first=True, proj_size=projection)
                                    for _ in range(num_layers))
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.layers):
            out, _ = layer(F.dropout(x, self.dropout, self.training))
            x = out + x if index > 0 else out
            outputs.append(x)
        return outputs


class BiLM(BidirectionalLMEncoder):
    """Ids (B, T) -> (forward top, backward top), each (B, T, projection_dim)."""

    batch_type = BiWindows

    def __init__(self, vocab: Vocabulary, token_encoder: str = "chars", projection_dim: int = 128,
                 hidden_dim: int = 512, num_layers: int = 2, dropout: float = 0.1, char_dim: int = 16,
                 filters: tuple = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256)), highway_layers: int = 2,
                 max_chars: int = 50):
        super().__init__()
        if token_encoder not in TOKEN_ENCODERS:
            raise UserError(f"model.token_encoder must be one of {', '.join(TOKEN_ENCODERS)}; got {token_encoder!r}.")
        projection_dim = positive_int(projection_dim, "model.projection_dim")
        hidden_dim = positive_int(hidden_dim, "model.hidden_dim")
        num_layers = positive_int(num_layers, "model.num_layers")
        self.dropout = probability(dropout, "model.dropout")
        self.tokens = (CharacterEncoder(vocab, projection_dim, char_dim, filters, highway_layers, max_chars)
                       if token_encoder == "chars" else WordTokenEncoder(vocab, projection_dim))
        self.forward_lm = DirectionalStack(projection_dim, hidden_dim, num_layers, self.dropout)
        self.backward_lm = DirectionalStack(projection_dim, hidden_dim, num_layers, self.dropout)
        self.output_dim = projection_dim
        self.num_layers = num_layers

    def init_weights(self, output: nn.Module) -> None:
        """Output matrices N(0, 1/d) (d: their input width), biases zero, as AllenNLP's biLM softmax starts.

        The objectives start at zero (word2vec's output vectors do). Behind an LSTM that stalls
        learning: a zero softmax sends the LSTMs no gradient at the first step, and after it every
        row has moved by the same step along the same states, so the gradient into the states,
        the sum of the rows weighted by (p - y), stays near zero: on PTB the biLM sat at the unigram
        perplexity for a whole epoch (validation 716 in each direction after 1,452 steps)."""
        for parameter in output.parameters():
            if parameter.dim() >= 2:
                nn.init.normal_(parameter, 0.0, parameter.shape[-1] ** -0.5)
            else:
                nn.init.zeros_(parameter)

    def directions(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
                   ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Token vectors (B, T, p) -> every layer's forward and backward states, each (B, T, p). With `lengths`
        (B,) the sentences are right-padded: the backward model reads each one from its own last token."""
        forward = self.forward_lm(tokens)
        order = reversal(tokens.shape[0], tokens.shape[1], lengths, tokens.device)            # (B, T)
        backward = [reorder(states, order) for states in self.backward_lm(reorder(tokens, order))]
        return forward, backward

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        forward, backward = self.directions(self.tokens(ids))
        return (F.dropout(forward[-1], self.dropout, self.training),
                F.dropout(backward[-1], self.dropout, self.training))

    def layers(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Token vectors (B, T, p) -> (B, T, num_layers + 1, 2p): layer 0 the token vector twice (as the paper
        duplicates it to the biLSTM's width), layer j the forward and backward states of LSTM layer j."""
        forward, backward = self.directions(tokens, lengths)
        stacked = [torch.cat([tokens, tokens], dim=-1)] + [torch.cat(pair, dim=-1) for pair in zip(forward, backward)]
        return torch.stack(stacked, dim=2)
