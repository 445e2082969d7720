"""What eval.py, predict.py and export.py do with a finished run folder."""
