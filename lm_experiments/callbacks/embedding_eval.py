"""Analogy, similarity and nearest-neighbour evaluation of a model's word vectors during training."""

import logging

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from lm_experiments.evaluation.analogy import AnalogyEvaluator
from lm_experiments.evaluation.benchmarks import benchmark_path
from lm_experiments.evaluation.neighbours import nearest_neighbours
from lm_experiments.evaluation.similarity import SimilarityEvaluator

log = logging.getLogger(__name__)


class EmbeddingEvaluation(L.Callback):
    """Logs `val/analogy` (3CosAdd), `val/analogy_mul` (3CosMul), `val/ws353`, `val/simlex` (Spearman)
    and their OOV percentages every `every_n_epochs` epochs and after the last one.

    Does nothing for modules without `word_vectors()`. The evaluation files default
    to the copies installed with gensim, so it works offline.
    """

    def __init__(self, analogies: str | None = None, similarity: dict[str, str | None] | None = None,
                 restrict_vocab: int = 30000, similarity_restrict_vocab: int = 300000,
                 case_insensitive: bool = True, neighbours: list[str] | None = None, topn: int = 5,
                 every_n_epochs: int = 1):
        self.analogy_path = benchmark_path(analogies, "analogies")
        names = similarity if similarity is not None else {"ws353": None, "simlex": None}
        self.similarity_paths = {name: benchmark_path(path, name) for name, path in names.items()}
        self.restrict_vocab = restrict_vocab
        self.similarity_restrict_vocab = similarity_restrict_vocab
        self.case_insensitive = case_insensitive
        self.neighbour_queries = list(neighbours or [])
        self.topn = topn
        self.every_n_epochs = every_n_epochs
        self.analogy = None
        self.similarity = {}
        self.last_neighbours: dict[str, list[tuple[str, float]]] = {}

    def setup(self, trainer, pl_module, stage):
        if not hasattr(pl_module, "word_vectors") or self.analogy is not None:
            return
        words, _ = pl_module.word_vectors()
        self.analogy = AnalogyEvaluator(words, self.analogy_path, self.restrict_vocab, self.case_insensitive)
        self.similarity = {name: SimilarityEvaluator(words, path, self.similarity_restrict_vocab,
                                                     self.case_insensitive)
                           for name, path in self.similarity_paths.items()}

    def evaluate(self, pl_module) -> dict[str, float]:
        words, vectors = pl_module.word_vectors()
        metrics = {f"val/{k}": v for k, v in self.analogy(vectors).items()}
        for name, evaluator in self.similarity.items():
            scores = evaluator(vectors)
            metrics[f"val/{name}"] = scores["spearman"]
            metrics[f"val/{name}_oov"] = scores["oov"]
        queries = self.neighbour_queries or words[:5]
        self.last_neighbours = nearest_neighbours(words, vectors, queries, self.topn, self.restrict_vocab)
        return metrics

    def on_train_epoch_end(self, trainer, pl_module):
        if self.analogy is None or trainer.sanity_checking:
            return
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0) or trainer.should_stop
        if (trainer.current_epoch + 1) % self.every_n_epochs and not last:
            return
        metrics = self.evaluate(pl_module)
        pl_module.log_dict(metrics, on_epoch=True, sync_dist=False)
        lines = [f"  {q}: " + ", ".join(f"{w} ({s:.2f})" for w, s in ns) for q, ns in self.last_neighbours.items()]
        rank_zero_info(
            f"epoch {trainer.current_epoch}: analogy {metrics['val/analogy']:.4f} (3CosMul "
            f"{metrics['val/analogy_mul']:.4f}, {metrics['val/analogy_oov']:.1f}% OOV), "
            + ", ".join(f"{n} {metrics[f'val/{n}']:.4f}" for n in self.similarity)
            + ("\nnearest neighbours:\n" + "\n".join(lines) if lines else "")
        )
