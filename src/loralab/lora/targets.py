"""Which modules ``model.lora.target_modules`` names: PEFT's matching rule for names and regexes,
and the presets, resolved to module names on the network at hand, so the same value serves the
TextClassifier and every transformer.

``all-linear``: every ``nn.Linear`` that ``modules_to_save`` does not train in full (the new head),
as PEFT's ``all-linear`` leaves out the output layer. ``attention``: those among them that sit in
an attention block (a dotted name part containing ``attention`` or ``attn``: DistilBERT's
``q_lin``..``out_lin``, BERT's ``query``, ``key``, ``value`` and ``attention.output.dense``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from torch import nn

from loralab.settings.checks import ConfigValueError
from loralab.settings.lora import TARGET_PRESETS, LoraSettings


def matches_target(name: str, target_modules: str | Sequence[str]) -> bool:
    """PEFT's rule: a string is a regex that must match the full name; a list matches a name
    exactly or its last dotted parts (``"fc1"`` matches ``"encoder.fc1"``)."""
    if isinstance(target_modules, str):
        return re.fullmatch(target_modules, name) is not None
    return any(name == t or name.endswith("." + t) for t in target_modules)


def unmatched_targets(targets: str | Sequence[str], names: Sequence[str]) -> list[str]:
    """The targets (a regex, or each name of a list) that match none of ``names``."""
    if isinstance(targets, str):
        return [] if any(matches_target(n, targets) for n in names) else [targets]
    return [t for t in targets if not any(matches_target(n, [t]) for n in names)]


def _in_attention(name: str) -> bool:
    return any("attention" in part or "attn" in part for part in name.lower().split("."))


def preset_targets(model: nn.Module, preset: str, modules_to_save: list[str]) -> list[str]:
    """The full names of the modules ``preset`` stands for on ``model``; refuses a preset that
    names nothing there, in one line with the fix."""
    linear = [
        name
        for name, module in model.named_modules()
        if name
        and isinstance(module, nn.Linear)
        and not matches_target(name, modules_to_save)
        and ".base" not in f".{name}"  # a layer LoRA wrapped already is its wrapper's name
    ]
    names = [name for name in linear if _in_attention(name)] if preset == "attention" else linear
    if not names:
        what = (
            "no linear layer in an attention block"
            if preset == "attention"
            else "no linear layer outside modules_to_save"
        )
        candidates = ", ".join(
            name for name, m in model.named_modules() if name and isinstance(m, (nn.Linear, nn.Embedding))
        )
        raise ConfigValueError(
            "model.lora",
            "target_modules",
            preset,
            f"{type(model).__name__} has {what}; name modules instead, e.g. [{candidates.split(', ')[0]}] (of {candidates})",
        )
    return names


def resolve_presets(model: nn.Module, settings: LoraSettings) -> LoraSettings:
    """``settings`` with a preset ``target_modules`` replaced by the names it stands for on ``model``."""
    if settings.target_modules not in TARGET_PRESETS:
        return settings
    names = preset_targets(model, settings.target_modules, list(settings.modules_to_save))
    return dataclasses.replace(settings, target_modules=names)
