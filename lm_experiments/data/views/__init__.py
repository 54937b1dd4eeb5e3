"""Data views: how a split's id stream becomes the typed batches a task trains on (`data.view`).

Every view has the same shape (`base.View`): a training loader, an evaluation loader
for views whose task scores held-out text, and `on_device`, applied after a batch
reaches the model's device. One file per family of views:

- `word_windows`: skip-gram pairs and CBOW contexts, expanded on the device from token chunks.
- `cells`: the co-occurrence matrix for count models (GloVe, PPMI+SVD).
- `language_model`: BPTT blocks, n-gram context windows, Transformer windows, whole splits.
- `bidirectional`: windows read in both directions (ELMo's biLM), each token scored once per direction.
- `sentences`: labelled sentences as padded batches or level-sorted forests of trees (classifiers); these read
  encoded labelled splits rather than id streams (`LabelledView`, served by the labelled data module).
"""
