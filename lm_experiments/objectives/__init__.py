"""Output layers: hidden vector(s) -> loss over the vocabulary (the `sampler` config group)."""
