"""Peak GPU memory of a few training steps at batch 32 x 512 tokens: LoRA against full
fine-tuning, each with and without gradient checkpointing (``bench_gpu.py --memory``)."""

from __future__ import annotations

from functools import partial

import torch
from bench_setup import BF16_BASE, CHECKPOINTING, Bench, precision_label
from report import print_table
from step_timing import CUDA, with_peak_memory
from synthetic_distilbert import LAB_MAX_LENGTH, SPECIAL_TOKENS

from loralab.data import TextClassificationDataModule
from loralab.settings import settings_of
from loralab.training.components import build_module, build_trainer
from loralab.training.model_builders import build_tokenizer

MEMORY_BATCH, MEMORY_STEPS = 32, 3


def fixed_length_batches(vocab_size: int, batches: int, tokens: int) -> list[dict]:
    """Random reviews of exactly ``tokens`` tokens: memory depends on the shape alone."""
    generator = torch.Generator().manual_seed(0)
    count = batches * MEMORY_BATCH
    ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, (count, tokens), generator=generator)
    labels = torch.randint(0, 2, (count,), generator=generator)
    return [
        {"input_ids": ids[i], "attention_mask": torch.ones(tokens, dtype=torch.int64), "labels": labels[i]}
        for i in range(count)
    ]


def memory_row(bench: Bench, tokens: int, model_overrides: list[str], levers: tuple[str, ...] = ()) -> dict:
    """A few loralab training steps at batch 32 x ``tokens``; the DataModule is never set up, it only
    supplies the tokenizer and the class count that the model is built with."""
    cfg = bench.loralab_config(model_overrides, *levers, max_steps=MEMORY_STEPS)
    settings = settings_of(cfg)
    module = build_module(
        cfg, TextClassificationDataModule(settings.data, build_tokenizer(settings.model, settings.data))
    )
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    loader = torch.utils.data.DataLoader(
        fixed_length_batches(len(bench.tokenizer), MEMORY_STEPS, tokens), batch_size=MEMORY_BATCH
    )
    build_trainer(cfg).fit(module, train_dataloaders=loader)
    return {"trainable params": trainable}


def memory_section(bench: Bench, tokens: int = LAB_MAX_LENGTH) -> dict:
    """``tokens``: the lab's 512 for a measurement; --tiny runs the same steps on short inputs."""
    full = ["model=distilbert", f"model.backbone={bench.backbone}"]
    lora = bench.lora_model_overrides()
    runs = {  # name -> (model overrides, levers); bf16 mixed precision unless the levers say otherwise
        "full fine-tuning": (full, ()),
        "LoRA q,k,v + head": (lora, ()),
        "LoRA q,k,v + head, gradient checkpointing": ([*lora, CHECKPOINTING], ()),
        "LoRA q,k,v + head, bf16 base": (lora, BF16_BASE),
        "LoRA q,k,v + head, bf16 base, gradient checkpointing": ([*lora, CHECKPOINTING], BF16_BASE),
        "full fine-tuning, gradient checkpointing": ([*full, CHECKPOINTING], ()),
    }
    rows = [
        {"run": name, **with_peak_memory(partial(memory_row, bench, tokens, *settings))}
        for name, settings in runs.items()
    ]
    for row in rows:
        row["x full fine-tuning"] = row["peak GiB"] / rows[0]["peak GiB"] if CUDA else None
    print(
        f"\npeak GPU memory at batch {MEMORY_BATCH} x {tokens} tokens, {precision_label(True)}{'' if CUDA else ' (no GPU: not measured)'}:"
    )
    print_table(rows, ["run", "trainable params", "peak GiB", "x full fine-tuning"])
    return {"rows": rows}
