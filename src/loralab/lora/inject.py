"""Put LoRA layers into a model by module name, as PEFT's ``target_modules`` does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from torch import nn

from loralab.lora.embedding import LoRAEmbedding
from loralab.lora.layers import LoRALayer, LoRALinear
from loralab.lora.targets import matches_target, resolve_presets, unmatched_targets
from loralab.settings.lora import LoraSettings

# Which LoRA class wraps which layer type; a new adapter type is one more entry.
LORA_LAYER_TYPES: dict[type[nn.Module], type[LoRALayer]] = {nn.Linear: LoRALinear, nn.Embedding: LoRAEmbedding}


def _is_lora_layer(module: nn.Module) -> bool:
    return isinstance(module, LoRALayer)


def _lora_candidates(model: nn.Module) -> list[str]:
    return [
        name
        for name, module in model.named_modules()
        if name and isinstance(module, tuple(LORA_LAYER_TYPES)) and not _is_lora_layer(module)
    ]


def inject_lora(model: nn.Module, settings: LoraSettings) -> list[str]:
    """Replace each layer of ``model`` that ``settings.target_modules`` names, in place, by its LoRA wrapper.

    ``rank_pattern`` / ``alpha_pattern`` give some targets their own rank or alpha; a preset
    (``all-linear``, ``attention``) stands for the names it resolves to. Returns the names that
    were wrapped. Raises
    ``ValueError`` listing the model's candidate modules when a target matches nothing, so a typo
    fails at once instead of training nothing.
    """
    settings = resolve_presets(model, settings)
    targets = settings.target_modules
    # Collect first: replacing while iterating named_modules() would visit the new layers.
    to_wrap = [
        (name, module)
        for name, module in model.named_modules()
        if name and matches_target(name, targets) and not _is_lora_layer(module)
    ]
    unsupported = [f"{n} ({type(m).__name__})" for n, m in to_wrap if type(m) not in LORA_LAYER_TYPES]
    if unsupported:
        kinds = ", ".join(t.__name__ for t in LORA_LAYER_TYPES)
        raise ValueError(f"LoRA target(s) {', '.join(unsupported)} are not of a supported type ({kinds})")
    missing = unmatched_targets(targets, [n for n, _ in to_wrap])
    if missing:
        raise ValueError(
            f"LoRA target_modules {missing} match no module of {type(model).__name__}; "
            f"candidates: {', '.join(_lora_candidates(model))}"
        )
    for name, module in to_wrap:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        wrapper = LORA_LAYER_TYPES[type(module)](
            module,
            rank=_pattern_value(name, settings.rank_pattern, settings.rank),
            alpha=_pattern_value(name, settings.alpha_pattern, settings.alpha),
            dropout=settings.dropout,
            scaling=settings.scaling,
            variant=settings.variant,
            init=settings.init,
        )
        setattr(parent, child_name, wrapper)
    return [name for name, _ in to_wrap]


def _pattern_value(name: str, pattern: Mapping[str, float] | None, default: float) -> float:
    return next((value for key, value in (pattern or {}).items() if matches_target(name, [key])), default)


def lora_layers(model: nn.Module) -> Iterable[tuple[str, LoRALayer]]:
    return ((n, m) for n, m in model.named_modules() if _is_lora_layer(m))


def mark_only_lora_as_trainable(model: nn.Module, modules_to_save: Sequence[str] = ()) -> None:
    """Freeze everything but the LoRA factors and the named extra modules (e.g. a new head).

    ``modules_to_save`` uses the same matching as ``target_modules``; a name that matches nothing
    raises, for the same reason.
    """
    for param in model.parameters():
        param.requires_grad = False
    for _, layer in lora_layers(model):
        for param in adapter_parameters(layer).values():
            param.requires_grad = True
    for target in modules_to_save:
        found = [m for n, m in model.named_modules() if n and matches_target(n, [target])]
        if not found:
            names = [n for n, _ in model.named_modules() if n]
            raise ValueError(f"modules_to_save entry {target!r} matches no module; candidates: {', '.join(names)}")
        for module in found:
            for param in module.parameters():
                param.requires_grad = True


def adapter_parameters(layer: LoRALayer) -> dict[str, nn.Parameter]:
    """The tensors an adapter layer adds: ``lora_A``, ``lora_B`` and, with DoRA, ``lora_magnitude``."""
    names = ("lora_A", "lora_B", "lora_magnitude")
    return {name: getattr(layer, name) for name in names if hasattr(layer, name)}


def merge_and_unload(model: nn.Module) -> nn.Module:
    """Merge every adapter and put the plain base layers back: a model without any LoRA code,
    with the same outputs (PEFT's name for it)."""
    for name, layer in list(lora_layers(model)):
        layer.merge()
        parent_name, _, child_name = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child_name, layer.base)
    return model


def base_state_dict(model: nn.Module) -> dict:
    """The state of ``model`` as it would be without LoRA: adapter tensors dropped, wrapped
    layers under their own names (``fc1.base.weight`` -> ``fc1.weight``), and a base that a pissa
    or olora init changed as it was before (``LoRALayer.original_weight``)."""
    layers = dict(lora_layers(model))
    wrapped = list(layers)
    own = model.state_dict()
    for name, layer in layers.items():
        own[f"{name}.base.weight"] = layer.original_weight()
    state = {}
    for key, value in own.items():
        if ".lora_" in f".{key}":
            continue
        for name in wrapped:
            prefix = f"{name}.base."
            if key.startswith(prefix):
                key = f"{name}.{key[len(prefix) :]}"
        state[key] = value
    return state


def merge_lora(model: nn.Module) -> None:
    """Merge every LoRA layer of ``model`` (see ``LoRALinear.merge``)."""
    for _, layer in lora_layers(model):
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    for _, layer in lora_layers(model):
        layer.unmerge()
