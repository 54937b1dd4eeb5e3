"""Tokenizers: functions from a piece of text to a list of tokens."""

import re
from collections.abc import Callable

from lm_experiments.errors import UserError

# Alphabetic runs, as gensim's simple_preprocess sees words (no digits, no underscores).
_WORD = re.compile(r"[^\W\d_]+")

# Kim's (2014) cleaning of MR-style sentences: only letters, digits and ( ) , ! ? ' ` survive; clitics are split
# off ("it's" -> "it 's", "don't" -> "do n't"); , ! ( ) ? become tokens of their own.
_KIM_DROP = re.compile(r"[^A-Za-z0-9(),!?'`]")
_KIM_CLITIC = re.compile(r"('s|'ve|n't|'re|'d|'ll)")
_KIM_PUNCT = re.compile(r"([,!()?])")


def kim_tokens(text: str) -> list[str]:
    text = _KIM_DROP.sub(" ", text)
    text = _KIM_CLITIC.sub(r" \1", text)
    return _KIM_PUNCT.sub(r" \1 ", text).split()


TOKENIZERS = ("whitespace", "words", "kim")


def make_tokenizer(kind: str, lowercase: bool) -> Callable[[str], list[str]]:
    """`whitespace`: the corpus is already tokenized (text8, PTB, WikiText);
    `words`: raw prose (Lee, arbitrary files) reduced to alphabetic words; `kim`: Kim's (2014) cleaning of
    labelled sentences (`kim_tokens`)."""
    if kind == "whitespace":
        return (lambda text: text.lower().split()) if lowercase else str.split
    if kind == "words":
        return (lambda text: _WORD.findall(text.lower())) if lowercase else _WORD.findall
    if kind == "kim":
        return (lambda text: kim_tokens(text.lower())) if lowercase else kim_tokens
    raise UserError(f"data.tokenizer must be one of {', '.join(TOKENIZERS)}; got {kind!r}.")
