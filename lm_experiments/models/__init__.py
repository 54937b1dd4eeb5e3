"""The parts tasks train: one plain `nn.Module` per architecture (`base.py` says what each kind declares).

- token embedders: `embedders.py` (word lookup), `subwords.py` (fastText's hashed n-grams);
- word2vec-family encoders: `skipgram.py`, `cbow.py`, `fasttext.py`;
- count models: `glove.py`, `svd.py` (PPMI + SVD), `ngram.py` (n-gram counts and smoothing);
- language-model encoders: `nnlm.py`, `recurrent.py` (RNN/GRU/LSTM), `transformer.py`;
- ELMo: `char_cnn.py` (tokens from characters), `elmo.py` (the biLM), `scalar_mix.py`, `elmo_vectors.py`
  (a frozen biLM's mixed vectors for a classifier);
- sentence encoders: `bow.py`, `textcnn.py`, `birnn.py`, `treelstm.py`, reading words through
  `sentence_embedding.py` (Kim's modes), which takes pretrained rows from `pretrained.py`.

The `model` config group builds one of them; the `task` it names builds the objective and the loop
around it. A model is handed what it needs (the vocabulary, a trained biLM); none loads a run.
"""
