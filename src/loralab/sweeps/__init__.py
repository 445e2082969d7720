"""Sweeps: failed jobs recorded, and one summary table and plot per sweep folder."""
