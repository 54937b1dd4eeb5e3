"""Quality numbers for embeddings (analogy, similarity, neighbours) and language models."""
