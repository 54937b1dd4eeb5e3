"""Lightning callbacks: evaluation during training, throughput, artefacts."""
