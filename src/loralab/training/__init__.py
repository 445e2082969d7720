"""Training: the LightningModule, its metrics and schedules, and one run from fit to metrics.json."""
