"""One LightningModule per kind of training (the `task` config group); each model config names its task.

- `embedding.py`: word2vec-family encoders x any objective, stepped through an updater (`updaters/`).
- `count.py`: word vectors fitted from co-occurrence counts (PPMI+SVD; GloVe's own AdaGrad).
- `next_token.py`: what every language-model task shares: perplexity over whole splits, next-token distributions.
- `neural_lm.py`: neural language models (NNLM, RNN/GRU/LSTM, Transformer) x any objective.
- `ngram.py`: counting n-gram language models, scored with the same perplexity code.
- `bilm.py`: ELMo's bidirectional language model, perplexity in each direction.
- `classify.py`: sentence classifiers (bag of vectors, TextCNN, biRNN, Tree-LSTM) x a label softmax.

`base.Task` lists what every task declares; the run, the callbacks and the CLIs ask
the task, never the parts inside it. Every task keeps the part it trains as `model`.
"""
