"""Corpora, vocabulary, the cached token stream, views and the Lightning DataModule."""
