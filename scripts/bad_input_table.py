"""Run every kind of bad input through the real command lines and print what a user sees:
``python scripts/bad_input_table.py [--markdown] [--family values|data|tools|machine|...]``.
Builds its own tiny data and runs in a temp folder.

Each row: the family, the case, the command, whether it is refused (``refuse``: exit non-zero) or
must work (``works``: exit 0, perhaps with a warning), the exit code, a traceback seen or not, and
the line the user reads. The last lines count the rows that behave as expected. The messages
themselves are asserted by the test suite (tests/test_bad_input_*.py); this prints the table for
docs/robustness.md.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
# A local BERT-family model, beside the checkout (or a worktree's main checkout).
MINILM = (
    next(
        (p for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if (p / "models").is_dir()),
        ROOT.parent / "shared",
    )
    / "models"
    / "all-MiniLM-L6-v2"
)
WORDS = {0: ["awful", "dull", "boring"], 1: ["great", "superb", "moving"]}

# Runs train.py with one file write failing as a full disk (or a read-only folder) would make it
# fail: SIMULATE=enospc_checkpoint (a checkpoint after WRITES_BEFORE_FAILURE), enospc_text (the first text file: the
# vocabulary), readonly (any new file).
FAULTY_MACHINE = """
import errno, os, pathlib, runpy, sys, tempfile
mode, after = os.environ["SIMULATE"], int(os.environ.get("WRITES_BEFORE_FAILURE", "0"))
count = [0]
def failing(real, code):
    def call(*args, **kwargs):
        count[0] += 1
        if count[0] > after:
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)
    return call
if mode == "enospc_checkpoint":
    from lightning.fabric.plugins.io import torch_io
    torch_io._atomic_save = failing(torch_io._atomic_save, errno.ENOSPC)
elif mode == "enospc_text":
    pathlib.Path.write_text = failing(pathlib.Path.write_text, errno.ENOSPC)
elif mode == "readonly":
    tempfile.mkstemp = failing(tempfile.mkstemp, errno.EROFS)
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path("train.py", run_name="__main__")
"""


def write_reviews(path: Path, n: int, columns: tuple[str, str] = ("text", "label"), labels: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(f"the film was {WORDS[i % 2][i % 3]} and {WORDS[i % 2][(i + 1) % 3]}", i % labels) for i in range(n)]
    pq.write_table(pa.table({columns[0]: [t for t, _ in rows], columns[1]: [y for _, y in rows]}), path)


def review_rows(n: int, labels: int = 2) -> list[dict]:
    return [
        {"text": f"the film was {WORDS[i % 2][i % 3]} and {WORDS[i % 2][(i + 1) % 3]}", "label": i % labels}
        for i in range(n)
    ]


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["text,label"] + [f'"{r["text"]}",{r["label"]}' for r in rows]
    path.write_bytes(bom + ("\n".join(lines) + "\n").encode(encoding))
    return path


def write_jsonl(path: Path, rows: list[dict], bom: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bom + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    return path


def cli(*args: str, env: dict | None = None, script: str = "train.py", stdin: str | None = None) -> dict:
    """Run a command line; what the user sees of it."""
    result = subprocess.run(
        [sys.executable, script, *args] if script.endswith(".py") else [sys.executable, "-m", script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        input=stdin if stdin is not None else "",
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})},
    )
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("error:")]
    # Hydra logs to stdout: a warning of ours is "[time][loralab.<module>][WARNING] - <message>".
    logged = (result.stdout + "\n" + result.stderr).splitlines()
    warnings = [line.split("[WARNING] - ", 1)[-1] for line in logged if "[WARNING]" in line and "[loralab" in line]
    # Hydra's own composition errors come as a few lines ending with a HYDRA_FULL_ERROR hint.
    hydra = [line for line in lines if not line.startswith(("Set the environment", "[", "INFO", "Seed"))][:3]
    message = ours[-1] if ours else " / ".join(hydra)
    if result.returncode == 0:
        message = f"warning: {warnings[0]}" if warnings else "(works)"
    return {"code": result.returncode, "traceback": "Traceback" in result.stderr, "message": message}


def build_files(tmp: Path) -> Path:
    """Tiny data sets, good and bad, under ``tmp``; returns the good data folder."""
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
    # Data content, one file each (data.path=<file>: a test split is held out of it).
    files = tmp / "files"
    rows = review_rows(200)
    write_csv(files / "blank_texts.csv", [{**r, "text": "   "} if i % 10 == 0 else r for i, r in enumerate(rows)])
    write_csv(files / "all_blank.csv", [{**r, "text": " "} for r in rows])
    write_csv(files / "one_class.csv", [{**r, "label": 1} for r in rows])
    write_csv(files / "skipped_class.csv", [{**r, "label": 2 * r["label"]} for r in rows])
    (files / "word_labels.csv").write_text(
        "text,label\n" + "".join(f'"{r["text"]}",{"pos" if r["label"] else "neg"}\n' for r in rows)
    )
    write_jsonl(files / "null_labels.jsonl", [{**r, "label": None} if i == 7 else r for i, r in enumerate(rows)])
    write_jsonl(files / "float_labels.jsonl", [{**r, "label": float(r["label"])} for r in rows])
    long_rows = [{**r, "text": r["text"] + " " + "superb " * 750_000} if i == 3 else r for i, r in enumerate(rows)]
    write_csv(files / "long_review.csv", long_rows)
    write_jsonl(files / "long_review.jsonl", long_rows)
    latin = [{**r, "text": r["text"] + " café"} for r in rows]
    write_csv(files / "latin1.csv", latin, encoding="latin-1")
    (files / "latin1.jsonl").write_bytes(
        b"".join(json.dumps(r, ensure_ascii=False).encode("latin-1") + b"\n" for r in latin)
    )
    write_csv(files / "utf16.csv", latin, encoding="utf-16")  # Python writes a BOM
    write_jsonl(files / "bom.jsonl", latin, bom=codecs.BOM_UTF8)
    (files / "broken.jsonl").write_text(json.dumps(rows[0]) + "\n{not json\n")
    (files / "zero_bytes.csv").write_bytes(b"")
    (files / "header_only.csv").write_text("text,label\n")
    (files / "notes.txt").write_text("not a table")
    (files / "folder_without_test").mkdir()
    write_csv(files / "folder_without_test" / "train.csv", rows)
    return good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--family", help="only this family of cases (values, data, tools, machine, ...)")
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="loralab_bad_input_"))
    good = build_files(tmp)
    files = tmp / "files"
    faulty = tmp / "faulty_machine.py"
    faulty.write_text(FAULTY_MACHINE)

    quick = [
        f"paths.data_dir={good}",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
        f"hydra.run.dir={tmp / 'outputs'}/${{now:%H-%M-%S_%f}}",  # a case's own hydra.run.dir, later, wins
    ]
    runs = tmp / "runs"
    pretrain = runs / "pretrain"
    lora_run = runs / "lora"
    finished = runs / "finished"
    needs_runs = options.family in (None, "checkpoints", "tools", "machine")
    setup = (
        [
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
            cli(*quick, f"hydra.run.dir={finished}"),
        ]
        if needs_runs
        else []
    )
    if any(result["code"] for result in setup):
        raise SystemExit(f"setting up the runs failed: {setup}")
    # Run folders in odd states, for the tools.
    unfinished = runs / "unfinished"
    (unfinished / ".hydra").mkdir(parents=True)
    damaged = runs / "damaged"
    if needs_runs:
        subprocess.run(["cp", "-r", str(finished), str(damaged)], check=True)
        (damaged / "model.safetensors").write_bytes(b"\x00\x01 not safetensors")
    export_holder = tmp / "exported"
    export_holder.mkdir()
    (export_holder / "model.safetensors").write_text("an earlier export")
    sweep_empty = tmp / "sweep_empty"
    sweep_empty.mkdir()
    sweep_damaged = tmp / "sweep_damaged"
    (sweep_damaged / "0" / ".hydra").mkdir(parents=True)
    (sweep_damaged / "0" / ".hydra" / "overrides.yaml").write_text("- model.lora.rank=1\n")
    (sweep_damaged / "0" / "metrics.json").write_text('{"test/acc": 0.8')
    in_use = runs / "in_use"
    in_use.mkdir()
    (in_use / ".lock").write_text(f"1 {socket.gethostname()}\n")  # pid 1 is always alive
    evaluated = runs / "evaluated"
    if needs_runs:
        subprocess.run(["cp", "-r", str(finished), str(evaluated)], check=True)
        (evaluated / "eval").mkdir(exist_ok=True)
        (evaluated / "eval" / "imdb_test.json").write_text('{"test/acc": 0.9}\n')

    lora = "model=lora_textclassifier"
    values = [
        ("LoRA rank a word", [lora, "model.lora.rank=abc"]),
        ("LoRA rank a fraction", [lora, "model.lora.rank=2.5"]),
        ("LoRA rank <= 0", [lora, "model.lora.rank=0"]),
        ("negative alpha", [lora, "model.lora.alpha=-1"]),
        ("alpha a word", [lora, "model.lora.alpha=big"]),
        ("dropout outside [0, 1)", [lora, "model.lora.dropout=1.0"]),
        ("negative dropout", [lora, "model.lora.dropout=-0.1"]),
        ("unknown scaling rule", [lora, "model.lora.scaling=sqrt"]),
        ("empty target_modules", [lora, "model.lora.target_modules=[]"]),
        ("rank_pattern rank 0", [lora, "model.lora.rank_pattern={fc1:0}"]),
        ("learning rate a word", ["optim.optimizer.lr=abc"]),
        ("learning rate 0", ["optim.optimizer.lr=0"]),
        ("negative weight decay", ["optim.optimizer.weight_decay=-0.01"]),
        ("warmup ratio above 1", ["optim=adamw_warmup", "optim.scheduler.warmup_ratio=1.5"]),
        ("unknown scheduler interval", ["optim.scheduler_interval=batch"]),
        ("StepLR gamma 0", ["optim=lab_sgd", "optim.scheduler.gamma=0"]),
        ("data.max_length=0", ["data.max_length=0"]),
        ("data.max_length=-1", ["data.max_length=-1"]),
        ("batch size 0", ["data.batch_size=0"]),
        ("negative batch size", ["data.batch_size=-8"]),
        ("eval batch size a word", ["data.eval_batch_size=large"]),
        ("val_fraction 1", ["data.val_fraction=1.0"]),
        ("test_fraction 0", ["data.test_fraction=0"]),
        ("negative max_train_samples", ["data.max_train_samples=-5"]),
        ("empty split after data.max_train_samples", ["data.max_train_samples=0"]),
        ("negative num_workers", ["data.num_workers=-1"]),
        ("one class", ["data.num_classes=1"]),
        ("label names not matching num_classes", ["data.label_names=[neg,neutral,pos]"]),
        ("num_classes not matching label names", ["data=ag_news", "data.num_classes=3"]),
        ("unknown text encoding", ["data.encoding=klingon"]),
        ("trainer.max_epochs=0", ["trainer.max_epochs=0"]),
        ("max_epochs a fraction", ["trainer.max_epochs=1.5"]),
        ("min_epochs above max_epochs", ["+trainer.min_epochs=5"]),
        ("unknown accelerator", ["trainer.accelerator=gpuu"]),
        ("unknown precision", ["trainer.precision=15"]),
        ("devices 0", ["trainer.devices=0"]),
        ("log_every_n_steps 0", ["trainer.log_every_n_steps=0"]),
        ("negative gradient clipping", ["trainer.gradient_clip_val=-1"]),
        ("a switch given a word", ["trainer.enable_progress_bar=yes"]),
        ("seed=-1", ["seed=-1"]),
        ("seed a word", ["seed=abc"]),
        ("seed beyond NumPy's range", ["seed=5000000000"]),
        ("vocabulary min_frequency 0", ["model.tokenizer.min_frequency=0"]),
        ("embedding size 0", ["model.net.embed_dim=0"]),
        ("word dropout 1", ["model.net.word_dropout=1"]),
        ("checkpoint mode neither min nor max", ["callbacks.model_checkpoint.mode=best"]),
        ("save_top_k below -1", ["callbacks.model_checkpoint.save_top_k=-2"]),
        ("interpolation to a missing key", [lora, "model.lora.rank=${model.lora.rnk}"]),
        ("unknown config option", ["model=lora_distlbert"]),
        ("unknown config key", [lora, "model.lora.rnak=4"]),
        ("target module matches nothing", [lora, "model.lora.target_modules=[fc3]"]),
        (
            "PEFT target module matches nothing",
            ["model=lora_bert", f"model.backbone={MINILM}", "model.lora.target_modules=[q_lin]"],
        ),
        ("pretrained model left unset", ["experiment=imdb_lora"]),
        ("NaN / infinite loss", ["optim.optimizer.lr=1e30"]),
    ]
    data = [
        ("no data, offline", [f"paths.data_dir={tmp / 'nowhere'}"], "refuse"),
        ("corrupt parquet file", [f"paths.data_dir={tmp / 'corrupt'}"], "refuse"),
        ("empty (0-byte) parquet file", [f"paths.data_dir={tmp / 'empty'}"], "refuse"),
        ("no text column", [f"paths.data_dir={tmp / 'columns'}"], "refuse"),
        ("labels outside the model's classes", [f"paths.data_dir={tmp / 'labels'}"], "refuse"),
        ("every text empty", [f"data.path={files / 'all_blank.csv'}"], "refuse"),
        ("a single class", [f"data.path={files / 'one_class.csv'}"], "refuse"),
        ("labels that are words", [f"data.path={files / 'word_labels.csv'}"], "refuse"),
        ("a row without a label", [f"data.path={files / 'null_labels.jsonl'}"], "refuse"),
        ("latin-1 csv read as UTF-8", [f"data.path={files / 'latin1.csv'}"], "refuse"),
        ("latin-1 jsonl read as UTF-8", [f"data.path={files / 'latin1.jsonl'}"], "refuse"),
        ("malformed jsonl line", [f"data.path={files / 'broken.jsonl'}"], "refuse"),
        ("0-byte csv", [f"data.path={files / 'zero_bytes.csv'}"], "refuse"),
        ("csv with a header only", [f"data.path={files / 'header_only.csv'}"], "refuse"),
        ("unsupported file type", [f"data.path={files / 'notes.txt'}"], "refuse"),
        ("data.path that does not exist", [f"data.path={files / 'missing.csv'}"], "refuse"),
        ("folder without test.*", [f"data.path={files / 'folder_without_test'}"], "refuse"),
        ("some texts only whitespace", [f"data.path={files / 'blank_texts.csv'}"], "works"),
        (
            "a class missing from the data",
            [f"data.path={files / 'skipped_class.csv'}", "data.num_classes=3", "data.label_names=null"],
            "works",
        ),
        ("one 5 MB review in a csv", [f"data.path={files / 'long_review.csv'}", "data.max_length=256"], "works"),
        ("one 5 MB review in a jsonl", [f"data.path={files / 'long_review.jsonl'}", "data.max_length=256"], "works"),
        ("latin-1 csv with data.encoding", [f"data.path={files / 'latin1.csv'}", "data.encoding=latin-1"], "works"),
        ("latin-1 jsonl with data.encoding", [f"data.path={files / 'latin1.jsonl'}", "data.encoding=latin-1"], "works"),
        ("UTF-16 csv (with a BOM)", [f"data.path={files / 'utf16.csv'}"], "works"),
        ("jsonl with a UTF-8 BOM", [f"data.path={files / 'bom.jsonl'}"], "works"),
        ("labels written as 0.0 / 1.0", [f"data.path={files / 'float_labels.jsonl'}"], "works"),
    ]
    checkpoints = [
        ("pretrained checkpoint missing", ["experiment=imdb_lora", f"model.pretrained={tmp / 'no_such_run'}"]),
        (
            "pretrained checkpoint of another architecture",
            ["experiment=imdb_lora", f"model.pretrained={runs / 'small'}"],
        ),
        (
            "pretrained file that is no TextClassifier",
            [
                "experiment=imdb_lora",
                f"model.pretrained={tmp / 'other_arch.safetensors'}",
                f"model.tokenizer.vocab_path={pretrain}",
            ],
        ),
        (
            "pretrained checkpoint with another vocabulary",
            [
                "experiment=imdb_lora",
                f"model.pretrained={pretrain}",
                f"model.tokenizer.vocab_path={runs / 'other_vocab'}",
            ],
        ),
        ("damaged checkpoint to resume from", [f"ckpt_path={tmp / 'damaged.ckpt'}"]),
    ]
    tools = [
        ("eval: run folder missing", "eval.py", [str(runs / "nope")], None),
        ("eval: a file, not a run folder", "eval.py", [str(tmp / "not_a_folder")], None),
        ("eval: a run that did not finish", "eval.py", [str(unfinished)], None),
        ("eval: unknown split", "eval.py", [str(finished), "split=dev"], None),
        ("eval: unknown option", "eval.py", [str(finished), "--forse"], None),
        ("eval: an argument that is no override", "eval.py", [str(finished), "ag_news"], None),
        ("eval: a bad override value", "eval.py", [str(finished), "data.batch_size=0"], None),
        ("eval: its result exists (no --force)", "eval.py", [str(evaluated)], None),
        ("eval: damaged model file", "eval.py", [str(damaged), "--force"], None),
        ("eval: adapter on a changed base model (sha256)", "eval.py", [str(lora_run)], None),
        ("predict: no text (empty stdin)", "predict.py", [str(finished)], ""),
        ("predict: an empty text", "predict.py", [str(finished), " "], None),
        ("predict: run folder missing", "predict.py", [str(runs / "nope"), "a text"], None),
        ("predict: damaged model file", "predict.py", [str(damaged), "a text"], None),
        ("export: no output folder", "export.py", [str(finished)], None),
        ("export: into its own run folder", "export.py", [str(finished), str(finished)], None),
        ("export: into a folder inside the run", "export.py", [str(finished), str(finished / "merged")], None),
        ("export: onto a file", "export.py", [str(finished), str(tmp / "not_a_folder")], None),
        ("export: into a folder that holds a model", "export.py", [str(finished), str(export_holder)], None),
        ("export: unknown option", "export.py", [str(finished), str(tmp / "out"), "--overwrite"], None),
        ("export: damaged model file", "export.py", [str(damaged), str(tmp / "out_damaged")], None),
        ("sweep summary: no folder given", "loralab.sweeps.summary", [], None),
        ("sweep summary: folder missing", "loralab.sweeps.summary", [str(tmp / "no_sweep")], None),
        ("sweep summary: a file", "loralab.sweeps.summary", [str(tmp / "not_a_folder")], None),
        ("sweep summary: empty folder", "loralab.sweeps.summary", [str(sweep_empty)], None),
        ("sweep summary: damaged metrics.json", "loralab.sweeps.summary", [str(sweep_damaged)], None),
    ]
    full = [*quick, "trainer.max_epochs=2"]
    machine = [
        (
            "disk full at the 2nd checkpoint",
            [*full, f"hydra.run.dir={runs / 'full_disk'}"],
            {"SIMULATE": "enospc_checkpoint", "WRITES_BEFORE_FAILURE": "1"},
        ),
        ("disk full at the first file", [*full, f"hydra.run.dir={runs / 'full_disk_2'}"], {"SIMULATE": "enospc_text"}),
        ("read-only run folder", [*full, f"hydra.run.dir={runs / 'read_only'}"], {"SIMULATE": "readonly"}),
        ("output folder under a file", [*quick, f"hydra.run.dir={tmp / 'not_a_folder' / 'run'}"], None),
        ("run folder in use by a live run", [*quick, f"hydra.run.dir={in_use}"], None),
        ("resume a folder with no checkpoint", [f"resume={tmp}"], None),
        ("resume a finished run", [f"resume={finished}"], None),
        ("resume a finished run, no more epochs", [f"resume={finished}", "trainer.max_epochs=1"], None),
        ("GPU preset on a machine without a GPU", [*quick, "trainer=gpu"], None),
    ]
    # The lead's expectation, per row: (family, case, command, expected, result).
    rows = []

    def add(
        family: str,
        name: str,
        args: list[str],
        expected: str = "refuse",
        script: str = "train.py",
        env=None,
        stdin=None,
    ) -> None:
        if options.family and options.family != family:
            return
        shown = args[len(quick) :] if args[: len(quick)] == quick else args
        command = f"python {script if script.endswith('.py') else '-m ' + script} " + " ".join(shown)
        rows.append((family, name, command, expected, cli(*args, script=script, env=env, stdin=stdin)))

    for name, args in values:
        add("values", name, [*quick, *args])
    for name, args, expected in data:
        add("data", name, [*quick, *args], expected)
    for name, args in checkpoints:
        add("checkpoints", name, [*quick, *args])
    if needs_runs:
        with (pretrain / "model.safetensors").open("ab") as file:  # the base changes after the adapter was trained
            file.write(b" ")
    for name, script, args, stdin in tools:
        add("tools", name, args, script=script, stdin=stdin)
    for name, args, env in machine:
        add("machine", name, args, script=str(faulty) if env else "train.py", env=env)

    text = str(tmp)
    if options.markdown:
        print("| family | bad input | command | expected | exit | traceback | message |\n|---|---|---|---|---|---|---|")
        for family, name, command, expected, result in rows:
            shown = command.replace(text, "$TMP").replace(str(faulty), "faulty_machine.py")
            message = result["message"].replace(text, "$TMP").replace("|", "\\|")
            print(
                f"| {family} | {name} | `{shown}` | {expected} | {result['code']} | "
                f"{'yes' if result['traceback'] else 'no'} | `{message}` |"
            )
    else:
        for family, name, command, expected, result in rows:
            shown = command.replace(text, "$TMP").replace(str(faulty), "faulty_machine.py")
            print(
                f"[{family}] {name} ({expected})\n  $ {shown}\n  exit {result['code']}: {result['message'].replace(text, '$TMP')}"
            )
    refused = [r for r in rows if r[3] == "refuse"]
    good_refusals = [r for r in refused if r[4]["code"] != 0 and not r[4]["traceback"] and r[4]["message"]]
    works = [r for r in rows if r[3] == "works"]
    good_works = [r for r in works if r[4]["code"] == 0 and not r[4]["traceback"]]
    print(f"\nbad inputs refused in one line, exit non-zero, no traceback: {len(good_refusals)} of {len(refused)}")
    print(f"valid inputs that work (exit 0): {len(good_works)} of {len(works)}")
    for family in dict.fromkeys(r[0] for r in rows):
        print(f"  {family}: {sum(r[0] == family for r in rows)} rows")
    for row in [r for r in refused if r not in good_refusals] + [r for r in works if r not in good_works]:
        print(f"NOT AS EXPECTED: [{row[0]}] {row[1]}: exit {row[4]['code']}, {row[4]['message']}")


if __name__ == "__main__":
    main()
