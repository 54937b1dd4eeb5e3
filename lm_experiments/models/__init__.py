"""One file per architecture; each a small LightningModule (encoder x objective)."""
