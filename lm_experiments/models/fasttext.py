"""fastText (Bojanowski et al. 2017): skip-gram or CBOW over words represented by their character n-grams."""

import torch
from torch import nn

from lm_experiments.errors import UserError, positive_int
from lm_experiments.models.cbow import REDUCTIONS, context_vector
from lm_experiments.models.embedding import EmbeddingModel
from lm_experiments.models.subwords import subword_table

ARCHITECTURES = ("skipgram", "cbow")


class FastText(EmbeddingModel):
    """A word's input vector is the mean of its own vector and its n-gram vectors (fastText's and
    gensim's `getWordVector`; with `subword_reduce=sum`, their sum, as the paper writes it).

    As in fastText's and gensim's skip-gram/CBOW training, every one of those rows then
    receives the hidden layer's whole gradient, not 1/n of it: with about 20 rows per
    word, the exact gradient of the mean would train each row 20 times more slowly.

    Rows 0..V-1 are the words, V..V+bucket-1 the hashed n-grams, the last row padding.
    Words outside the vocabulary get the mean of their n-gram vectors (`vectors_for`).
    """

    def __init__(self, vocab, objective, optimizer, scheduler=None, vector_size: int = 100,
                 architecture: str = "skipgram", min_n: int = 3, max_n: int = 6, bucket: int = 2_000_000,
                 subword_reduce: str = "mean", context_reduce: str = "mean", examples_per_step: int = 1024):
        if architecture not in ARCHITECTURES:
            raise UserError(f"model.architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}.")
        if subword_reduce not in REDUCTIONS or context_reduce not in REDUCTIONS:
            raise UserError(f"model.subword_reduce and model.context_reduce must be one of {', '.join(REDUCTIONS)}.")
        self.min_n, self.max_n = positive_int(min_n, "model.min_n"), positive_int(max_n, "model.max_n")
        if self.max_n < self.min_n:
            raise UserError(f"model.max_n ({max_n}) must be at least model.min_n ({min_n}).")
        if not (isinstance(bucket, int) and bucket >= 0):
            raise UserError(f"model.bucket must be an integer >= 0 (0: no n-grams), got {bucket!r}.")
        self.bucket, self.subword_reduce = bucket, subword_reduce
        super().__init__(vocab, objective, optimizer, scheduler, vector_size, examples_per_step)
        self.architecture, self.context_reduce = architecture, context_reduce
        self.save_hyperparameters(ignore=["vocab", "objective", "optimizer", "scheduler"])
        table = subword_table(vocab.itos, list(range(len(vocab))), self.min_n, self.max_n, self.bucket,
                              offset=len(vocab), pad=self.pad_row)
        self.register_buffer("subwords", torch.from_numpy(table), persistent=False)  # (V, S)

    @property
    def pad_row(self) -> int:
        return len(self.vocab) + self.bucket

    def build_input(self) -> nn.Module:
        """fastText's initialisation: words and n-grams uniform in [-1/d, 1/d]; padding row zero."""
        bag = nn.EmbeddingBag(self.pad_row + 1, self.vector_size, mode="sum", sparse=True, padding_idx=self.pad_row)
        with torch.no_grad():
            bag.weight.uniform_(-1.0 / self.vector_size, 1.0 / self.vector_size)
            bag.weight[self.pad_row].zero_()
        return bag

    def compose(self, rows: torch.Tensor) -> torch.Tensor:
        """(N, S) padded row ids -> (N, d): their sum or mean, each row getting the full gradient."""
        total = self.input(rows)                                              # (N, d)
        if self.subword_reduce == "sum":
            return total
        count = (rows != self.pad_row).sum(1, keepdim=True).clamp(min=1).to(total.dtype)  # (N, 1)
        return total / count + (total - total.detach()) * (1.0 - 1.0 / count)

    def embed(self, word_ids: torch.Tensor) -> torch.Tensor:
        """(...,) vocabulary ids -> (..., d) subword-composed vectors."""
        flat = self.compose(self.subwords[word_ids.reshape(-1)])  # (N, d)
        return flat.reshape(*word_ids.shape, self.vector_size)

    def pair_losses(self, batch):
        if self.architecture == "skipgram":
            return self.objective(self.embed(batch["centers"]), batch["contexts"])
        hidden = context_vector(self.embed(batch["contexts"]), batch["context_mask"], self.context_reduce)
        return self.objective(hidden, batch["centers"])

    def input_vectors(self) -> torch.Tensor:
        ids = torch.arange(len(self.vocab), device=self.subwords.device)
        return torch.cat([self.embed(part) for part in ids.split(65536)])

    @torch.no_grad()
    def vectors_for(self, words: list[str]) -> torch.Tensor:
        """(len(words), d) vectors for any words: in-vocabulary words as trained, others from n-grams."""
        ids = [self.vocab.stoi.get(w) for w in words]
        table = subword_table(words, ids, self.min_n, self.max_n, self.bucket, len(self.vocab), self.pad_row)
        return self.compose(torch.from_numpy(table).to(self.subwords.device))

    def subword_state(self) -> dict:
        """What `export.load_fasttext_vectors` needs: raw word rows (no specials), n-gram rows, settings."""
        weights = self.input.weight.detach().float().cpu().numpy()
        start, words = self.vocab.num_specials, len(self.vocab)
        return {"word_rows": weights[start:words], "ngram_rows": weights[words: words + self.bucket],
                "min_n": self.min_n, "max_n": self.max_n, "bucket": self.bucket,
                "subword_reduce": self.subword_reduce}
