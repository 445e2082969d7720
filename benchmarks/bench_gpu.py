"""Training throughput of DistilBERT + LoRA on one GPU: loralab against Hugging Face Trainer with the
lab's settings and with tuned ones, in one run of a few minutes.

    python benchmarks/bench_gpu.py --data-dir ../shared/data [--json out.json] [--model-dir ../shared/models/all-MiniLM-L6-v2]
    python benchmarks/bench_gpu.py --tiny --data-dir <dir>    # the same code path, small, on a CPU

It needs only ``<data-dir>/imdb/train.parquet``: no network, no pretrained model. The model is
DistilBERT-base with random weights (weights do not change speed) and a WordPiece vocabulary trained
here on the same reviews. Every row trains LoRA r=8, alpha=16, dropout 0.1 on q_lin, k_lin, v_lin
plus the classification head, --warmup-steps untimed optimizer steps then --steps timed ones. The
clock runs from the end of the last warm-up step to the end of the last timed step: data loading
between steps counts, setup does not.

MFU = achieved FLOP/s / 989e12 (H100/H200 SXM dense bf16). FLOPs per token: 4N + 12·L·d·T, PaLM's
6N + 12·L·d·T less the weight gradient that the N frozen non-embedding weights do not get; "MFU %"
counts every padded token, "MFU % real" only the reviews' own tokens.

After the throughput table: peak GPU memory of LoRA against full fine-tuning (--memory, GPU only),
and with --model-dir, held-out accuracy of that pretrained model trained with loralab's fast
settings and with the lab's settings through HF Trainer.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_only import compose_config, fit_only_overrides
from kernel_profile import profiled_training
from report import machine, print_table, write_json
from step_timing import (
    CUDA,
    PEAK_FLOPS,
    EncoderShape,
    LightningStepClock,
    TimedSteps,
    hf_step_clock,
    with_peak_memory,
)
from synthetic_distilbert import (
    LAB_MAX_LENGTH,
    SPECIAL_TOKENS,
    read_reviews,
    save_random_distilbert,
    train_wordpiece_tokenizer,
    write_imdb_folder,
)

from loralab.build import build_datamodule, build_module, build_trainer, instantiate
from loralab.data.text_split import TextSplit, train_val_split

DISTILBERT_QKV = "[q_lin,k_lin,v_lin]"
FUSED_ADAMW = "optim.optimizer.fused=true"
BUCKETS = "data.pad_to_multiple_of=64"  # model=lora_distilbert's default since these rows were measured
EXACT_LENGTHS = "data.pad_to_multiple_of=null"
CHECKPOINTING = "model.net.gradient_checkpointing=true"
TINY_REVIEWS = 400
ACCURACY_TRAIN, ACCURACY_HELD_OUT = 4000, 1000
MEMORY_BATCH, MEMORY_STEPS = 32, 3
# model_type -> loralab's LoRA config for that family and its attention projections
LORA_FAMILIES = {"distilbert": ("lora_distilbert", DISTILBERT_QKV), "bert": ("lora_bert", "[query,key,value]")}
TRAINER = "gpu" if CUDA else "cpu"  # conf/trainer/gpu.yaml: bf16-mixed on one GPU
TABLE_COLUMNS = ["row", "precision", "batch", "samples/s", "tokens/s", "padded tokens/s", "padding %", "MFU %", "MFU % real", "peak GiB"]


def peft_lora_model(backbone: str | Path, lora: DictConfig) -> nn.Module:
    """The backbone with PEFT LoRA as a Hugging Face user writes it, from loralab's ``model.lora`` values."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2, dtype=torch.float32)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS, r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules), modules_to_save=list(lora.modules_to_save),
    )
    return get_peft_model(model, config)


def lab_padded_length(tokenizer) -> int:
    """The lab padded every review to the model's limit: 512 tokens, or fewer where the model stops sooner."""
    return min(LAB_MAX_LENGTH, tokenizer.model_max_length)


def tokenized_items(tokenizer, texts: list[str], labels: list[int]) -> list[dict]:
    """Unpadded examples for HF Trainer; only the inputs loralab passes too (no token_type_ids)."""
    encoded = tokenizer(texts, truncation=True, max_length=lab_padded_length(tokenizer))
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], labels)
    ]


def hf_trainer(model: nn.Module, tokenizer, items: list[dict], output_dir: Path, optim: DictConfig, batch_size: int,
               bf16: bool, pad_to_max_length: bool, group_by_length: bool, callbacks: list, **schedule: Any):
    """A ``transformers.Trainer`` with loralab's optimizer values; ``schedule``: max_steps or num_train_epochs."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(output_dir), per_device_train_batch_size=batch_size, per_device_eval_batch_size=64,
        learning_rate=optim.optimizer.lr, weight_decay=optim.optimizer.weight_decay, lr_scheduler_type="linear",
        warmup_steps=optim.scheduler.warmup_ratio, bf16=bf16,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True, label_names=["labels"], seed=0,
        **schedule,
    )
    padding = {"padding": "max_length", "max_length": lab_padded_length(tokenizer)} if pad_to_max_length else {}
    return Trainer(
        model=model, args=args, train_dataset=items, data_collator=DataCollatorWithPadding(tokenizer, **padding),
        processing_class=tokenizer, callbacks=callbacks,
    )


@dataclass
class Bench:
    """Everything the rows share: the model folder, the data, the step counts, the base config."""

    backbone: Path
    shape: EncoderShape
    data_dir: Path
    work_dir: Path
    texts: list[str]
    labels: list[int]
    warmup_steps: int
    timed_steps: int

    def lora_model_overrides(self) -> list[str]:
        return ["model=lora_distilbert", f"model.backbone={self.backbone}", f"model.lora.target_modules={DISTILBERT_QKV}"]

    def run_overrides(self, max_steps: int) -> list[str]:
        return [
            "data=imdb", f"paths.data_dir={self.data_dir}", "data.group_by_length=true", "trainer.max_epochs=-1",
            f"++trainer.max_steps={max_steps}",
        ] + fit_only_overrides(self.work_dir / "loralab", self.work_dir / "cache", TRAINER)

    def loralab_config(self, model_overrides: list[str], *overrides: str, max_steps: int | None = None) -> DictConfig:
        return compose_config(model_overrides + self.run_overrides(max_steps or self.warmup_steps + self.timed_steps) + list(overrides))

    @cached_property
    def config(self) -> DictConfig:
        """The LoRA rows' config, whose LoRA and optimizer values the HF Trainer rows use too."""
        return self.loralab_config(self.lora_model_overrides())

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.backbone)

    @cached_property
    def hf_items(self) -> list[dict]:
        return tokenized_items(self.tokenizer, self.texts, self.labels)


def hf_trainer_row(bench: Bench, batch_size: int, bf16: bool, pad_to_max_length: bool, group_by_length: bool) -> dict:
    model = peft_lora_model(bench.backbone, bench.config.model.lora)
    timer = TimedSteps(model, bench.warmup_steps, bench.timed_steps)
    trainer = hf_trainer(
        model, bench.tokenizer, bench.hf_items, bench.work_dir / "hf", bench.config.optim, batch_size=batch_size,
        bf16=bf16 and CUDA, pad_to_max_length=pad_to_max_length, group_by_length=group_by_length,
        callbacks=[hf_step_clock(timer)], max_steps=bench.warmup_steps + bench.timed_steps,
    )
    trainer.train()
    return {"precision": precision_label(bf16), "batch": batch_size, **timer.figures(bench.shape)}


def loralab_row(bench: Bench, batch_size: int, lr_scale: float, levers: tuple[str, ...] = (), callbacks: list = ()) -> dict:
    """loralab's own path, as ``train.py`` builds it, with the learning rate scaled with the batch
    and ``levers``: config overrides that only change speed; ``callbacks`` join the Trainer's."""
    lr = bench.config.optim.optimizer.lr * lr_scale
    cfg = bench.loralab_config(bench.lora_model_overrides(), f"data.batch_size={batch_size}", f"optim.optimizer.lr={lr}", *levers)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    timer = TimedSteps(module.net, bench.warmup_steps, bench.timed_steps)
    trainer = build_trainer(cfg)
    trainer.callbacks.extend([LightningStepClock(timer), *callbacks])
    trainer.fit(module, datamodule=datamodule)
    return {"precision": precision_label(True), "batch": batch_size, **timer.figures(bench.shape)}  # trainer=gpu: bf16-mixed


# --rows key -> (the table's name, the run)
ROWS: dict[str, tuple[str, Callable[[Bench], dict]]] = {
    "hf-lab": ("HF Trainer, lab settings", partial(hf_trainer_row, batch_size=16, bf16=False, pad_to_max_length=True, group_by_length=False)),
    "hf-tuned": ("HF Trainer, tuned", partial(hf_trainer_row, batch_size=64, bf16=True, pad_to_max_length=False, group_by_length=True)),
    "loralab-64": ("loralab, batch 64, exact lengths", partial(loralab_row, batch_size=64, lr_scale=1.0, levers=(EXACT_LENGTHS,))),
    "loralab-64-fast": (
        "loralab, batch 64, fused AdamW, lengths to x64",
        partial(loralab_row, batch_size=64, lr_scale=1.0, levers=(FUSED_ADAMW, BUCKETS)),
    ),
    "loralab-256": ("loralab, batch 256, exact lengths", partial(loralab_row, batch_size=256, lr_scale=4.0, levers=(EXACT_LENGTHS,))),
    "loralab-256-fused": (
        "loralab, batch 256, fused AdamW, exact lengths",
        partial(loralab_row, batch_size=256, lr_scale=4.0, levers=(FUSED_ADAMW, EXACT_LENGTHS)),
    ),
    "loralab-256-buckets": ("loralab, batch 256, lengths to x64", partial(loralab_row, batch_size=256, lr_scale=4.0, levers=(BUCKETS,))),
    "loralab-256-fused-buckets": (
        "loralab, batch 256, fused AdamW, lengths to x64",
        partial(loralab_row, batch_size=256, lr_scale=4.0, levers=(FUSED_ADAMW, BUCKETS)),
    ),
    "loralab-256-compiled": (
        "loralab, batch 256, fused AdamW, compiled, exact lengths",
        partial(loralab_row, batch_size=256, lr_scale=4.0, levers=(FUSED_ADAMW, "model.compile=true", EXACT_LENGTHS)),
    ),
    "loralab-256-compiled-buckets": (  # not measured yet: does compiling pay once only 8 lengths occur?
        "loralab, batch 256, compiled, lengths to x64",
        partial(loralab_row, batch_size=256, lr_scale=4.0, levers=("model.compile=true", BUCKETS)),
    ),
}


def precision_label(bf16: bool) -> str:
    if not bf16:
        return "fp32"
    return "bf16" if CUDA else "fp32 (bf16 on GPU)"


def fixed_length_batches(vocab_size: int, batches: int) -> list[dict]:
    """Random reviews of exactly ``LAB_MAX_LENGTH`` tokens: memory depends on the shape alone."""
    generator = torch.Generator().manual_seed(0)
    count = batches * MEMORY_BATCH
    ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, (count, LAB_MAX_LENGTH), generator=generator)
    labels = torch.randint(0, 2, (count,), generator=generator)
    return [{"input_ids": ids[i], "attention_mask": torch.ones(LAB_MAX_LENGTH, dtype=torch.int64), "labels": labels[i]} for i in range(count)]


def memory_row(bench: Bench, model_overrides: list[str]) -> dict:
    """A few loralab training steps at batch 32 x 512 tokens; the DataModule is never set up, it only
    supplies the tokenizer and the class count that the model is built with."""
    cfg = bench.loralab_config(model_overrides, max_steps=MEMORY_STEPS)
    module = build_module(cfg, instantiate(cfg.data, tokenizer=instantiate(cfg.model.tokenizer)))
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    loader = torch.utils.data.DataLoader(fixed_length_batches(len(bench.tokenizer), MEMORY_STEPS), batch_size=MEMORY_BATCH)
    build_trainer(cfg).fit(module, train_dataloaders=loader)
    return {"trainable params": trainable}


def memory_section(bench: Bench) -> dict:
    full = ["model=distilbert", f"model.backbone={bench.backbone}"]
    runs = {
        "full fine-tuning": full,
        "LoRA q,k,v + head": bench.lora_model_overrides(),
        "LoRA q,k,v + head, gradient checkpointing": [*bench.lora_model_overrides(), CHECKPOINTING],
        "full fine-tuning, gradient checkpointing": [*full, CHECKPOINTING],
    }
    rows = [{"run": name, **with_peak_memory(partial(memory_row, bench, overrides))} for name, overrides in runs.items()]
    for row in rows:
        row["x full fine-tuning"] = row["peak GiB"] / rows[0]["peak GiB"] if CUDA else None
    print(f"\npeak GPU memory at batch {MEMORY_BATCH} x {LAB_MAX_LENGTH} tokens, {precision_label(True)}{'' if CUDA else ' (no GPU: not measured)'}:")
    print_table(rows, ["run", "trainable params", "peak GiB", "x full fine-tuning"])
    return {"rows": rows}


def accuracy_split(texts: list[str], labels: list[int]) -> tuple[tuple[list, list], tuple[list, list]]:
    """A seeded train / held-out pair drawn from the train reviews (at most 4,000 / 1,000)."""
    held_out = min(ACCURACY_HELD_OUT, len(texts) // 5)
    order = np.random.default_rng(0).permutation(len(texts))[: min(ACCURACY_TRAIN + held_out, len(texts))]

    def pick(indices) -> tuple[list, list]:
        return [texts[i] for i in indices], [labels[i] for i in indices]

    return pick(order[held_out:]), pick(order[:held_out])


def loralab_accuracy(cfg: DictConfig) -> dict:
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    trainer = build_trainer(cfg)
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    seconds = time.perf_counter() - started
    return {"held-out acc": trainer.test(module, datamodule=datamodule, verbose=False)[0]["test/acc"], "train s": seconds}


def hf_lab_accuracy(cfg: DictConfig, model_dir: str, tokenizer, train: tuple[list, list], held_out: tuple[list, list], work_dir: Path) -> dict:
    train, _ = train_val_split(TextSplit(*train), cfg.data.val_fraction, cfg.data.seed)  # the reviews loralab trains on
    trainer = hf_trainer(
        peft_lora_model(model_dir, cfg.model.lora), tokenizer, tokenized_items(tokenizer, train.texts, train.labels),
        work_dir / "hf_accuracy", cfg.optim, batch_size=16, bf16=False, pad_to_max_length=True, group_by_length=False,
        callbacks=[], num_train_epochs=cfg.trainer.max_epochs,
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    output = trainer.predict(tokenized_items(tokenizer, *held_out))
    return {"held-out acc": float((output.predictions.argmax(-1) == output.label_ids).mean()), "train s": seconds}


def accuracy_section(bench: Bench, model_dir: str, epochs: int) -> list[dict]:
    """Speed is only worth having if accuracy stays: the same model, data and epochs both ways."""
    from transformers import AutoConfig, AutoTokenizer

    model_type = AutoConfig.from_pretrained(model_dir).model_type
    if model_type not in LORA_FAMILIES:
        raise ValueError(f"--model-dir {model_dir} is a {model_type!r} model; the accuracy check knows {', '.join(LORA_FAMILIES)}")
    model_config, targets = LORA_FAMILIES[model_type]
    train, held_out = accuracy_split(bench.texts, bench.labels)
    data_dir = write_imdb_folder(bench.work_dir / "accuracy_data", train, held_out)
    overrides = [
        f"model={model_config}", f"model.backbone={model_dir}", f"model.lora.target_modules={targets}", "data=imdb",
        f"paths.data_dir={data_dir}", "data.group_by_length=true", BUCKETS, "data.batch_size=16", f"trainer.max_epochs={epochs}",
    ] + fit_only_overrides(bench.work_dir / "loralab_accuracy", bench.work_dir / "cache", TRAINER)
    cfg = compose_config(overrides)  # the lab's batch and learning rate, which the HF Trainer row uses too
    # batch 64 takes a quarter of the steps: the learning rate grows with the batch, as in the speed rows
    cfg_64 = compose_config(overrides + ["data.batch_size=64", f"optim.optimizer.lr={4 * cfg.optim.optimizer.lr}"])
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = [
        {"run": "loralab, batch 16", "precision": precision_label(True), **with_peak_memory(partial(loralab_accuracy, cfg))},
        {"run": "loralab, batch 64, lr x4", "precision": precision_label(True), **with_peak_memory(partial(loralab_accuracy, cfg_64))},
        {"run": f"HF Trainer, lab settings (pad {lab_padded_length(tokenizer)}, batch 16)", "precision": "fp32",
         **with_peak_memory(partial(hf_lab_accuracy, cfg, model_dir, tokenizer, train, held_out, bench.work_dir))},
    ]
    print(f"\n{Path(model_dir).name}, LoRA {targets}, {len(train[0])} train / {len(held_out[0])} held-out reviews, {epochs} epochs:")
    print_table(rows, ["run", "precision", "held-out acc", "train s", "peak GiB"])
    return rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="folder with imdb/train.parquet")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--steps", type=int, default=100, help="timed optimizer steps per row")
    parser.add_argument("--warmup-steps", type=int, default=10, help="untimed optimizer steps before them (at least 1)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma list of rows to run, from {','.join(ROWS)}")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer, 64-wide model on a few hundred reviews: a smoke test")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=None,
                        help="LoRA against full fine-tuning memory (default: on with a GPU; on a CPU it only runs the steps)")
    parser.add_argument("--model-dir", help="a local pretrained model folder (e.g. all-MiniLM-L6-v2) for the accuracy check")
    parser.add_argument("--accuracy-epochs", type=int, default=2, help="epochs of each accuracy run")
    parser.add_argument("--profile", metavar="DIR", help="also write a torch.profiler table of --profile-row's steps to DIR")
    parser.add_argument("--profile-row", default="loralab-256-fused", choices=[key for key in ROWS if key.startswith("loralab")])
    args = parser.parse_args()
    unknown = sorted(set(args.rows.split(",")) - set(ROWS))
    if unknown:
        parser.error(f"--rows: unknown {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if args.warmup_steps < 1 or args.steps < 1:
        parser.error("--warmup-steps and --steps must be at least 1: the clock starts when the last warm-up step ends")
    return args


def run_benchmark(args: argparse.Namespace, work_dir: Path) -> None:
    texts, labels = read_reviews(args.data_dir, TINY_REVIEWS if args.tiny else None)
    tokenizer = train_wordpiece_tokenizer(texts, 2_000 if args.tiny else 30_522)
    tokenizer.save_pretrained(work_dir / "backbone")
    shape = save_random_distilbert(work_dir / "backbone", len(tokenizer), tokenizer.pad_token_id, args.tiny)
    # The DataModule insists on a test split; training never reads it.
    data_dir = write_imdb_folder(work_dir / "data", (texts, labels), (texts[:32], labels[:32]))
    bench = Bench(work_dir / "backbone", shape, data_dir, work_dir, texts, labels, args.warmup_steps, args.steps)

    rows = []
    for key in args.rows.split(","):
        name, run = ROWS[key]
        print(f"running {name} ...", flush=True)
        try:
            figures = with_peak_memory(partial(run, bench))
        except Exception as error:  # noqa: BLE001 - one failing lever must not cost the other rows of a rented GPU's run
            traceback.print_exc()
            figures = {"error": f"{type(error).__name__}: {error}"}
        rows.append({"row": name, "key": key, **figures})
    if args.profile:
        name, run = ROWS[args.profile_row]
        print(f"profiling {name} ...", flush=True)
        profiled_training(lambda callbacks: run(bench, callbacks=callbacks), args.warmup_steps, Path(args.profile) / f"profile_{args.profile_row}.txt")
    print(f"\n{'tiny ' if args.tiny else ''}DistilBERT + LoRA, {len(texts)} IMDb reviews, {args.steps} timed steps per row after {args.warmup_steps} warm-up:")
    print_table(rows, TABLE_COLUMNS)
    for row in rows:
        if "error" in row:
            print(f"{row['row']} failed: {row['error'][:500]}")

    memory = accuracy = None
    if CUDA if args.memory is None else args.memory:
        memory = memory_section(bench)
    if args.model_dir:
        accuracy = accuracy_section(bench, args.model_dir, args.accuracy_epochs)
    write_json(args.json, {
        "machine": machine(), "tiny": args.tiny, "steps": args.steps, "warmup_steps": args.warmup_steps,
        "peak_flops": PEAK_FLOPS, "encoder": vars(shape), "rows": rows, "memory": memory, "accuracy": accuracy,
    })


def main() -> None:
    args = parse_args()
    if not CUDA and not args.tiny:
        sys.exit("bench_gpu.py needs a CUDA GPU; on a CPU, run it with --tiny to exercise the code path")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as work_dir:  # the model folder alone is 260 MB
        run_benchmark(args, Path(work_dir))


if __name__ == "__main__":
    main()
