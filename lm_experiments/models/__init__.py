"""The parts tasks train: one plain `nn.Module` per architecture (`base.py` says what each kind declares).

Token embedders (`embedders`, fastText's subword bag), word2vec encoders (`skipgram`,
`cbow`, `fasttext`), language-model encoders (`nnlm`, `recurrent`, `causal
Transformer`), count models (`glove`, `svd`, `ngram`). The `model` config group
builds one of them; the `task` it names builds the objective and the loop around it.
"""
