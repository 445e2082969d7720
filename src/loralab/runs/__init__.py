"""Run folders: their files, the saved model or adapter, provenance, and resuming."""
