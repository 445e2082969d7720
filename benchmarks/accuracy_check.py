"""Speed is only worth having if accuracy stays: a pretrained model (e.g. MiniLM) trained by
loralab's fast settings and by HF Trainer with the lab's, scored on held-out reviews
(``bench_gpu.py --model-dir``)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np
from bench_setup import (
    BENCH_OPTIMIZER,
    BF16_BASE,
    BUCKETS,
    DISTILBERT_QKV,
    TRAINER,
    Bench,
    precision_label,
)
from fit_only import compose_config, fit_only_overrides
from hf_baseline import hf_trainer, lab_padded_length, peft_lora_model, tokenized_items
from omegaconf import DictConfig
from report import print_table
from step_timing import with_peak_memory
from synthetic_distilbert import write_imdb_folder

from loralab.data.text_split import TextSplit, train_val_split
from loralab.training.components import build_datamodule, build_module, build_trainer

ACCURACY_TRAIN, ACCURACY_HELD_OUT = 4000, 1000
# model_type -> loralab's LoRA config for that family and its attention projections
LORA_FAMILIES = {"distilbert": ("lora_distilbert", DISTILBERT_QKV), "bert": ("lora_bert", "[query,key,value]")}


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
    return {
        "held-out acc": trainer.test(module, datamodule=datamodule, verbose=False)[0]["test/acc"],
        "train s": seconds,
    }


def hf_lab_accuracy(
    cfg: DictConfig, model_dir: str, tokenizer, train: tuple[list, list], held_out: tuple[list, list], work_dir: Path
) -> dict:
    train, _ = train_val_split(TextSplit(*train), cfg.data.val_fraction, cfg.data.seed)  # the reviews loralab trains on
    trainer = hf_trainer(
        peft_lora_model(model_dir, cfg.model.lora),
        tokenizer,
        tokenized_items(tokenizer, train.texts, train.labels),
        work_dir / "hf_accuracy",
        cfg.optim,
        batch_size=16,
        bf16=False,
        pad_to_max_length=True,
        group_by_length=False,
        callbacks=[],
        num_train_epochs=cfg.trainer.max_epochs,
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
        raise ValueError(
            f"--model-dir {model_dir} is a {model_type!r} model; the accuracy check knows {', '.join(LORA_FAMILIES)}"
        )
    model_config, targets = LORA_FAMILIES[model_type]
    train, held_out = accuracy_split(bench.texts, bench.labels)
    data_dir = write_imdb_folder(bench.work_dir / "accuracy_data", train, held_out)
    overrides = [
        f"model={model_config}",
        f"model.backbone={model_dir}",
        f"model.lora.target_modules={targets}",
        "data=imdb",
        f"paths.data_dir={data_dir}",
        "data.group_by_length=true",
        BUCKETS,
        "data.batch_size=16",
        *BENCH_OPTIMIZER,
        f"trainer.max_epochs={epochs}",
    ] + fit_only_overrides(bench.work_dir / "loralab_accuracy", bench.work_dir / "cache", TRAINER)
    cfg = compose_config(overrides)  # the lab's batch and learning rate, which the HF Trainer row uses too
    # batch 64 takes a quarter of the steps: the learning rate grows with the batch, as in the speed rows
    batch_64 = ["data.batch_size=64", f"optim.optimizer.lr={4 * cfg.optim.optimizer.lr}"]
    cfg_64 = compose_config(overrides + batch_64)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = [
        {
            "run": "loralab, batch 16",
            "precision": precision_label(True),
            **with_peak_memory(partial(loralab_accuracy, cfg)),
        },
        {
            "run": "loralab, batch 64, lr x4",
            "precision": precision_label(True),
            **with_peak_memory(partial(loralab_accuracy, cfg_64)),
        },
        {
            "run": "loralab, batch 64, lr x4, bf16 base",
            "precision": precision_label(True, BF16_BASE),
            **with_peak_memory(partial(loralab_accuracy, compose_config(overrides + batch_64 + list(BF16_BASE)))),
        },
        {
            "run": f"HF Trainer, lab settings (pad {lab_padded_length(tokenizer)}, batch 16)",
            "precision": "fp32",
            **with_peak_memory(partial(hf_lab_accuracy, cfg, model_dir, tokenizer, train, held_out, bench.work_dir)),
        },
    ]
    print(
        f"\n{Path(model_dir).name}, LoRA {targets}, {len(train[0])} train / {len(held_out[0])} held-out reviews, {epochs} epochs:"
    )
    print_table(rows, ["run", "precision", "held-out acc", "train s", "peak GiB"])
    return rows
