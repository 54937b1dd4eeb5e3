"""A causal Transformer language model: pre-LayerNorm blocks, GELU MLPs, fused causal attention."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from lm_experiments.data.batches import TokenWindows
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, positive_int, probability
from lm_experiments.models.base import LanguageModelEncoder

POSITIONS = ("sinusoidal", "learned")


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """(length, dim) encodings of Vaswani et al. 2017: sin on even, cos on odd dimensions."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


def causal_attention_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d_head)) with the future masked: (B, h, T, d/h) twice -> (B, h, T, T), rows sum to 1."""
    length = q.shape[-2]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    future = torch.ones(length, length, dtype=torch.bool, device=q.device).triu(1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, d) -> (B, T, d); with `return_weights`, also the (B, h, T, T) attention weights, computed
        explicitly (query rows, key columns; zero above the diagonal). Training keeps the fused kernel, which
        never forms them."""
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        if return_weights:
            weights = causal_attention_weights(q, k)
            out = weights @ v                                                                # (B, h, T, d/h)
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                 dropout_p=self.dropout if self.training else 0.0)  # (B, h, T, d/h)
        out = self.resid_drop(self.proj(out.transpose(1, 2).reshape(batch, length, dim)))
        return (out, weights) if return_weights else out


class Block(nn.Module):
    """x + attn(LN(x)), then x + MLP(LN(x)): pre-LN keeps training stable without warm-up tricks."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.ln_attn = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, dropout)
        self.ln_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        if return_weights:
            attended, weights = self.attn(self.ln_attn(x), return_weights=True)
            x = x + attended
            return x + self.mlp(self.ln_mlp(x)), weights
        x = x + self.attn(self.ln_attn(x))
        return x + self.mlp(self.ln_mlp(x))


class CausalTransformer(LanguageModelEncoder):
    """Token + position embeddings -> `num_layers` blocks -> final LayerNorm -> hidden states.

    Sees at most `block_size` tokens; evaluation slides a window `eval_stride` tokens
    at a time (see `TokenWindowView`). Weights start N(0, 0.02), residual projections
    N(0, 0.02 / sqrt(2 num_layers)) as in GPT-2, the output layer's included (with
    sinusoidal positions the token embeddings start N(0, 1/d), scaled by sqrt(d): `embed`);
    `tie_weights` shares the output matrix with the token embedding.
    """

    batch_type = TokenWindows
    exposes_attention = True

    def __init__(self, vocab: Vocabulary, d_model: int = 256, num_layers: int = 4, num_heads: int = 4,
                 ff_dim: int | None = None, dropout: float = 0.1, block_size: int = 128,
                 eval_stride: int | None = None, positions: str = "sinusoidal", tie_weights: bool = True):
        super().__init__()
        d_model = positive_int(d_model, "model.d_model")
        num_heads = positive_int(num_heads, "model.num_heads")
        if d_model % num_heads:
            raise UserError(f"model.d_model={d_model} must be divisible by model.num_heads={num_heads}.")
        if positions not in POSITIONS:
            raise UserError(f"model.positions must be one of {', '.join(POSITIONS)}; got {positions!r}.")
        dropout = probability(dropout, "model.dropout")
        self.block_size = positive_int(block_size, "model.block_size")
        self.num_layers = positive_int(num_layers, "model.num_layers")
        self.positions, self.tie_weights = positions, bool(tie_weights)
        self.token_embedding = nn.Embedding(len(vocab), d_model)
        if positions == "learned":
            self.position_embedding = nn.Embedding(block_size, d_model)
        else:
            self.register_buffer("sinusoid_table", sinusoidal_positions(block_size, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, num_heads, ff_dim or 4 * d_model, dropout)
                                    for _ in range(self.num_layers))
        self.ln_final = nn.LayerNorm(d_model)
        self.output_dim = d_model

    def init_weights(self, output: nn.Module) -> None:
        named = [*self.named_parameters(), *output.named_parameters(prefix="objective")]
        for name, parameter in named:
            if parameter.dim() < 2:
                if "ln_" not in name:
                    nn.init.zeros_(parameter)
                continue
            residual = name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight")
            std = 0.02 / math.sqrt(2 * self.num_layers) if residual else 0.02
            if name == "token_embedding.weight" and self.positions == "sinusoidal":
                std = self.output_dim ** -0.5  # x sqrt(d) in `embed`: unit scale, as the sinusoids (fairseq's start)
            nn.init.normal_(parameter, 0.0, std)

    def tied_output_weight(self) -> nn.Parameter | None:
        return self.token_embedding.weight if self.tie_weights else None

    def forward(self, inputs: torch.Tensor, state=None):
        """inputs (B, T <= block_size) -> hidden (B, T, d)."""
        length = inputs.shape[1]
        if length > self.block_size:
            raise ValueError(f"{length} tokens exceed model.block_size={self.block_size}")
        x = self.drop(self.embed(inputs))
        for block in self.blocks:
            x = block(x)
        return self.ln_final(x), None

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, d) token embeddings plus positions. Against the fixed sinusoids (values up to 1)
        the token embeddings start at N(0, 1/d) and are scaled by sqrt(d), as Vaswani et al. (2017, 3.4) and fairseq
        do: at GPT-2's N(0, 0.02) the positions drown the tokens and the model stays a unigram model for hundreds
        of steps (PTB: train loss 6.5, the unigram entropy, after 900 steps). Learned positions start at the
        tokens' scale and take neither."""
        tokens = self.token_embedding(inputs)
        if self.positions == "sinusoidal":
            tokens = tokens * math.sqrt(self.token_embedding.embedding_dim)
        return tokens + self.position_table()[: inputs.shape[1]]

    def position_table(self) -> torch.Tensor:
        """(block_size, d) what is added to the token embeddings at each position: the sinusoidal table or the
        learned one."""
        return self.position_embedding.weight if self.positions == "learned" else self.sinusoid_table

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs (B, T <= block_size) -> (layers, B, heads, T, T): every block's attention weights, as the
        model computes them (call in eval mode: dropout would change them)."""
        length = inputs.shape[1]
        if length > self.block_size:
            raise ValueError(f"{length} tokens exceed model.block_size={self.block_size}")
        x = self.drop(self.embed(inputs))
        maps = []
        for block in self.blocks:
            x, weights = block(x, return_weights=True)
            maps.append(weights)
        return torch.stack(maps)

    def generation_context(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens[:, -self.block_size:]
