"""Counting n-gram language models: vectorised counts, smoothing, ARPA files."""
