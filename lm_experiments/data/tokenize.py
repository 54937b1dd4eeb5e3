"""Tokenizers: functions from a piece of text to a list of tokens."""

import re
from collections.abc import Callable

from lm_experiments.errors import UserError

# Alphabetic runs, as gensim's simple_preprocess sees words (no digits, no underscores).
_WORD = re.compile(r"[^\W\d_]+")

TOKENIZERS = ("whitespace", "words")


def make_tokenizer(kind: str, lowercase: bool) -> Callable[[str], list[str]]:
    """`whitespace`: the corpus is already tokenized (text8, PTB, WikiText);
    `words`: raw prose (Lee, arbitrary files) reduced to alphabetic words."""
    if kind == "whitespace":
        return (lambda text: text.lower().split()) if lowercase else str.split
    if kind == "words":
        return (lambda text: _WORD.findall(text.lower())) if lowercase else _WORD.findall
    raise UserError(f"data.tokenizer must be one of {', '.join(TOKENIZERS)}; got {kind!r}.")
