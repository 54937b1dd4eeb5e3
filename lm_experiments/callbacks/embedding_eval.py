"""Analogy, similarity and nearest-neighbour evaluation of a model's word vectors during training."""

import logging
from pathlib import Path

import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.errors import positive_int
from lm_experiments.evaluation.analogy import AnalogyEvaluator
from lm_experiments.evaluation.benchmarks import benchmark_path, read_analogies, read_pairs
from lm_experiments.evaluation.neighbours import nearest_neighbours
from lm_experiments.evaluation.similarity import SimilarityEvaluator
from lm_experiments.files import atomic_write
from lm_experiments.run.folder import NEIGHBOURS_FILE
from lm_experiments.tasks.base import Provides

log = logging.getLogger(__name__)


class EmbeddingEvaluation(TaskCallback):
    """Logs `val/analogy` (3CosAdd), `val/analogy_mul` (3CosMul), `val/ws353`, `val/simlex` (Spearman)
    and their OOV percentages every `every_n_epochs` epochs and after the last one, in one console line each;
    the nearest neighbours of the query words once, after training, on the console and in `neighbours.txt`
    in `dirpath` (the run folder), and after every evaluation in a W&B table.

    For tasks that provide word vectors. The evaluation files default to the copies
    installed with gensim, so it works offline. For tasks that also provide vectors for
    unseen words (fastText's n-grams), the evaluation words outside the vocabulary get
    their vectors and join the candidates, so those questions and pairs are answered
    instead of skipped.
    """

    requires = Provides.WORD_VECTORS

    def __init__(self, analogies: str | None = None, similarity: dict[str, str | None] | None = None,
                 restrict_vocab: int = 30000, similarity_restrict_vocab: int = 300000,
                 case_insensitive: bool = True, neighbours: list[str] | None = None, topn: int = 5,
                 every_n_epochs: int = 1, dirpath: str | None = None):
        self.analogy_path = benchmark_path(analogies, "analogies")
        names = similarity if similarity is not None else {"ws353": None, "simlex": None}
        self.similarity_paths = {name: benchmark_path(path, name) for name, path in names.items()}
        self.restrict_vocab = restrict_vocab
        self.similarity_restrict_vocab = similarity_restrict_vocab
        self.case_insensitive = case_insensitive
        self.neighbour_queries = list(neighbours or [])
        self.topn = topn
        self.every_n_epochs = positive_int(every_n_epochs, "callbacks.embedding_eval.every_n_epochs")
        self.dirpath = dirpath
        self.analogy = None
        self.similarity = {}
        self.last_neighbours: dict[str, list[tuple[str, float]]] = {}

    def _unseen(self, words: list[str], restrict: int, files_words: list[str]) -> list[str]:
        """Evaluation words outside the first `restrict` words (lower-cased when case is folded)."""
        fold = str.upper if self.case_insensitive else (lambda w: w)
        known = {fold(w) for w in words[:restrict]}
        wanted = (w.lower() if self.case_insensitive else w for w in files_words)
        return list(dict.fromkeys(w for w in wanted if fold(w) not in known))

    def setup(self, trainer, pl_module, stage):
        if self.analogy is not None:
            return
        words, _ = pl_module.word_vectors()
        self.extra = {"analogy": [], "similarity": []}
        if Provides.UNSEEN_WORD_VECTORS in pl_module.provides:
            asked = [w for _, q in read_analogies(self.analogy_path) for w in q]
            paired = [w for path in self.similarity_paths.values() for a, b, _ in read_pairs(path) for w in (a, b)]
            self.extra = {"analogy": self._unseen(words, self.restrict_vocab, asked),
                          "similarity": self._unseen(words, self.similarity_restrict_vocab, paired)}
        analogy_words = words[: self.restrict_vocab] + self.extra["analogy"]
        similarity_words = words[: self.similarity_restrict_vocab] + self.extra["similarity"]
        self.analogy = AnalogyEvaluator(analogy_words, self.analogy_path, len(analogy_words), self.case_insensitive)
        self.similarity = {name: SimilarityEvaluator(similarity_words, path, len(similarity_words),
                                                     self.case_insensitive)
                           for name, path in self.similarity_paths.items()}

    def _with_unseen(self, pl_module, vectors, restrict: int, extra: list[str]):
        if not extra:
            return vectors[:restrict]
        return torch.cat([vectors[:restrict], pl_module.vectors_for(extra).to(vectors.dtype)])

    def evaluate(self, pl_module) -> dict[str, float]:
        words, vectors = pl_module.word_vectors()
        analogy_vectors = self._with_unseen(pl_module, vectors, self.restrict_vocab, self.extra["analogy"])
        metrics = {f"val/{k}": v for k, v in self.analogy(analogy_vectors).items()}
        similarity_vectors = self._with_unseen(pl_module, vectors, self.similarity_restrict_vocab,
                                               self.extra["similarity"])
        for name, evaluator in self.similarity.items():
            scores = evaluator(similarity_vectors)
            metrics[f"val/{name}"] = scores["spearman"]
            metrics[f"val/{name}_oov"] = scores["oov"]
        queries = self.neighbour_queries or words[:5]
        self.last_neighbours = nearest_neighbours(words, vectors, queries, self.topn, self.restrict_vocab)
        return metrics

    def _log_neighbour_table(self, trainer) -> None:
        """The nearest neighbours of the query words as a W&B table (one row per neighbour), when W&B logs."""
        rows = [[trainer.current_epoch, query, rank, word, float(score)]
                for query, found in self.last_neighbours.items() for rank, (word, score) in enumerate(found, 1)]
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and trainer.is_global_zero and rows:
                logger.log_table(key="neighbours", columns=["epoch", "query", "rank", "neighbour", "cosine"], data=rows)

    def on_train_epoch_end(self, trainer, pl_module):
        if self.analogy is None or trainer.sanity_checking:
            return
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0) or trainer.should_stop
        if (trainer.current_epoch + 1) % self.every_n_epochs and not last:
            return
        metrics = self.evaluate(pl_module)
        pl_module.log_dict(metrics, on_epoch=True, sync_dist=False)  # every DDP replica holds the same weights
        self._log_neighbour_table(trainer)
        rank_zero_info(
            f"epoch {trainer.current_epoch}: analogy {metrics['val/analogy']:.4f} (3CosMul "
            f"{metrics['val/analogy_mul']:.4f}, {metrics['val/analogy_oov']:.1f}% OOV), "
            + ", ".join(f"{n} {metrics[f'val/{n}']:.4f}" for n in self.similarity))

    def on_train_end(self, trainer, pl_module):
        """The last evaluation's nearest neighbours, once: on the console and in the run folder."""
        if not self.last_neighbours or not trainer.is_global_zero:
            return
        lines = [f"{q}: " + ", ".join(f"{w} ({s:.2f})" for w, s in ns) for q, ns in self.last_neighbours.items()]
        rank_zero_info("nearest neighbours (cosine):\n" + "\n".join(f"  {line}" for line in lines))
        if self.dirpath is not None:
            with atomic_write(Path(self.dirpath) / NEIGHBOURS_FILE) as handle:
                handle.writelines(f"{line}\n" for line in lines)
