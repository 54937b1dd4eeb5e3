"""Writes a 2-D map of the embedding space at the end of training (and to W&B and TensorBoard when they are logging)."""

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.callbacks.pictures import log_picture
from lm_experiments.errors import UserError, positive_int
from lm_experiments.evaluation.projection import METHODS, draw_map, project_2d
from lm_experiments.run.folder import EMBEDDING_MAP_FILE
from lm_experiments.tasks.base import Provides


class EmbeddingMap(TaskCallback):
    """`embedding_map.png`: the `words` most frequent words projected with PCA (or t-SNE), the
    `labelled` most frequent of them named. For tasks that provide word vectors."""

    requires = Provides.WORD_VECTORS

    def __init__(self, dirpath: str, method: str = "pca", words: int = 500, labelled: int = 200, seed: int = 0):
        if method not in METHODS:
            raise UserError(f"callbacks.embedding_map.method must be one of {', '.join(METHODS)}; got {method!r}.")
        self.dirpath, self.method, self.seed = dirpath, method, seed
        self.words = positive_int(words, "callbacks.embedding_map.words")
        self.labelled = labelled

    def on_train_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        words, vectors = pl_module.word_vectors()
        words, vectors = words[: self.words], vectors[: self.words]
        if len(words) < 3:
            return
        points = project_2d(vectors, self.method, self.seed)
        path = draw_map(words, points, f"{self.dirpath}/{EMBEDDING_MAP_FILE}", self.labelled,
                        f"{pl_module.name}: {len(words)} most frequent words ({self.method.upper()})")
        log_picture(trainer, "embedding_map", path)
