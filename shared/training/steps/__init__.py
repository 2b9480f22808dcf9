"""The training pipeline's steps, one module per Durable activity (or per phase of them)."""
