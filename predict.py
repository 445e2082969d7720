"""Label texts with a finished run: ``python predict.py <run folder> "text" ...`` (or one text per line on stdin).

Prints one line per text: the label name, its probability, and the start of the text.
"""

import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.prediction import predict_texts
from loralab.tools.run_arguments import ArgumentError, finished_run_folder, loading_the_run, split_options

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def texts_to_label(args: list[str]) -> list[str]:
    """The texts of the command line, else of stdin (one per line); none at all is refused."""
    if args:
        empty = [i for i, text in enumerate(args, 1) if not text.strip()]
        if empty:
            raise ArgumentError(f"text {empty[0]} of the command line is empty; pass texts with words in them")
        return args
    if sys.stdin.isatty():
        raise ArgumentError('no text to label; pass texts after the run folder ("a review" ...) or pipe one per line')
    texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise ArgumentError("stdin held no text (only empty lines); pipe one text per line, or pass texts as arguments")
    return texts


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    args, _ = split_options(sys.argv[2:], known=())
    run_dir = finished_run_folder(sys.argv[1])
    texts = texts_to_label(args)
    predictions = loading_the_run(run_dir, lambda: predict_texts(run_dir, CONFIG_DIR, texts))
    for text, (label, probability) in zip(texts, predictions):
        snippet = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label}\t{probability:.3f}\t{snippet}")


if __name__ == "__main__":
    run_cli(main)
