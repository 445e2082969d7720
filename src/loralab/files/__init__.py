"""Naming and reading files safely: a run folder's file names, capped reads of regular files only,
safetensors headers and content hashes. The bottom layer: it imports nothing else of loralab but
``terminal_text``."""
