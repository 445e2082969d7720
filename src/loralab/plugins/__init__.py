"""Lightning plugins loaded by ``_target_``: checkpoint I/O and precision."""
