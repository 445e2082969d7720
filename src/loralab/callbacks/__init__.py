"""Callbacks that Lightning and Hydra load by ``_target_``."""
