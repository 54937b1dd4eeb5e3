"""fastText (Bojanowski et al. 2017): skip-gram or CBOW over words represented by their character n-grams."""

import torch
from torch import nn

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, non_negative_int, positive_int
from lm_experiments.models.base import InputRows, TokenEmbedder
from lm_experiments.models.cbow import CBOW, check_reduction
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.models.subwords import subword_table


class SubwordBag(TokenEmbedder):
    """A word's vector is the mean of its own vector and its n-gram vectors (fastText's and gensim's
    `getWordVector`; with `subword_reduce=sum`, their sum, as the paper writes it).

    As in fastText's and gensim's skip-gram/CBOW training, every one of those rows then
    receives the hidden layer's whole gradient, not 1/n of it: with about 20 rows per
    word, the exact gradient of the mean would train each row 20 times more slowly.

    Rows 0..V-1 are the words, V..V+bucket-1 the hashed n-grams, the last row padding.
    Words outside the vocabulary get the mean of their n-gram vectors (`vectors_for`).
    """

    handles_unseen_words = True

    def __init__(self, vocab: Vocabulary, dim: int, min_n: int = 3, max_n: int = 6, bucket: int = 2_000_000,
                 subword_reduce: str = "mean"):
        super().__init__()
        self.subword_reduce = check_reduction(subword_reduce, "model.subword_reduce")
        self.min_n, self.max_n = positive_int(min_n, "model.min_n"), positive_int(max_n, "model.max_n")
        if self.max_n < self.min_n:
            raise UserError(f"model.max_n ({max_n}) must be at least model.min_n ({min_n}).")
        self.vocab, self.bucket = vocab, non_negative_int(bucket, "model.bucket", " (0: no n-grams)")
        self.output_dim = positive_int(dim, "model.vector_size")
        self.pad_row = len(vocab) + bucket
        # fastText's initialisation: words and n-grams uniform in [-1/d, 1/d]; padding row zero
        self.bag = nn.EmbeddingBag(self.pad_row + 1, dim, mode="sum", sparse=True, padding_idx=self.pad_row,
                                   _weight=torch.empty(self.pad_row + 1, dim))  # not drawn twice: 2M rows
        with torch.no_grad():
            self.bag.weight.uniform_(-1.0 / dim, 1.0 / dim)
            self.bag.weight[self.pad_row].zero_()
        table = subword_table(vocab.itos, list(range(len(vocab))), self.min_n, self.max_n, bucket,
                              offset=len(vocab), pad=self.pad_row)
        self.register_buffer("subwords", torch.from_numpy(table), persistent=False)  # (V, S)

    def compose(self, rows: torch.Tensor) -> torch.Tensor:
        """(N, S) padded row ids -> (N, d): their sum or mean, each row getting the full gradient."""
        total = self.bag(rows)                                                # (N, d)
        if self.subword_reduce == "sum":
            return total
        count = (rows != self.pad_row).sum(1, keepdim=True).clamp(min=1).to(total.dtype)  # (N, 1)
        return total / count + (total - total.detach()) * (1.0 - 1.0 / count)

    def forward(self, word_ids: torch.Tensor) -> torch.Tensor:
        """(...,) vocabulary ids -> (..., d) subword-composed vectors."""
        flat = self.compose(self.subwords[word_ids.reshape(-1)])  # (N, d)
        return flat.reshape(*word_ids.shape, self.output_dim)

    def word_vectors(self) -> torch.Tensor:
        ids = torch.arange(len(self.vocab), device=self.subwords.device)
        return torch.cat([self(part) for part in ids.split(65536)])

    @torch.no_grad()
    def vectors_for(self, words: list[str]) -> torch.Tensor:
        """(len(words), d) vectors for any words: in-vocabulary words as trained, others from n-grams."""
        ids = [self.vocab.stoi.get(w) for w in words]
        table = subword_table(words, ids, self.min_n, self.max_n, self.bucket, len(self.vocab), self.pad_row)
        return self.compose(torch.from_numpy(table).to(self.subwords.device))

    def input_rows(self) -> InputRows:
        counts = (self.subwords != self.pad_row).sum(1)  # (V,): the word's own row and its n-gram rows
        return InputRows(self.bag.weight, self.subwords, counts, mean=self.subword_reduce == "mean")

    def subword_state(self) -> dict:
        """What `vectors.fasttext_keyed_vectors` needs: raw word rows (no specials), n-gram rows, settings."""
        weights = self.bag.weight.detach().float().cpu().numpy()
        start, words = self.vocab.num_specials, len(self.vocab)
        return {"word_rows": weights[start:words], "ngram_rows": weights[words: words + self.bucket],
                "min_n": self.min_n, "max_n": self.max_n, "bucket": self.bucket,
                "subword_reduce": self.subword_reduce}


class FastText(SkipGram):
    """fastText skip-gram: the center word's subword-composed vector predicts each context word."""

    input_side = "center"

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, min_n: int = 3, max_n: int = 6,
                 bucket: int = 2_000_000, subword_reduce: str = "mean"):
        super().__init__(vocab, vector_size, SubwordBag(vocab, vector_size, min_n, max_n, bucket, subword_reduce))


class FastTextCBOW(CBOW):
    """fastText CBOW: the mean (or sum) of the context words' subword-composed vectors predicts the center."""

    def __init__(self, vocab: Vocabulary, vector_size: int = 100, min_n: int = 3, max_n: int = 6,
                 bucket: int = 2_000_000, subword_reduce: str = "mean", context_reduce: str = "mean"):
        super().__init__(vocab, vector_size, context_reduce,
                         SubwordBag(vocab, vector_size, min_n, max_n, bucket, subword_reduce))
