"""Checkpoints carry their vocabulary, and refuse to load into a run whose rows mean other words."""

from lm_experiments.errors import UserError


class VocabularyCheckpoint:
    """Mixin for LightningModules with a `self.vocab`: rows of every table are vocabulary indices,
    so a checkpoint is only meaningful under the vocabulary it was trained with."""

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vocab"] = {"itos": self.vocab.itos, "counts": self.vocab.counts.tolist()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Refuse a checkpoint whose rows mean other words: its weights would be silently wrong."""
        saved = checkpoint.get("vocab", {}).get("itos")
        if saved is not None and saved != self.vocab.itos:
            first = next((i for i, (a, b) in enumerate(zip(saved, self.vocab.itos)) if a != b),
                         min(len(saved), len(self.vocab.itos)))
            raise UserError(
                f"The checkpoint was trained with another vocabulary ({len(saved)} entries, this run has "
                f"{len(self.vocab)}; they first differ at index {first}). Resume with the data settings "
                f"(corpus, data.min_count, data.max_size, tokenizer) of the run that wrote it."
            )
