"""How the word-embedding task turns a batch of examples into parameter updates (`task/updater=...`).

- `base.py`: the `Updater` interface and `AutogradSGD`, the readable reference (autograd SGD steps);
- `fused.py`: `FusedCPU` and `FusedGPU`, word2vec's per-example steps through the kernels in `kernels/`;
- `auto.py`: `Auto`, a fused kernel wherever one applies, else the reference;
- `replicas.py`: data parallelism, each process stepping alone and the changes added up after a batch.
"""
