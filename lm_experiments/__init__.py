"""lm_experiments: classic language models and word embeddings as Hydra + Lightning experiments."""

__version__ = "0.1.0"
