"""Merge a run's LoRA adapter into its base: ``python export.py <run folder> <output folder> [--force]``
(``loralab-export`` once the package is installed). ``python export.py --help`` lists the arguments."""

from loralab.console_scripts import export

if __name__ == "__main__":
    export()
