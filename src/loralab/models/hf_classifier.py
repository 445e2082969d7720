"""Hugging Face encoders for sequence classification, and PEFT LoRA on them."""

from __future__ import annotations

import torch
from torch import nn

from loralab.lora.peft_format import peft_lora_config
from loralab.lora.targets import unmatched_targets
from loralab.models.hf_loading import load_from_hub_or_folder
from loralab.settings.lora import LoraSettings


def build_hf_classifier(
    backbone: str,
    num_classes: int,
    trust_remote_code: bool = False,
    attn_implementation: str | None = "sdpa",
    dtype: str = "float32",
    gradient_checkpointing: bool = False,
    use_safetensors: bool | None = None,
) -> nn.Module:
    """``AutoModelForSequenceClassification`` with a fresh ``num_classes`` head.

    Weights load as ``dtype`` whatever the checkpoint holds: transformers 5 keeps a float16 file
    in float16, which CPUs multiply far slower than float32 and which mixed precision
    (``trainer.precision=bf16-mixed``) expects as float32 master weights anyway.
    ``gradient_checkpointing`` keeps only each layer's input for the backward pass and recomputes
    the rest: less activation memory for about a third more compute. ``use_safetensors=True``
    never reads a pickled weights file (a run folder's base is opened so).
    """
    from transformers import AutoModelForSequenceClassification

    def load(name: str) -> nn.Module:
        return AutoModelForSequenceClassification.from_pretrained(
            name,
            num_labels=num_classes,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
            dtype=getattr(torch, dtype),
            use_safetensors=use_safetensors,
        )

    model = load_from_hub_or_folder(backbone, "model", load)
    if gradient_checkpointing:
        if not model.supports_gradient_checkpointing:
            raise ValueError(
                f"{type(model).__name__} does not support gradient checkpointing; set model.net.gradient_checkpointing=false"
            )
        # Non-reentrant, PyTorch's recommended form: the reentrant one only reaches LoRA weights
        # when the layer's input requires grad (PEFT fakes that with a hook on the embeddings).
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    # from_pretrained returns eval mode; Lightning keeps modes as it finds them, and dropout must train.
    return model.train()


def _linear_names(model: nn.Module) -> list[str]:
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)})


def apply_peft_lora(model: nn.Module, settings: LoraSettings) -> nn.Module:
    """PEFT's ``get_peft_model`` with the same settings as loralab's own LoRA.

    ``freeze_embeddings=false`` trains the word embeddings too: they join ``modules_to_save`` so
    that PEFT saves them with the adapter.
    """
    from peft import TaskType, get_peft_model

    missing = unmatched_targets(settings.target_modules, [name for name, _ in model.named_modules() if name])
    if missing:
        raise ValueError(
            f"LoRA target_modules {missing} match no module of {type(model).__name__}; linear layers: {', '.join(_linear_names(model))}"
        )
    embeddings = [] if settings.freeze_embeddings else ["word_embeddings"]
    config = peft_lora_config(settings, task_type=TaskType.SEQ_CLS, extra_modules_to_save=embeddings)
    model = get_peft_model(model, config)
    # SEQ_CLS makes PEFT append its head names (classifier, score) to ours: each is kept once, so the
    # saved adapter_config.json lists no module twice. The wrapped modules are the same either way.
    config.modules_to_save = list(dict.fromkeys(config.modules_to_save))
    return model
