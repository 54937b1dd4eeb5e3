"""The TensorBoard projector's files for a run's word vectors, so `tensorboard --logdir` shows the space."""

from lightning.pytorch.loggers import TensorBoardLogger

from lm_experiments.callbacks.base import TaskCallback
from lm_experiments.errors import positive_int
from lm_experiments.tasks.base import Provides

PROJECTOR_TAG = "word_vectors"


class EmbeddingProjector(TaskCallback):
    """At the end of training, the `words` most frequent words and their vectors go to every TensorBoard logger
    of the run (`SummaryWriter.add_embedding`: `tensors.tsv`, `metadata.tsv` and `projector_config.pbtxt` in the
    logger's folder). The projector then offers PCA, t-SNE and UMAP views and nearest neighbours in the browser,
    the interactive counterpart of `embedding_map.png`. Runs without a TensorBoard logger write nothing."""

    requires = Provides.WORD_VECTORS

    def __init__(self, words: int = 10000):
        self.words = positive_int(words, "callbacks.embedding_projector.words")

    def on_train_end(self, trainer, pl_module):
        writers = [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
        if not writers or not trainer.is_global_zero:
            return
        words, vectors = pl_module.word_vectors()
        words, vectors = words[: self.words], vectors[: self.words].float().cpu()   # (n, d)
        for writer in writers:
            writer.add_embedding(vectors, metadata=words, tag=PROJECTOR_TAG, global_step=trainer.global_step)
            writer.flush()
