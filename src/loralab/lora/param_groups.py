"""LoRA+ and LoRA-FA (``optim.loraplus_lr_ratio``, ``optim.lora_fa``) for loralab's LoRA and PEFT's alike.

LoRA+ (Hayou et al. 2024, https://arxiv.org/abs/2402.12354): B's learning rate is ``ratio`` times
A's; everything else (A, a DoRA magnitude, the head, embeddings that train in full) keeps the
optimizer's rate. PEFT's ``create_loraplus_optimizer`` differs in two ways loralab does not copy:
it puts every 1-d tensor (biases, DoRA magnitudes) in B's group, and gives the factors of embedding
layers a fixed rate of 1e-6.

LoRA-FA (Zhang et al. 2023, https://arxiv.org/abs/2308.03303): A stays at its initial value (a
random projection, or PiSSA's and OLoRA's), only B learns. PEFT's ``create_lorafa_optimizer``
freezes A the same way and, besides, projects B's gradient through ``(A A^T)^-1`` in its own AdamW
(the LoRA-FA optimizer); loralab keeps the configured optimizer.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

# Names of A and B in loralab's layers (``fc1.lora_A``) and PEFT's (``fc1.lora_A.default.weight``,
# ``embedding.lora_embedding_A.default``).
A_NAMES = ("lora_A", "lora_embedding_A")
B_NAMES = ("lora_B", "lora_embedding_B")


def _is_factor(name: str, factors: tuple[str, ...]) -> bool:
    return any(part in factors for part in name.split("."))


def has_lora_factors(model: nn.Module) -> bool:
    """Whether ``model`` holds a LoRA B (loralab's or PEFT's): what LoRA+ and LoRA-FA act on."""
    return any(_is_factor(name, B_NAMES) for name, _ in model.named_parameters())


def freeze_lora_A(model: nn.Module) -> int:
    """LoRA-FA: every A of ``model`` stops training; returns how many were frozen."""
    frozen = [param for name, param in model.named_parameters() if _is_factor(name, A_NAMES)]
    for param in frozen:
        param.requires_grad = False
    return len(frozen)


def loraplus_groups(named_parameters: Iterable[tuple[str, nn.Parameter]], lr: float, ratio: float) -> list[dict]:
    """The trainable parameters as two optimizer groups: B's at ``lr * ratio``, the rest at ``lr``."""
    trainable = [(name, param) for name, param in named_parameters if param.requires_grad]
    b = [param for name, param in trainable if _is_factor(name, B_NAMES)]
    rest = [param for name, param in trainable if not _is_factor(name, B_NAMES)]
    return [group for group in ({"params": rest, "lr": lr}, {"params": b, "lr": lr * ratio}) if group["params"]]
