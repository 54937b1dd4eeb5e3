"""Every model keeps its vocabulary in its checkpoints and refuses one trained with another."""

import numpy as np
import pytest

from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError
from lm_experiments.models.glove import GloVe
from lm_experiments.models.ngram import NGramLM
from lm_experiments.models.nnlm import NNLM
from lm_experiments.models.recurrent import RecurrentLM
from lm_experiments.models.skipgram import SkipGram
from lm_experiments.models.svd import PPMISVD
from lm_experiments.models.transformer import TransformerLM
from lm_experiments.objectives.full import FullSoftmax

WORDS = ["<unk>", "<eos>", "a", "b", "c", "d"]
VOCAB = Vocabulary(WORDS, np.array([1, 1, 9, 7, 5, 3]))
OTHER = Vocabulary(WORDS[:2] + ["a", "c", "b", "d"], np.array([1, 1, 9, 7, 5, 3]))


def full(vocab, dim, **options):
    return FullSoftmax(vocab, dim)


MODELS = {
    "skipgram": lambda vocab: SkipGram(vocab, full, None, vector_size=4),
    "glove": lambda vocab: GloVe(vocab, vector_size=4),
    "svd": lambda vocab: PPMISVD(vocab, vector_size=2),
    "ngram": lambda vocab: NGramLM(vocab, order=2),
    "nnlm": lambda vocab: NNLM(vocab, full, None, order=3, embedding_dim=4, hidden_dim=4),
    "lstm": lambda vocab: RecurrentLM(vocab, full, None, embedding_dim=4, hidden_dim=4),
    "transformer": lambda vocab: TransformerLM(vocab, full, None, d_model=4, num_heads=1, num_layers=1,
                                               block_size=4),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_checkpoints_carry_the_vocabulary_and_refuse_another(name):
    checkpoint = {}
    MODELS[name](VOCAB).on_save_checkpoint(checkpoint)
    assert checkpoint["vocab"]["itos"] == WORDS
    MODELS[name](VOCAB).on_load_checkpoint(checkpoint)  # the same vocabulary loads
    with pytest.raises(UserError, match="another vocabulary .* first differ at index 3"):
        MODELS[name](OTHER).on_load_checkpoint(checkpoint)


def test_an_ngram_checkpoint_restores_its_counts():
    model = NGramLM(VOCAB, order=2)
    stream = np.array([2, 3, 1, 2, 4, 1, 5, 2, 1])
    model.fit_counts(stream)
    checkpoint = {}
    model.on_save_checkpoint(checkpoint)
    restored = NGramLM(VOCAB, order=2)
    restored.on_load_checkpoint(checkpoint)
    np.testing.assert_allclose(restored.stream_log_probs(stream), model.stream_log_probs(stream))
