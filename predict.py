"""Label texts with a finished run: ``python predict.py <run folder> [model.pretrained=<base>] "text" ...``
(or one text per line on stdin).

Prints one line per text: the label name, its probability, and the start of the text. The model
is rebuilt from the folder's ``run_config.json``; ``model.pretrained=<path>`` names the base of a
run moved away from it (checked by sha256).
"""

import sys

from loralab.cli_errors import run_cli
from loralab.runs.open_run import take_base_argument
from loralab.tools.prediction import predict_texts


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    base, texts = take_base_argument(sys.argv[2:])
    texts = texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for text, (label, probability) in zip(texts, predict_texts(sys.argv[1], texts, base=base)):
        snippet = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label}\t{probability:.3f}\t{snippet}")


if __name__ == "__main__":
    run_cli(main)
