"""Evaluate a finished run: ``python eval.py <run folder> [data=ag_news] [split=test|val|train] [--force] [key=value ...]``
(``loralab-eval`` once the package is installed). ``python eval.py --help`` lists the arguments."""

from loralab.console_scripts import evaluate

if __name__ == "__main__":
    evaluate()
