"""Drawing text from a language model: temperature, top-k and nucleus (top-p) sampling."""

import torch

from lm_experiments.errors import UserError


def filter_log_probs(log_probs: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None) -> torch.Tensor:
    """(B, V) log-probabilities -> (B, V) logits of the distribution to sample from.

    Temperature divides the log-probabilities; top-k keeps the k most likely tokens;
    top-p keeps the smallest set of most likely tokens whose probability reaches p
    (Holtzman et al. 2020), always at least the most likely one.
    """
    if not temperature > 0:
        raise UserError(f"temperature must be > 0, got {temperature!r} (use top_k=1 for greedy decoding).")
    logits = log_probs / temperature
    if top_k is not None:
        if top_k < 1:
            raise UserError(f"top_k must be >= 1, got {top_k!r}.")
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]   # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise UserError(f"top_p must be in (0, 1], got {top_p!r}.")
        ordered, order = torch.sort(logits, dim=-1, descending=True)
        mass_before = torch.softmax(ordered, dim=-1).cumsum(-1) - torch.softmax(ordered, dim=-1)
        drop_sorted = mass_before >= top_p                     # the mass before this token already reached p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


@torch.no_grad()
def sample(model, prompt: torch.Tensor, max_tokens: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Continue `prompt` (B, t) by `max_tokens` ids drawn one at a time; returns (B, max_tokens).

    Recurrent models are fed only the newest token and their carried state; the
    others re-read the history (cropped to what they can see).
    """
    tokens, state, feed = prompt, None, prompt
    drawn = []
    for _ in range(max_tokens):
        log_probs, state = model.next_token_log_probs(feed, state)                  # (B, V)
        logits = filter_log_probs(log_probs.float(), temperature, top_k, top_p)
        following = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)  # (B, 1)
        drawn.append(following)
        tokens = torch.cat([tokens, following], 1)
        feed = following if model.carries_state else tokens
    return torch.cat(drawn, 1) if drawn else prompt.new_zeros(prompt.shape[0], 0)


def detokenize(ids: list[int], itos: list[str]) -> str:
    """Ids -> text, one line per `<eos>`."""
    return " ".join(itos[i] for i in ids).replace(" <eos> ", "\n").replace("<eos>", "\n").strip()
