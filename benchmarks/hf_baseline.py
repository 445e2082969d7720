"""The baseline a Hugging Face user writes: PEFT LoRA on the backbone, trained by
``transformers.Trainer`` with the lab's settings or tuned ones (``bench_gpu.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from synthetic_distilbert import LAB_MAX_LENGTH
from torch import nn


def peft_lora_model(backbone: str | Path, lora: DictConfig) -> nn.Module:
    """The backbone with PEFT LoRA as a Hugging Face user writes it, from loralab's ``model.lora`` values."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2, dtype=torch.float32)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        modules_to_save=list(lora.modules_to_save),
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


def hf_trainer(
    model: nn.Module,
    tokenizer,
    items: list[dict],
    output_dir: Path,
    optim: DictConfig,
    batch_size: int,
    bf16: bool,
    pad_to_max_length: bool,
    group_by_length: bool,
    callbacks: list,
    pad_to_multiple_of: int | None = None,
    **schedule: Any,
):
    """A ``transformers.Trainer`` with loralab's optimizer values; ``schedule``: max_steps or num_train_epochs;
    ``pad_to_multiple_of`` rounds dynamically padded lengths up, as ``data.pad_to_multiple_of`` does in loralab."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=64,
        learning_rate=optim.optimizer.lr,
        weight_decay=optim.optimizer.weight_decay,
        lr_scheduler_type="linear",
        warmup_steps=optim.scheduler.warmup_ratio,
        bf16=bf16,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        label_names=["labels"],
        seed=0,
        **schedule,
    )
    if pad_to_max_length:
        padding = {"padding": "max_length", "max_length": lab_padded_length(tokenizer)}
    else:
        padding = {"pad_to_multiple_of": pad_to_multiple_of}
    return Trainer(
        model=model,
        args=args,
        train_dataset=items,
        data_collator=DataCollatorWithPadding(tokenizer, **padding),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
