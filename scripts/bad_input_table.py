"""Run every kind of bad input through the real command lines and print what a user sees:
``python scripts/bad_input_table.py [--markdown]``. Builds its own tiny data and runs in a temp folder.

The messages themselves are asserted by the test suite; this prints the table for the docs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
MINILM = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"  # a local BERT-family model
WORDS = {0: ["awful", "dull", "boring"], 1: ["great", "superb", "moving"]}


def write_reviews(path: Path, n: int, columns: tuple[str, str] = ("text", "label"), labels: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(f"the film was {WORDS[i % 2][i % 3]} and {WORDS[i % 2][(i + 1) % 3]}", i % labels) for i in range(n)]
    pq.write_table(pa.table({columns[0]: [t for t, _ in rows], columns[1]: [y for _, y in rows]}), path)


def cli(*args: str, env: dict | None = None, script: str = "train.py") -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})},
    )
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("error:")]
    # Hydra's own composition errors come as a few lines ending with a HYDRA_FULL_ERROR hint.
    hydra = [line for line in lines if not line.startswith(("Set the environment", "[", "INFO", "Seed"))][:3]
    return result.returncode, ours[-1] if ours else " / ".join(hydra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    markdown = parser.parse_args().markdown
    tmp = Path(tempfile.mkdtemp(prefix="loralab_bad_input_"))
    good = tmp / "data"
    write_reviews(good / "imdb" / "train.parquet", 200)
    write_reviews(good / "imdb" / "test.parquet", 40)
    write_reviews(good / "ag_news" / "train.parquet", 200, labels=4)
    write_reviews(good / "ag_news" / "test.parquet", 40, labels=4)
    (tmp / "corrupt" / "imdb").mkdir(parents=True)
    (tmp / "corrupt" / "imdb" / "train.parquet").write_bytes(b"PAR1 this is not parquet")
    write_reviews(tmp / "corrupt" / "imdb" / "test.parquet", 40)
    (tmp / "empty" / "imdb").mkdir(parents=True)
    (tmp / "empty" / "imdb" / "train.parquet").write_bytes(b"")
    write_reviews(tmp / "empty" / "imdb" / "test.parquet", 40)
    write_reviews(tmp / "columns" / "imdb" / "train.parquet", 200, columns=("review", "label"))
    write_reviews(tmp / "columns" / "imdb" / "test.parquet", 40, columns=("review", "label"))
    write_reviews(tmp / "labels" / "imdb" / "train.parquet", 200, labels=3)
    write_reviews(tmp / "labels" / "imdb" / "test.parquet", 40)
    (tmp / "not_a_folder").write_text("a file")
    save_file({"weight": torch.zeros(2)}, str(tmp / "other_arch.safetensors"))
    (tmp / "damaged.ckpt").write_bytes(b"PK\x03\x04 truncated")

    quick = [
        f"paths.data_dir={good}",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
    ]
    runs = tmp / "runs"
    pretrain = runs / "pretrain"
    lora_run = runs / "lora"
    setup = [
        cli(*quick, "experiment=agnews_pretrain", f"hydra.run.dir={pretrain}"),
        cli(*quick, "experiment=imdb_lora", f"model.pretrained={pretrain}", f"hydra.run.dir={lora_run}"),
        cli(
            *quick,
            "experiment=agnews_pretrain",
            "model.net.embed_dim=8",
            "model.net.hidden_dim=4",
            f"hydra.run.dir={runs / 'small'}",
        ),
        cli(
            *quick,
            "experiment=agnews_pretrain",
            "model.tokenizer.min_frequency=1",
            "model.tokenizer.max_size=10",
            f"hydra.run.dir={runs / 'other_vocab'}",
        ),
    ]
    if any(code for code, _ in setup):
        raise SystemExit(f"setting up the runs failed: {setup}")
    cases = [
        ("unknown config option", [*quick, "model=lora_distlbert"], {}),
        ("unknown config key", [*quick, "model=lora_textclassifier", "model.lora.rnak=4"], {}),
        ("LoRA rank <= 0", [*quick, "model=lora_textclassifier", "model.lora.rank=0"], {}),
        ("negative alpha", [*quick, "model=lora_textclassifier", "model.lora.alpha=-1"], {}),
        ("dropout outside [0, 1)", [*quick, "model=lora_textclassifier", "model.lora.dropout=1.0"], {}),
        ("target module matches nothing", [*quick, "model=lora_textclassifier", "model.lora.target_modules=[fc3]"], {}),
        (
            "PEFT target module matches nothing",
            [*quick, "model=lora_bert", f"model.backbone={MINILM}", "model.lora.target_modules=[q_lin]"],
            {},
        ),
        ("no data, offline", [*quick, f"paths.data_dir={tmp / 'nowhere'}"], {}),
        ("corrupt parquet file", [*quick, f"paths.data_dir={tmp / 'corrupt'}"], {}),
        ("empty (0-byte) parquet file", [*quick, f"paths.data_dir={tmp / 'empty'}"], {}),
        ("no text column", [*quick, f"paths.data_dir={tmp / 'columns'}"], {}),
        ("labels outside the model's classes", [*quick, f"paths.data_dir={tmp / 'labels'}"], {}),
        ("empty split after data.max_train_samples", [*quick, "data.max_train_samples=0"], {}),
        ("pretrained model left unset", [*quick, "experiment=imdb_lora"], {}),
        (
            "pretrained checkpoint missing",
            [*quick, "experiment=imdb_lora", f"model.pretrained={tmp / 'no_such_run'}"],
            {},
        ),
        (
            "pretrained checkpoint of another architecture",
            [*quick, "experiment=imdb_lora", f"model.pretrained={runs / 'small'}"],
            {},
        ),
        (
            "pretrained file that is no TextClassifier",
            [
                *quick,
                "experiment=imdb_lora",
                f"model.pretrained={tmp / 'other_arch.safetensors'}",
                f"model.tokenizer.vocab_path={pretrain}",
            ],
            {},
        ),
        (
            "pretrained checkpoint with another vocabulary",
            [
                *quick,
                "experiment=imdb_lora",
                f"model.pretrained={pretrain}",
                f"model.tokenizer.vocab_path={runs / 'other_vocab'}",
            ],
            {},
        ),
        ("damaged checkpoint to resume from", [*quick, f"ckpt_path={tmp / 'damaged.ckpt'}"], {}),
        ("resume a folder with no checkpoint", [f"resume={tmp}"], {}),
        ("NaN / infinite loss", [*quick, "optim.optimizer.lr=1e30"], {}),
        ("output folder cannot be written", [*quick, f"hydra.run.dir={tmp / 'not_a_folder' / 'run'}"], {}),
    ]
    rows = [
        (name, "python train.py " + " ".join(a for a in args if a not in quick), *cli(*args, env=env))
        for name, args, env in cases
    ]
    with (pretrain / "model.safetensors").open("ab") as file:  # the base changes after the adapter was trained
        file.write(b" ")
    code, message = cli(str(lora_run), script="eval.py")
    rows.append(("adapter on a changed base model (sha256)", f"python eval.py {lora_run}", code, message))
    text = str(tmp)
    if markdown:
        print("| bad input | command | exit code | message |\n|---|---|---|---|")
        for name, command, code, message in rows:
            print(f"| {name} | `{command.replace(text, '$TMP')}` | {code} | `{message.replace(text, '$TMP')}` |")
    else:
        for name, command, code, message in rows:
            print(f"{name}\n  $ {command.replace(text, '$TMP')}\n  exit {code}: {message.replace(text, '$TMP')}")


if __name__ == "__main__":
    main()
