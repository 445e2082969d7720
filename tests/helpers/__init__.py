"""What test modules share besides fixtures (those stay in ``tests/conftest.py``), one module per role:
``paths``, ``tiny_data``, ``train_configs``, ``tiny_backbone``, ``entry_points``, ``run_folders``."""
