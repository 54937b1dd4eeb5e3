"""One LightningModule per kind of training (the `task` config group); each model config names its task.

- `embedding`: word2vec-family encoders x any objective, sparse SGD steps behind an updater seam.
- `count`: word vectors fitted from co-occurrence counts (PPMI+SVD; GloVe's own AdaGrad).
- `language_model`: neural language models, any objective, perplexity and generation.
- `ngram`: counting n-gram language models, scored with the same perplexity code.
- `bilm`: ELMo's bidirectional language model, perplexity in each direction.
- `classify`: sentence classifiers (bag of vectors, TextCNN, biRNN, Tree-LSTM) x a label softmax.

`base.Task` lists what every task declares; the run, the callbacks and the CLIs ask
the task, never the parts inside it.
"""
