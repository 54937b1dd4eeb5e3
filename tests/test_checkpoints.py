"""Every task keeps its vocabulary in its checkpoints and refuses one trained with another."""

import numpy as np
import pytest
import torch

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.glove import GloVe
from lm_experiments.models.ngram import NGramModel
from lm_experiments.models.nnlm import NNLM
from lm_experiments.models.recurrent import RecurrentEncoder
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.models.svd import PPMISVD
from lm_experiments.models.transformer import CausalTransformer
from lm_experiments.objectives.full import FullSoftmax
from lm_experiments.tasks.count import CountVectorsTask
from lm_experiments.tasks.embedding import WordEmbeddingTask
from lm_experiments.tasks.neural_lm import NeuralLMTask
from lm_experiments.tasks.ngram import NGramTask

WORDS = ["<unk>", "<eos>", "a", "b", "c", "d"]
VOCAB = Vocabulary(WORDS, np.array([1, 1, 9, 7, 5, 3]))
OTHER = Vocabulary(WORDS[:2] + ["a", "c", "b", "d"], np.array([1, 1, 9, 7, 5, 3]))


def full(vocab, dim, **options):
    return FullSoftmax(vocab, dim)


def lm(vocab, encoder):
    return NeuralLMTask(vocab, encoder, full, None)


TASKS = {
    "skipgram": lambda vocab: WordEmbeddingTask(vocab, SkipGram(vocab, vector_size=4), full, None),
    "glove": lambda vocab: CountVectorsTask(vocab, GloVe(vocab, vector_size=4)),
    "svd": lambda vocab: CountVectorsTask(vocab, PPMISVD(vocab, vector_size=2)),
    "ngram": lambda vocab: NGramTask(vocab, NGramModel(vocab, order=2)),
    "nnlm": lambda vocab: lm(vocab, NNLM(vocab, order=3, embedding_dim=4, hidden_dim=4)),
    "lstm": lambda vocab: lm(vocab, RecurrentEncoder(vocab, embedding_dim=4, hidden_dim=4)),
    "transformer": lambda vocab: lm(vocab, CausalTransformer(vocab, d_model=4, num_heads=1, num_layers=1,
                                                             block_size=4)),
}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_checkpoints_carry_the_vocabulary_and_refuse_another(name):
    checkpoint = {}
    TASKS[name](VOCAB).on_save_checkpoint(checkpoint)
    assert checkpoint["vocab"]["itos"] == WORDS
    TASKS[name](VOCAB).on_load_checkpoint(checkpoint)  # the same vocabulary loads
    with pytest.raises(UserError, match="another vocabulary .* first differ at index 3"):
        TASKS[name](OTHER).on_load_checkpoint(checkpoint)


def test_an_ngram_checkpoint_restores_its_counts():
    task = NGramTask(VOCAB, NGramModel(VOCAB, order=2))
    stream = np.array([2, 3, 1, 2, 4, 1, 5, 2, 1])
    task.model.fit(stream)
    checkpoint = {}
    task.on_save_checkpoint(checkpoint)
    restored = NGramTask(VOCAB, NGramModel(VOCAB, order=2))
    restored.on_load_checkpoint(checkpoint)
    np.testing.assert_allclose(restored.model.stream_log_probs(stream), task.model.stream_log_probs(stream))


def test_a_run_folder_written_before_the_renames_still_loads(skipgram_run, tmp_path):
    """Old run folders name the trained part `encoder.*` in their checkpoints and the classes by their old
    module paths in config.yaml; load_run reads them as they are."""
    import shutil

    from omegaconf import OmegaConf

    from lm_experiments.old_names import MOVED_TARGETS, read_as_today
    from lm_experiments.run.api import load_run

    old = tmp_path / "old"
    shutil.copytree(skipgram_run, old)
    cfg = OmegaConf.load(old / "config.yaml")
    cfg.task.updater._target_ = "lm_experiments.kernels.updater.Auto"
    OmegaConf.save(cfg, old / "config.yaml")
    state = torch.load(old / "checkpoints" / "last.ckpt", weights_only=False)
    state["state_dict"] = {key.replace("model.", "encoder.", 1): value for key, value in state["state_dict"].items()}
    torch.save(state, old / "checkpoints" / "last.ckpt")

    loaded, current = load_run(old), load_run(skipgram_run)
    assert loaded.vectors.index_to_key == current.vectors.index_to_key
    np.testing.assert_array_equal(loaded.vectors.vectors, current.vectors.vectors)
    lm = OmegaConf.create({"task": {"_target_": "lm_experiments.tasks.language_model.LanguageModelTask"}})
    read_as_today(lm)
    assert lm.task._target_ == MOVED_TARGETS["lm_experiments.tasks.language_model.LanguageModelTask"]
