"""Label texts with a finished run: ``python predict.py <run folder> "text" ...`` (or one text per line on stdin).

Prints one line per text: the label name, its probability, and the start of the text.
"""

import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.prediction import predict_texts

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    texts = sys.argv[2:] or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for text, (label, probability) in zip(texts, predict_texts(sys.argv[1], CONFIG_DIR, texts)):
        snippet = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label}\t{probability:.3f}\t{snippet}")


if __name__ == "__main__":
    run_cli(main)
